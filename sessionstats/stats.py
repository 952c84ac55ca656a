"""Per-session statistics, computed on demand from stories and token usage (never stored)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from sessionstats.errors import InvalidInput, SessionNotFound
from sessionstats.store import Store
from sessionstats.times import utc_now
from sessionstats.validate import COST_PLACES, MAX_BIGINT, check_id

_COST_QUANTUM = Decimal(1).scaleb(-COST_PLACES)


@dataclass(frozen=True)
class SessionStats:
    """Everything `show` reports for one session; ratios are None where they would divide by zero."""

    session_id: str
    name: str | None
    status: str
    story_count: int
    api_calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int
    total_cost: Decimal
    unpriced_records: int
    word_count: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    first_record_at: datetime | None
    last_record_at: datetime | None
    duration_seconds: float | None
    tokens_per_story: float | None
    cost_per_story: Decimal | None
    words_per_story: float | None
    cost_per_1k_words: Decimal | None
    tokens_per_word: float | None
    avg_story_duration: float | None
    active_hours: float | None
    stories_per_hour: float | None
    tokens_per_hour: float | None
    cost_per_hour: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


FIGURES = [f.name for f in fields(SessionStats)]

# Columns of the aggregate query that `list --sort` can order by directly.
_SORTABLE_SQL = {
    "session_id": "s.id", "name": "s.name", "status": "s.status", "created_at": "s.created_at",
    "started_at": "s.started_at", "ended_at": "s.ended_at", "story_count": "story_count",
    "api_calls": "api_calls", "input_tokens": "input_tokens", "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_tokens", "cache_write_tokens": "cache_write_tokens",
    "total_tokens": "total_tokens", "total_cost": "total_cost", "unpriced_records": "unpriced_records",
    "word_count": "word_count", "first_record_at": "first_record_at", "last_record_at": "last_record_at",
    "avg_story_duration": "avg_story_duration",
    "duration_seconds": "epoch(coalesce(s.ended_at, $now) - s.started_at)",
    # Ratios order by their DOUBLE value; the reported value is the exact Decimal one.
    "tokens_per_story": "total_tokens / nullif(story_count, 0)",
    "cost_per_story": "total_cost / nullif(story_count, 0)",
    "words_per_story": "word_count / nullif(story_count, 0)",
    "cost_per_1k_words": "total_cost * 1000 / nullif(word_count, 0)",
    "tokens_per_word": "total_tokens / nullif(word_count, 0)",
}
SORTABLE = sorted(_SORTABLE_SQL)

_AGGREGATE_SQL = """
WITH s AS (
    SELECT id, name, status, created_at, started_at, ended_at FROM sessions
    WHERE user_id = $user {session_filter}
),
st AS (
    SELECT session_id, count(*) AS story_count, sum(word_count) AS word_count,
           avg(duration) AS avg_story_duration, min(created_at) AS first_at, max(created_at) AS last_at
    FROM story_history WHERE user_id = $user {child_filter}
    GROUP BY session_id
),
tu AS (
    SELECT session_id, count(*) AS api_calls,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(total_tokens) AS total_tokens, sum(estimated_cost) AS total_cost,
           count(*) FILTER (WHERE estimated_cost IS NULL) AS unpriced_records,
           min(created_at) AS first_at, max(created_at) AS last_at
    FROM token_usage WHERE user_id = $user {child_filter}
    GROUP BY session_id
),
joined AS (
    SELECT s.id, s.name, s.status,
           coalesce(st.story_count, 0) AS story_count, coalesce(tu.api_calls, 0) AS api_calls,
           coalesce(tu.input_tokens, 0) AS input_tokens, coalesce(tu.output_tokens, 0) AS output_tokens,
           coalesce(tu.cache_read_tokens, 0) AS cache_read_tokens,
           coalesce(tu.cache_write_tokens, 0) AS cache_write_tokens,
           coalesce(tu.total_tokens, 0) AS total_tokens,
           coalesce(tu.total_cost, 0)::DECIMAL(38, 18) AS total_cost,
           coalesce(tu.unpriced_records, 0) AS unpriced_records,
           coalesce(st.word_count, 0) AS word_count,
           s.created_at, s.started_at, s.ended_at,
           least(st.first_at, tu.first_at) AS first_record_at,
           greatest(st.last_at, tu.last_at) AS last_record_at,
           st.avg_story_duration
    FROM s LEFT JOIN st ON st.session_id = s.id LEFT JOIN tu ON tu.session_id = s.id
)
SELECT id, name, status, story_count, api_calls, input_tokens, output_tokens, cache_read_tokens,
       cache_write_tokens, total_tokens, total_cost, unpriced_records, word_count, created_at,
       started_at, ended_at, first_record_at, last_record_at, avg_story_duration
