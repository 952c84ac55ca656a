"""A session's stories, API calls, tokens and cost per time bucket (15 minutes, an hour, a day...).

Buckets are cut on the wall clock of a named zone (a day runs from local midnight to midnight) and the
series has no holes: a bucket without records is there with zeros. When clocks go back, the repeated local
hour falls in one bucket; when they go forward, the skipped local times have no bucket.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.reports.scope import EVERYTHING, Scope, scoped_records
from sessionstats.reports.token_figures import ITEMS_SQL, SUMS_SQL, TokenFigures, token_figures
from sessionstats.sessions import require_session
from sessionstats.store import Store
from sessionstats.times import exists_locally, local_to_utc

MAX_BUCKETS = 10_000
LONGEST_BUCKET = timedelta(weeks=52)
_EVERY = re.compile(r"^([0-9]+)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)$")  # not \d: ٣h is no length
_WORDS = {"minute": "1m", "hour": "1h", "day": "1d", "week": "1w"}
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

_ITEMS = "\nWITH {records},\n" + ITEMS_SQL.format(story_key="created_at", token_key="created_at",
                                                   story_rows="stories")

# Each record's local time: exact, and ~0.3 s per million records for the time zone lookups.
_BY_RECORD_SQL = _ITEMS + f"""
SELECT time_bucket(to_seconds($every), timezone($zone, created_at AT TIME ZONE 'UTC')) AS local_start, {SUMS_SQL}
FROM items
GROUP BY local_start
ORDER BY local_start
"""

# Sums per UTC slot first (a slot divides both the bucket length and 15 minutes, the step of every zone's
# offset nowadays), then one time zone lookup per slot. `exact` says whether each slot ran at one offset and
# fell in one bucket; where one did not (an odd offset of long ago), the caller asks _BY_RECORD_SQL instead.
_BY_SLOT_SQL = _ITEMS + """,
slots AS (
    SELECT time_bucket(to_seconds($slot), created_at) AS slot, sum(stories) AS stories, sum(calls) AS calls,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(total_tokens) AS total_tokens, sum(cost) AS cost, sum(unpriced) AS unpriced
    FROM items
    GROUP BY slot
),
placed AS (
    SELECT *, timezone($zone, slot AT TIME ZONE 'UTC') AS local_from,
           timezone($zone, (slot + to_seconds($slot) - INTERVAL 1 MICROSECOND) AT TIME ZONE 'UTC') AS local_to
    FROM slots
)
SELECT time_bucket(to_seconds($every), local_from) AS local_start, """ + SUMS_SQL + """,
       bool_and(local_to - local_from = to_seconds($slot) - INTERVAL 1 MICROSECOND
                AND time_bucket(to_seconds($every), local_to) = time_bucket(to_seconds($every), local_from)) AS exact
