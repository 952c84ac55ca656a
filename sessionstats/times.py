"""Timestamps: parse what users type, store naive UTC, show in a chosen zone."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta, tzinfo

from sessionstats.errors import InvalidInput
from sessionstats.validate import SPACE_SEPARATORS

# zoneinfo is imported where a zone is named: ~2 ms that recording without --tz never needs.

_ZONEINFO_DIR = "zoneinfo/"

# The time forms every path accepts, in syntax Python's re and DuckDB's RE2 read alike: a date, then a
# time to the minute or finer, then an offset Z / +01 / +0100 / +01:00 (none: local, or the zone asked for).
# An offset is under a day (+23:59), as Python reads one; DuckDB alone took +99:00 as 99 hours, and 24:00:00
# as the next midnight (an import stored it, `--at` refused it): hours run 00-23, minutes and seconds 00-59.
# An offset follows a time only: Python read '2026-01-01+01' as 01:00 local time, its '+' a separator.
# A fraction may have any number of digits (Go and .NET write 9 and 7): both cut it to the microsecond.
ISO_TIME = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
            r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?")
ISO_TIME_PATTERN = re.compile(ISO_TIME)  # compiled once, for every Python reader of a time
# Zone files that are not zones: the leap-second "right/" tree, its "posix/" twin, and the system's aliases.
_NOT_ZONES = ("posix/", "right/", "posixrules", "localtime", "Factory")
_RELATIVE = re.compile(r"^([0-9]+)\s*(s|m|min|h|d|w)$")  # ASCII digits: \d also takes ٣ and １
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
# A day inside datetime's range on each side, so a stored time can be shown in any zone.
EARLIEST = datetime(1, 1, 2)
LATEST = datetime(9999, 12, 30)


def storable(at: datetime | None) -> datetime | None:
    """A time a log gave when the store can keep it (EARLIEST to LATEST), else None: no time was given."""
    return at if at is not None and EARLIEST <= at <= LATEST else None


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def resolve_zone(name: str | None) -> tzinfo | None:
    """`--tz ZONE` (an IANA name or UTC); None stands for the machine's local zone."""
    if not name:
        return None
    if not isinstance(name, str):  # the API hands a zone in as given
        raise _unknown_zone(name)
    if name.upper() in {"UTC", "Z"}:
        return UTC
    if name.startswith(_NOT_ZONES):
        raise _unknown_zone(name)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _unknown_zone(name) from None


def _unknown_zone(name: object) -> InvalidInput:
    return InvalidInput(f"tz: unknown time zone {name!r} (use an IANA name such as Europe/Paris)", field="tz")


def parse_timestamp(text: str, *, option: str, zone: tzinfo | None = None, now: datetime | None = None) -> datetime:
    """An ISO date or timestamp (local zone unless it says otherwise), or `2h`/`7d` ago; naive UTC.

    `option` is the field the time is for (created_at, since, ...), named in the error.
    """
    value = text.strip(SPACE_SEPARATORS)  # as SQL's trim(): a tab or a newline around a time is refused everywhere
    relative = _RELATIVE.match(value.lower())
    try:
        if relative:
            seconds = int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
            parsed = (now or utc_now()).replace(tzinfo=UTC) - timedelta(seconds=seconds)
        elif ISO_TIME_PATTERN.fullmatch(value):
            parsed = datetime.fromisoformat(value)
        else:
            raise ValueError(value)
    except ValueError:
        raise InvalidInput(
            f"{option}: cannot read {text!r} as a time (use 2026-11-24, 2026-11-24T14:05:00, "
            "an offset such as +01:00 or Z, or 2h / 7d for a time ago)", field=option,
        ) from None
    except OverflowError:
        raise _out_of_range(option, text) from None
    try:
        stored = wall_time_to_utc(parsed, zone) if parsed.tzinfo is None else \
            parsed.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):  # e.g. 0001-01-01 east of UTC falls before year 1
        raise _out_of_range(option, text) from None
    if not EARLIEST <= stored <= LATEST:
        raise _out_of_range(option, text)
    return stored


