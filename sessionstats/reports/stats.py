"""Per-session statistics, computed on demand from stories and token usage (never stored)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from sessionstats.errors import InvalidInput, SessionNotFound
from sessionstats.reports.scope import EVERYTHING, Scope, scoped_records
from sessionstats.reports.token_figures import TokenFigures, token_figures
from sessionstats.sessions import resolve_session_id
from sessionstats.store import Store
from sessionstats.times import utc_now
from sessionstats.validate import COST_PLACES, check_limit

_COST_QUANTUM = Decimal(1).scaleb(-COST_PLACES)
# Rates per hour over a shorter active span are noise (1.2 s of quick start read as $190/hour): None instead.
MIN_RATE_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class SessionStats(TokenFigures):
    """Everything `show` reports for one session; ratios are None where they would divide by zero."""

    LEADING = ("session_id", "name", "status")  # then the token figures, then the rest

    session_id: str
    name: str | None
    status: str
    tool_calls: int  # server tool requests (web searches), billed per call
    tool_cost: Decimal  # their fees, part of total_cost
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
    active_from: datetime | None
    active_until: datetime | None
    active_seconds: float | None
    stories_per_hour: float | None
    tokens_per_hour: float | None
    cost_per_hour: Decimal | None


FIGURES = SessionStats.figure_names()

_ACTIVE_SECONDS = "epoch(active_until - active_from)"
_RATE_SECONDS = f"CASE WHEN {_ACTIVE_SECONDS} >= {MIN_RATE_SECONDS} THEN {_ACTIVE_SECONDS} END"
# How `list --sort` orders by each figure; ratios order by their DOUBLE value, the reported one is exact.
_SORTABLE_SQL = {
    "session_id": "s.id", "name": "s.name", "status": "s.status", "created_at": "s.created_at",
    "started_at": "s.started_at", "ended_at": "s.ended_at", "story_count": "story_count",
    "api_calls": "api_calls", "input_tokens": "input_tokens", "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_tokens", "cache_write_tokens": "cache_write_tokens",
    "total_tokens": "total_tokens", "total_cost": "total_cost", "unpriced_records": "unpriced_records",
    "tool_calls": "tool_calls", "tool_cost": "tool_cost",
    "word_count": "word_count", "first_record_at": "first_record_at", "last_record_at": "last_record_at",
    "avg_story_duration": "avg_story_duration",
    "duration_seconds": "epoch(coalesce(s.ended_at, $now) - s.started_at)",
    "tokens_per_story": "total_tokens / nullif(story_count, 0)",
    "cost_per_story": "total_cost / nullif(story_count, 0)",
    "words_per_story": "word_count / nullif(story_count, 0)",
    "cost_per_1k_words": "total_cost * 1000 / nullif(word_count, 0)",
    "tokens_per_word": "total_tokens / nullif(word_count, 0)",
    "active_from": "active_from", "active_until": "active_until", "active_seconds": _ACTIVE_SECONDS,
    "stories_per_hour": f"story_count * 3600 / {_RATE_SECONDS}",
    "tokens_per_hour": f"total_tokens * 3600 / {_RATE_SECONDS}",
    "cost_per_hour": f"total_cost::DOUBLE * 3600 / {_RATE_SECONDS}",
}
SORTABLE = sorted(_SORTABLE_SQL)

# The active span: started_at to ended_at when the session has both, else its first to last record in
# scope; then cut to the window. No span (None) when it is empty, so rates are None rather than infinite.
_AGGREGATE_SQL = """
WITH s AS (
    SELECT id, name, status, created_at, started_at, ended_at FROM sessions
    WHERE user_id = $user {session_filter}
),
{records},
st AS (
    SELECT session_id, count(*) AS story_count, sum(word_count) AS word_count,
           avg(duration) AS avg_story_duration, min(created_at) AS first_at, max(created_at) AS last_at
    FROM stories GROUP BY session_id
),
tu AS (
    SELECT session_id, count(*) FILTER (WHERE call_part = 0) AS api_calls,  -- an iteration (part > 0) is no new call
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(total_tokens) AS total_tokens, sum(estimated_cost) AS total_cost,
           count(*) FILTER (WHERE estimated_cost IS NULL) AS unpriced_records,
           sum(tool_calls) AS tool_calls, sum(tool_cost) AS tool_cost,
           min(created_at) AS first_at, max(created_at) AS last_at
    FROM tokens GROUP BY session_id
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
           coalesce(tu.tool_calls, 0) AS tool_calls, coalesce(tu.tool_cost, 0)::DECIMAL(38, 18) AS tool_cost,
           coalesce(st.word_count, 0) AS word_count,
           s.created_at, s.started_at, s.ended_at,
           least(st.first_at, tu.first_at) AS first_record_at,
           greatest(st.last_at, tu.last_at) AS last_record_at,
           st.avg_story_duration
    FROM s LEFT JOIN st ON st.session_id = s.id LEFT JOIN tu ON tu.session_id = s.id
),
spans AS (
    SELECT *,
           {clip_from}(CASE WHEN started_at IS NOT NULL AND ended_at IS NOT NULL
                            THEN started_at ELSE first_record_at END{since}) AS span_from,
           {clip_until}(CASE WHEN started_at IS NOT NULL AND ended_at IS NOT NULL
                             THEN ended_at ELSE last_record_at END{until}) AS span_until
    FROM joined
),
figures AS (
    SELECT * EXCLUDE (span_from, span_until),
           CASE WHEN span_until > span_from THEN span_from END AS active_from,
           CASE WHEN span_until > span_from THEN span_until END AS active_until
    FROM spans
)
SELECT id, name, status, story_count, api_calls, input_tokens, output_tokens, cache_read_tokens,
       cache_write_tokens, total_tokens, total_cost, unpriced_records, tool_calls, tool_cost, word_count, created_at,
       started_at, ended_at, first_record_at, last_record_at, avg_story_duration, active_from, active_until