FROM joined s
{order}
"""


@dataclass(frozen=True)
class Window:
    """Only records created in [since, until) count; None leaves that side open."""

    since: datetime | None = None
    until: datetime | None = None


def session_stats(store: Store, session_id: str, *, user: str, window: Window = Window()) -> SessionStats:
    """Aggregate one session's stories and token usage; raise if it is not the user's."""
    session_id = check_id(session_id, "SESSION_ID")
    rows = _aggregate(store, user=user, session_id=session_id, window=window)
    if not rows:
        raise SessionNotFound(session_id)
    return rows[0]


def list_stats(
    store: Store,
    *,
    user: str,
    sort: str = "created_at",
    descending: bool = True,
    limit: int | None = None,
    window: Window = Window(),
) -> list[SessionStats]:
    """Every session of the user with its figures, ordered by `sort`."""
    if sort not in _SORTABLE_SQL:
        raise InvalidInput(f"--sort: cannot sort by {sort!r}; choose one of {', '.join(SORTABLE)}")
    if limit is not None and not 1 <= limit <= MAX_BIGINT:
        raise InvalidInput(f"--limit: must be from 1 to {MAX_BIGINT}, got {limit}")
    return _aggregate(store, user=user, window=window, sort=sort, descending=descending, limit=limit)


def _aggregate(
    store: Store,
    *,
    user: str,
    window: Window,
    session_id: str | None = None,
    sort: str = "created_at",
    descending: bool = True,
    limit: int | None = None,
) -> list[SessionStats]:
    now = utc_now()
    params: dict[str, Any] = {"user": user}
    session_filter = child_filter = ""
    if session_id is not None:
        params["session"] = session_id
        session_filter = "AND id = $session"
        child_filter = "AND session_id = $session"
    if window.since is not None:
        params["since"] = window.since
        child_filter += " AND created_at >= $since"
    if window.until is not None:
        params["until"] = window.until
        child_filter += " AND created_at < $until"
    direction = "DESC" if descending else "ASC"
    order = f"ORDER BY {_SORTABLE_SQL[sort]} {direction} NULLS LAST, s.created_at DESC, s.id"
    if "$now" in order:
        params["now"] = now
    if limit is not None:
        params["limit"] = limit
        order += " LIMIT $limit"
    sql = _AGGREGATE_SQL.format(session_filter=session_filter, child_filter=child_filter, order=order)
    return [_with_ratios(row, now) for row in store.fetchall(sql, params)]


def _with_ratios(row: tuple, now: datetime) -> SessionStats:
    (session_id, name, status, stories, calls, input_tokens, output_tokens, cache_read, cache_write,
     tokens, cost, unpriced, words, created_at, started_at, ended_at, first_at, last_at, avg_duration) = row
    duration = _seconds_between(started_at, ended_at or now) if started_at else None
    span_start = started_at or first_at
    span_end = ended_at or (now if status == "live" else last_at)
    span = _seconds_between(span_start, span_end) if span_start and span_end else None
    hours = span / 3600 if span else None
    return SessionStats(
        session_id=session_id, name=name, status=status, story_count=stories, api_calls=calls,
        input_tokens=int(input_tokens), output_tokens=int(output_tokens), cache_read_tokens=int(cache_read),
        cache_write_tokens=int(cache_write), total_tokens=int(tokens), total_cost=_exact(cost),
        unpriced_records=unpriced, word_count=int(words), created_at=created_at, started_at=started_at,
        ended_at=ended_at, first_record_at=first_at, last_record_at=last_at, duration_seconds=duration,
        tokens_per_story=_ratio(tokens, stories), cost_per_story=_cost_ratio(cost, stories),
        words_per_story=_ratio(words, stories), cost_per_1k_words=_cost_ratio(cost * 1000, words),
        tokens_per_word=_ratio(tokens, words), avg_story_duration=avg_duration,
        active_hours=hours, stories_per_hour=_ratio(stories, hours), tokens_per_hour=_ratio(tokens, hours),
        cost_per_hour=_cost_ratio(cost, Decimal(str(hours)) if hours else None),
    )


def _seconds_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def _ratio(numerator: float, denominator: float | None) -> float | None:
    return numerator / denominator if denominator else None


def _cost_ratio(cost: Decimal, denominator: int | Decimal | None) -> Decimal | None:
    """Exact quotient, rounded half-up at the 18th decimal place."""
    if not denominator:
        return None
    with localcontext() as exact:
        exact.prec = 60
        return _exact(cost / denominator)


def _exact(cost: Decimal) -> Decimal:
    with localcontext() as exact:
        exact.prec = 60
        return Decimal(cost).quantize(_COST_QUANTUM, rounding=ROUND_HALF_UP).normalize() + 0
