"""The read endpoints: the session list, one session's figures, breakdowns, stories and timeline."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sessionstats import SessionStats
from sessionstats.api import Database
from sessionstats.serve.session_paths import session_param
from sessionstats.serve.wire import JSONExact

LIST_FIGURES = ("session_id", "name", "status", "story_count", "api_calls", "total_tokens", "total_cost",
                "unpriced_records", "created_at", "last_record_at")


def database_of(request: Request) -> Database:
    return request.app.state.database


def session_list(database: Database) -> list[dict[str, Any]]:
    """Every session of the user with the list's figures and its last activity (newest first)."""
    return [list_row(stats) for stats in database.list_sessions()]


def list_row(stats: SessionStats) -> dict[str, Any]:
    row = {name: getattr(stats, name) for name in LIST_FIGURES}
    row["last_activity"] = stats.last_record_at or stats.created_at
    return row


def session_detail(database: Database, session_id: str) -> dict[str, Any]:
    """All the page shows of one session: `show`'s figures, the three breakdowns, stories, timeline."""
    handle = database.session(session_id)
    return {
        "stats": handle.stats(),
        "breakdowns": {by: handle.breakdown(by).as_dict()["rows"] for by in ("tone", "priority", "model")},
        "stories": stories_of(database, session_id),
        "timeline": timeline_of(database, session_id),
    }


def stories_of(database: Database, session_id: str) -> list[Any]:
    """The session's stories with their titles, word counts and the calls linked to them (as `stories`)."""
    return list(database.session(session_id).stories())


def timeline_of(database: Database, session_id: str, every: str | None = None) -> dict[str, Any]:
    """The session's buckets, `every` long or as long as `timeline` picks for the session's span."""
    from sessionstats import parse_every

    length = database.session(session_id).default_every() if every is None else parse_every(every)
    return {"every_seconds": length.total_seconds(), "buckets": database.session(session_id).timeline(length)}


async def list_endpoint(request: Request) -> Response:
    return JSONExact(await run_in_threadpool(session_list, database_of(request)))


async def stats_endpoint(request: Request) -> Response:
    """One session's figures, keyed as `show --format json` (costs as strings, times in UTC)."""
    handle = database_of(request).session(session_param(request))
    return JSONExact(await run_in_threadpool(handle.stats))


async def detail_endpoint(request: Request) -> Response:
    return JSONExact(await run_in_threadpool(session_detail, database_of(request), session_param(request)))


async def breakdown_endpoint(request: Request) -> Response:
    by = request.query_params.getlist("by") or ["model"]
    handle = database_of(request).session(session_param(request))
    return JSONExact(await run_in_threadpool(lambda: handle.breakdown(*by)))


async def stories_endpoint(request: Request) -> Response:
    return JSONExact(await run_in_threadpool(stories_of, database_of(request), session_param(request)))


async def timeline_endpoint(request: Request) -> Response:
    """?every=15m|hour|day...; without it the length `timeline` picks for the session's span."""
    every = request.query_params.get("every")
    return JSONExact(await run_in_threadpool(timeline_of, database_of(request), session_param(request),
                                             every))


ROUTES = [
    Route("/api/sessions", list_endpoint, methods=["GET"]),
    Route("/api/sessions/{session_id}", stats_endpoint, methods=["GET"]),
    Route("/api/sessions/{session_id}/detail", detail_endpoint, methods=["GET"]),
    Route("/api/sessions/{session_id}/breakdown", breakdown_endpoint, methods=["GET"]),
    Route("/api/sessions/{session_id}/stories", stories_endpoint, methods=["GET"]),
    Route("/api/sessions/{session_id}/timeline", timeline_endpoint, methods=["GET"]),
]