FROM placed
GROUP BY local_start
ORDER BY local_start
"""


@dataclass(frozen=True, kw_only=True)
class Bucket(TokenFigures):
    """One bucket; `start` is when it begins, as naive UTC like every stored time."""

    LEADING = ("start",)

    start: datetime


BUCKET_FIGURES = Bucket.figure_names()


def parse_every(text: str | timedelta) -> timedelta:
    """`15m`, `2h`, `1d`, `1w` or the words minute, hour, day, week (or a timedelta): the length of a bucket,
    whole minutes up to 52 weeks."""
    if isinstance(text, timedelta):
        if text % _UNIT["m"] or not _UNIT["m"] <= text <= LONGEST_BUCKET:
            raise InvalidInput(f"every: {text} is no bucket length (whole minutes, 1 minute to 52 weeks)",
                               field="every")
        return text
    if not isinstance(text, str):
        raise InvalidInput(f"every: must be a timedelta or text such as 15m or hour, got {text!r}", field="every")
    value = text.strip().lower()
    match = _EVERY.match(_WORDS.get(value, value))
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"every: cannot read {text!r} as a bucket length (use 15m, hour, 6h, day or week)",
                           field="every")
    unit = _UNIT[match.group(2)[0]]
    if int(match.group(1)) > LONGEST_BUCKET // unit:  # compared before multiplying: timedelta overflows
        raise InvalidInput(f"every: {text!r} is longer than a bucket can be (at most 52w)", field="every")
    return int(match.group(1)) * unit


# Bucket lengths a default is picked from: the shortest that fits the span in READABLE_BUCKETS or fewer.
_LADDER = [timedelta(minutes=m) for m in (1, 5, 15, 30)] + [timedelta(hours=h) for h in (1, 3, 6, 12)] + [
    timedelta(days=1), timedelta(weeks=1), timedelta(weeks=4), LONGEST_BUCKET]
READABLE_BUCKETS = 48


def default_every(store: Store, session_id: str, *, user: str, scope: Scope = EVERYTHING) -> timedelta:
    """A bucket length that shows the session's records in scope in at most 48 buckets (an hour when it has none)."""
    session = require_session(store, session_id, user=user)
    params: dict[str, Any] = {"user": user, "session": session.id}
    records = scoped_records(store, scope, params, sessions="AND {column} = $session")
    first, last = store.fetchone(f"WITH {records} SELECT min(created_at), max(created_at) FROM ("
                                 "SELECT created_at FROM stories UNION ALL SELECT created_at FROM tokens)",
                                 params)  # type: ignore[misc]
    if first is None:
        return timedelta(hours=1)
    span = last - first
    return next((every for every in _LADDER if span // every < READABLE_BUCKETS), _LADDER[-1])


def timeline(store: Store, session_id: str, every: timedelta, *, user: str, zone: str = "UTC",
             scope: Scope = EVERYTHING) -> list[Bucket]:
    """The session's figures per bucket of `every`, from its first record's bucket to its last's."""
    session = require_session(store, session_id, user=user)
    params: dict[str, Any] = {"user": user, "session": session.id, "zone": zone,
                              "every": every.total_seconds()}
    records = scoped_records(store, scope, params, sessions="AND {column} = $session")
    rows = store.fetchall(_BY_SLOT_SQL.format(records=records), {**params, "slot": _slot_seconds(every)})
    if all(row[-1] for row in rows):
        found = {row[0]: row[1:-1] for row in rows}
    else:
        found = {row[0]: row[1:] for row in store.fetchall(_BY_RECORD_SQL.format(records=records), params)}
    if not found:
        return []
    if not all(isinstance(start, datetime) for start in found):  # DuckDB gives a date before year 1 as text
        raise InvalidInput(f"every: a bucket of {_spoken(every)} would start before the year 1; choose a shorter "
                           "one or narrow the records with `since`", field="every")
    first, last = min(found), max(found)
    count = (last - first) // every + 1
    if count > MAX_BUCKETS:
        raise InvalidInput(f"every: {count:,} buckets of {_spoken(every)} would cover this session (at most "
                           f"{MAX_BUCKETS:,}); choose a longer bucket or narrow it with `since`/`until`", field="every")
    return [_bucket(start, found.get(start), zone) for start in _wall_clock(first, last, every, zone, found)]


def _slot_seconds(every: timedelta) -> int:
    """The longest slot that divides both the bucket length and 15 minutes."""
    return math.gcd(int(every.total_seconds()), 900)


def _spoken(every: timedelta) -> str:
    """timedelta(minutes=15) -> '15 minutes'."""
    for unit in ("w", "d", "h", "m"):
        count, rest = divmod(every, _UNIT[unit])
        if not rest:
            name = {"w": "week", "d": "day", "h": "hour", "m": "minute"}[unit]
            return f"{count} {name}{'s' if count != 1 else ''}"
    return str(every)


def _wall_clock(first: datetime, last: datetime, every: timedelta, zone: str, found: dict) -> list[datetime]:
    """Local bucket starts from first to last, without the empty ones at local times the zone skips."""
    starts = []
    start = first
    while start <= last:
        if start in found or exists_locally(start, zone):
            starts.append(start)
        if start > datetime.max - every:  # no bucket starts after the year 9999
            break
        start += every
    return starts


def _bucket(local_start: datetime, sums: tuple | None, zone: str) -> Bucket:
    figures = token_figures(sums or (0, 0, 0, 0, 0, 0, 0, Decimal(0), 0))
    return Bucket(start=local_to_utc(local_start, zone), **figures)
