"""Options shared by many commands, declared once, and how their values are resolved."""

from __future__ import annotations

import getpass
import re
import sys
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

import typer

from sessionstats.errors import InvalidInput, SessionStatsError
from sessionstats.render import Format
from sessionstats.scope import Scope
from sessionstats.store.target import POSTGRES_SCHEMES, postgres_target
from sessionstats.times import parse_timestamp, resolve_zone, zone_name
from sessionstats.validate import check_count, check_id

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="SESSIONSTATS_DB", show_envvar=True, metavar="PATH|URL",
                 help="Database file, or a postgresql://USER@HOST:PORT/DBNAME URL for a team's server "
                      "[default: sessionstats.duckdb in your data directory]."),
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", envvar="SESSIONSTATS_USER", show_envvar=True,
                 help="Whose sessions to use [default: your login name]."),
]
SessionOption = Annotated[
    str | None,
    typer.Option("--session", "-s", envvar="SESSIONSTATS_SESSION", show_envvar=True, metavar="ID",
                 help="Session to record into."),
]
CreateOption = Annotated[
    bool, typer.Option("--create", help="Create the session for you first if it does not exist.")
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", metavar="TIMESTAMP",
                 help="When it happened: ISO 8601 (local time unless it has an offset) or 2h/7d ago [default: now]."),
]
TzOption = Annotated[
    str | None,
    typer.Option("--tz", envvar="SESSIONSTATS_TZ", metavar="ZONE",
                 help="Time zone to read and show times in, e.g. Europe/Paris or UTC [default: local]."),
]
FormatOption = Annotated[
    Format | None,
    typer.Option("--format", "-f", envvar="SESSIONSTATS_FORMAT", case_sensitive=False,
                 help="Output format [default: table on a terminal, tsv when piped]."),
]
TableStyleOption = Annotated[
    str,
    typer.Option("--fmt", metavar="STYLE", help="tabulate style for table output: simple, github, grid, plain..."),
]

SinceOption = Annotated[
    str | None,
    typer.Option("--since", metavar="TIME",
                 help="Count only records made at or after TIME: a date, an ISO timestamp or a time ago (2h, 7d)."),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", metavar="TIME",
                 help="Count only records made before TIME (same forms as --since)."),
]
ModelFilterOption = Annotated[
    str | None,
    typer.Option("--model",
                 help="Count only token records of this model, and the stories they were for."),
]
ToneFilterOption = Annotated[
    str | None,
    typer.Option("--tone",
                 help="Count only stories of this tone, and the token records made for them."),
]
PriorityFilterOption = Annotated[
    str | None,
    typer.Option("--priority",
                 help="Count only stories of this priority, and the token records made for them."),
]


# The core names a bad value by its field; the CLI names the option it came in by. Where a field comes in
# through different options in different commands, the first one the running command has is named.
FIELD_OPTIONS: dict[str, tuple[str, ...]] = {
    "session_id": ("--session", "--id", "SESSION_ID", "ID"), "id": ("--id",), "story_id": ("--story",),
    "request_id": ("--request-id",), "input_tokens": ("--input",), "output_tokens": ("--output",),
    "cache_read_tokens": ("--cache-read",), "cache_write_tokens": ("--cache-write",),
    "cache_write_1h_tokens": ("--cache-write-1h",), "model": ("--model",), "provider": ("--provider",),
    "cost": ("--cost",), "created_at": ("--at",), "since": ("--since",), "until": ("--until",),
    "title": ("--title",), "narrative": ("--narrative", "--narrative-file"), "tone": ("--tone",),
    "priority": ("--priority",), "word_count": ("--word-count",), "duration": ("--duration",), "name": ("NAME",),
    "settings": ("--setting",), "tz": ("--tz",), "sort": ("--sort",), "limit": ("--limit",), "every": ("--every",),
    "warn_at": ("--warn-at",), "max_cost": ("--max-cost",), "max_tokens": ("--max-tokens",),
    "max_stories": ("--max-stories",), "destination": ("--to",), "db": ("--db",), "format": ("--format",),
    "response": ("--from-response",), "create_sessions": ("--create-sessions",), "all": ("--all",),
}