FROM figures s
{order}
"""


def session_stats(store: Store, session_id: str, *, user: str, scope: Scope = EVERYTHING) -> SessionStats:
    """Aggregate one session's stories and token usage in scope; raise if it is not the user's."""
    session_id = resolve_session_id(store, session_id, user=user)
    rows = _aggregate(store, user=user, scope=scope, session_ids=[session_id])
    if not rows:
        raise SessionNotFound(session_id)
    return rows[0]


def compare_stats(
    store: Store, session_ids: Sequence[str], *, user: str, scope: Scope = EVERYTHING
) -> list[SessionStats]:
    """Several sessions' figures in the order given; raise for the first that is not the user's."""
    wanted = [resolve_session_id(store, session_id, user=user) for session_id in session_ids]
    if len(wanted) < 2:
        raise InvalidInput("compare: give at least two sessions")
    repeated = next((session_id for session_id in wanted if wanted.count(session_id) > 1), None)
    if repeated is not None:
        raise InvalidInput(f"compare: session {repeated!r} is given twice")
    found = {stats.session_id: stats for stats in _aggregate(store, user=user, scope=scope, session_ids=wanted)}
    missing = next((session_id for session_id in wanted if session_id not in found), None)
    if missing is not None:
        raise SessionNotFound(missing)
    return [found[session_id] for session_id in wanted]


def list_stats(
    store: Store,
    *,
    user: str,
    sort: str = "created_at",
    descending: bool = True,
    limit: int | None = None,
    scope: Scope = EVERYTHING,
) -> list[SessionStats]:
    """Every session of the user with its figures in scope, ordered by `sort`."""
    if not isinstance(sort, str) or sort not in _SORTABLE_SQL:
        raise InvalidInput(f"sort: cannot sort by {sort!r}; choose one of {', '.join(SORTABLE)}", field="sort")
    if limit is not None:
        check_limit(limit)
    order_by = _SORTABLE_SQL[sort]
    if limit is not None and order_by.startswith("s."):
        # Ordered by a column of `sessions` itself: pick the page first, aggregate only it (461 -> 32 ms on 10M).
        ids = _first_sessions(store, user=user, order_by=order_by, descending=descending, limit=limit)
        if not ids:
            return []
        return _aggregate(store, user=user, scope=scope, session_ids=ids, sort=sort, descending=descending)
    return _aggregate(store, user=user, scope=scope, sort=sort, descending=descending, limit=limit)


def _first_sessions(store: Store, *, user: str, order_by: str, descending: bool, limit: int) -> list[str]:
    """The ids of the user's first `limit` sessions in `list`'s order, by a column of `sessions`."""
    direction = "DESC" if descending else "ASC"
    rows = store.fetchall(
        f"SELECT id FROM sessions s WHERE user_id = $user "
        f"ORDER BY {order_by} {direction} NULLS LAST, s.created_at DESC, s.id LIMIT $limit",
        {"user": user, "limit": limit},
    )
    return [row[0] for row in rows]


def _aggregate(
    store: Store,
    *,
    user: str,
    scope: Scope,
    session_ids: list[str] | None = None,
    sort: str = "created_at",
    descending: bool = True,
    limit: int | None = None,
) -> list[SessionStats]:
    now = utc_now()
    params: dict[str, Any] = {"user": user}
    sessions = ""
    if session_ids is not None:
        # `=` and `IN` let DuckDB skip row groups by their min/max; list_contains($list, ...) scanned all (40x).
        names = [f"session{i}" for i in range(len(session_ids))]
        params.update(zip(names, session_ids, strict=True))
        sessions = "AND {column} IN (" + ", ".join(f"${name}" for name in names) + ")"
    records = scoped_records(store, scope, params, sessions=sessions)
    direction = "DESC" if descending else "ASC"
    order = f"ORDER BY {_SORTABLE_SQL[sort]} {direction} NULLS LAST, s.created_at DESC, s.id"
    if "$now" in order:
        params["now"] = now
    if limit is not None:
        params["limit"] = limit
        order += " LIMIT $limit"
    sql = _AGGREGATE_SQL.format(
        session_filter=sessions.format(column="id"), records=records, order=order,
        clip_from="greatest" if scope.since else "", since=", $since" if scope.since else "",
        clip_until="least" if scope.until else "", until=", $until" if scope.until else "",
    )
    return [_with_ratios(row, now) for row in store.fetchall(sql, params)]


def _with_ratios(row: tuple, now: datetime) -> SessionStats:
    session_id, name, status = row[:3]
    figures = token_figures(row[3:12])
    stories, tokens, cost = figures["story_count"], figures["total_tokens"], figures["total_cost"]
    (tool_calls, tool_cost, words, created_at, started_at, ended_at, first_at, last_at, avg_duration,
     active_from, active_until) = row[12:]
    duration = _seconds_between(started_at, ended_at or now) if started_at else None
    active = _exact_seconds(active_until - active_from) if active_from is not None else None
    rate_span = active if active is not None and active >= MIN_RATE_SECONDS else None
    return SessionStats(
        **{**figures, "total_cost": _exact(cost)}, session_id=session_id, name=name, status=status,
        tool_calls=int(tool_calls), tool_cost=_exact(tool_cost), word_count=int(words),
        created_at=created_at, started_at=started_at, ended_at=ended_at, first_record_at=first_at,
        last_record_at=last_at, duration_seconds=duration,
        tokens_per_story=_ratio(tokens, stories), cost_per_story=_cost_ratio(cost, stories),
        words_per_story=_ratio(words, stories), cost_per_1k_words=_cost_ratio(cost * 1000, words),
        tokens_per_word=_ratio(tokens, words), avg_story_duration=avg_duration,
        active_from=active_from, active_until=active_until, active_seconds=float(active) if active else None,
        stories_per_hour=_per_hour(stories, rate_span), tokens_per_hour=_per_hour(tokens, rate_span),
        cost_per_hour=_cost_ratio(cost * 3600, rate_span),
    )


def _exact_seconds(span: timedelta) -> Decimal:
    """A timedelta as exact seconds (microseconds included)."""
    return Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds).scaleb(-6)


def _seconds_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def _per_hour(count: int, seconds: Decimal | None) -> float | None:
    """A count per hour of `seconds`, from the exact quotient."""
    return float(Decimal(count) * 3600 / seconds) if seconds else None


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