def wall_time_to_utc(naive: datetime, zone: tzinfo | None) -> datetime:
    """A wall-clock time in `zone` (None: the machine's) as naive UTC, read as an import reads it (DuckDB's
    ICU, compared in every zone's 2026 changes): a time that occurs twice, as clocks go back, is the later
    one; a time skipped, as they go forward, is read at the offset before the change. The C library took
    the earlier of two, and `--at 02:30` and the same time in an import were stored an hour apart."""
    if zone is None:
        name = local_zone_name()
        if name is None:  # a $TZ rule no zone has: the C library's reading is all there is
            return naive.astimezone().astimezone(UTC).replace(tzinfo=None)
        from zoneinfo import ZoneInfo

        zone = UTC if name == "UTC" else ZoneInfo(name)
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    twice = later.utcoffset() != earlier.utcoffset() and \
        later.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    return (later if twice else earlier).astimezone(UTC).replace(tzinfo=None)


def check_time(value: datetime | str | None, field: str) -> datetime | None:
    """A time inside the range every path allows, as the naive UTC the database stores, or None.

    Text is read as `--at` reads it (ISO 8601; local time unless it has an offset).
    """
    if isinstance(value, str):
        return parse_timestamp(value, option=field)
    if value is not None and not isinstance(value, datetime):
        raise InvalidInput(f"{field}: must be a time, got {value!r}", field=field)
    if value is not None and value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):  # 0001-01-01 east of UTC falls before year 1
            raise _out_of_range(field, str(value)) from None
    if value is not None and not EARLIEST <= value <= LATEST:
        raise _out_of_range(field, str(value))
    return value


def _out_of_range(option: str, text: str) -> InvalidInput:
    return InvalidInput(f"{option}: {text!r} is too far in the past or future to store", field=option)


def to_zone(stored: datetime | None, zone: tzinfo | None) -> datetime | None:
    """A stored naive-UTC timestamp, as an aware time in `zone` (None: local)."""
    if stored is None:
        return None
    return stored.replace(tzinfo=UTC).astimezone(zone)


def zone_name(zone: tzinfo | None) -> str | None:
    """The IANA name of `zone` (None: the machine's zone) for DuckDB; None when it cannot be told."""
    if zone is None:
        return local_zone_name()
    if zone is UTC:
        return "UTC"
    return getattr(zone, "key", None)


def local_zone_name() -> str | None:
    """The machine's zone as an IANA name: from $TZ when set, else /etc/localtime or /etc/timezone."""
    configured = os.environ.get("TZ")
    if configured == "" or (configured is None and not os.path.exists("/etc/localtime")):
        return "UTC"  # what the C library, and so `--at`, falls back to
    if configured is not None:
        candidates = [configured.removeprefix(":")]  # the C library reads $TZ alone when it is set
    else:
        candidates = [os.path.realpath("/etc/localtime"), _first_line("/etc/timezone")]
    for candidate in candidates:
        name = candidate.rpartition(_ZONEINFO_DIR)[2] if _ZONEINFO_DIR in candidate else candidate
        if name and _is_zone(name):
            return name
    rule = configured if configured is not None else _footer("/etc/localtime")  # a copied, not linked, file
    return _zone_with_rule(rule) if rule else None


def _zone_with_rule(rule: str) -> str | None:
    """A zone whose current rule is the POSIX $TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3` is CET's).

    The C library reads `--at` by the rule itself; naming a zone with the same rule lets DuckDB read an
    import's times the same way. A zone file ends with its rule (the TZif footer); the zone named like the
    rule's standard time comes first, then the rest in order.
    """
    from zoneinfo import TZPATH, available_timezones

    standard = re.match(r"[A-Za-z]+", rule)
    names = sorted(available_timezones() - {"localtime", "Factory"})
    if standard and standard.group() in names:
        names.insert(0, standard.group())
    for name in names:
        for folder in TZPATH:
            if _footer(os.path.join(folder, name)) == rule:
                return name
    return None


def _footer(path: str) -> str | None:
    try:
        with open(path, "rb") as file:
            file.seek(max(os.path.getsize(path) - 128, 0))
            return file.read().rstrip(b"\n").rpartition(b"\n")[2].decode("ascii", "replace")
    except OSError:
        return None


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.readline().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _is_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_to_utc(local: datetime, zone: str) -> datetime:
    """A wall-clock time in the named zone (the earlier one when it occurs twice), as naive UTC."""
    from zoneinfo import ZoneInfo

    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


def exists_locally(local: datetime, zone: str) -> bool:
    """False for a wall-clock time the zone skips (the hour lost when clocks go forward)."""
    from zoneinfo import ZoneInfo

    named = ZoneInfo(zone)
    return local.replace(tzinfo=named).astimezone(UTC).astimezone(named).replace(tzinfo=None) == local