_QUOTED_FIELD = re.compile(r"`([a-z_0-9]+)`")


def option_message(error: SessionStatsError, options: set[str]) -> str:
    """The error as the CLI says it: `input_tokens: ...` becomes `--input: ...` when the command has --input.

    A field the message refers to in backquotes (`since`) is named as the command's option too.
    """
    message = str(error)
    field = getattr(error, "field", None) or message.partition(": ")[0]  # or named in the text alone
    if message.startswith(f"{field}: "):
        message = _option_for(field, options) + message[len(field):]
    return fields_as_options(message, options)


def fields_as_options(text: str, options: set[str] | None = None) -> str:
    """Each `field` in backquotes as its option (the first the command has; None: the usual one)."""
    return _QUOTED_FIELD.sub(lambda quoted: _option_for(quoted.group(1), options)
                             if quoted.group(1) in FIELD_OPTIONS else quoted.group(0), text)


def _option_for(field: str, options: set[str] | None) -> str:
    candidates = FIELD_OPTIONS.get(field, ())
    if options is None:
        return candidates[0] if candidates else field
    return next((option for option in candidates if option in options), field)


def resolve_user(user: str | None, db: str | None) -> str:
    """`--user`, else `$SESSIONSTATS_USER` (via the option), else the login name; on PostgreSQL, the role."""
    if db and db.startswith(POSTGRES_SCHEMES):  # `db` has $SESSIONSTATS_DB through the option
        role = postgres_target(db).user
        if user is not None and user != role:
            raise InvalidInput(f"--user: on PostgreSQL you are the database role {role!r}; "
                               f"to record as {user!r}, connect as that role (postgresql://{user}@...)")
        return check_id(role, "--db user")
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            raise InvalidInput("cannot tell who you are: pass --user or set SESSIONSTATS_USER") from None
    return check_id(user, "--user")


def resolve_format(fmt: Format | None) -> Format:
    """Table for a person at a terminal, TSV for a pipe, unless asked."""
    if fmt is not None:
        return fmt
    return Format.table if sys.stdout.isatty() else Format.tsv


def resolve_at(at: str | None, zone: tzinfo | None) -> datetime | None:
    return parse_timestamp(at, option="created_at", zone=zone) if at is not None else None


def resolve_scope(since: str | None, until: str | None, zone: tzinfo | None, *, model: str | None = None,
                  tone: str | None = None, priority: str | None = None) -> Scope:
    """The filters as the core takes them: times read in `zone` (None: local), labels as given."""
    return Scope(
        since=parse_timestamp(since, option="since", zone=zone) if since is not None else None,
        until=parse_timestamp(until, option="until", zone=zone) if until is not None else None,
        model=model, tone=tone, priority=priority,
    )


def resolve_bucket_zone(tz: str | None) -> tuple[tzinfo, str]:
    """The zone days and hours are cut in, and its IANA name for the database; UTC, with a note, if unknown."""
    zone = resolve_zone(tz)
    name = zone_name(zone)
    if name is None:
        print("sessionstats: note: cannot tell the name of the local time zone; days and hours are in UTC "
              "(pass --tz or set SESSIONSTATS_TZ)", file=sys.stderr)
        return UTC, "UTC"
    return (zone if zone is not None else resolve_zone(name)), name  # type: ignore[return-value]


def parse_count(text: str) -> int:
    """Typer parser for token and word counts: the core's check, reported against the option."""
    try:
        return check_count(text, "value")
    except InvalidInput as error:
        raise typer.BadParameter(str(error).removeprefix("value: ")) from None


def count_option(*names: str, help: str) -> Any:
    """An option that takes a whole number from 0 to 2^63-1 (tokens, words, limits)."""
    return typer.Option(*names, parser=parse_count, metavar="N", help=help)
