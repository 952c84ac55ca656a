"""Live updates: one watcher looks at the database cheaply and pushes changed figures to every open page (SSE).

A look costs a stat() of the database file and its WAL; only when they changed (or every few seconds, and
on every look for a PostgreSQL server, which has no file) is the session list read, re-opening the
database as every command does. The list's rows that differ from the last push are sent as one event.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from sessionstats.api import Database
from sessionstats.errors import SessionStatsError
from sessionstats.serve.reading import session_list
from sessionstats.serve.wire import plain

KEEPALIVE_SECONDS = 15
FULL_LOOK_EVERY = 10  # looks: a change the file's stat() missed (same size within the mtime's tick) still shows
LOOK_SHARE = 0.25  # at most this share of the time is spent reading the list (a big database reads slowly)


class Watcher:
    """Keeps the last session list pushed and a queue per open page."""

    def __init__(self, database: Database, interval: float) -> None:
        self.database = database
        self.interval = interval
        self.pages: set[asyncio.Queue[str]] = set()
        self.rows: dict[str, Any] = {}
        self.version = 0
        self._fingerprint: tuple[Any, ...] | None = None

    def fingerprint(self) -> tuple[Any, ...] | None:
        """The database file's and its WAL's size and change time; None when there is no file to stat."""
        if not isinstance(self.database.target, Path):
            return None
        found: list[Any] = []
        for path in (self.database.target, Path(f"{self.database.target}.wal")):
            with suppress(OSError):
                status = os.stat(path)
                found += [path.name, status.st_size, status.st_mtime_ns]
        return tuple(found)

    def current_rows(self) -> dict[str, Any]:
        """The session list now, as the page's JSON, by session id (empty while there is no database)."""
        try:
            return {row["session_id"]: plain(row) for row in session_list(self.database)}
        except SessionStatsError:  # busy, or no database yet: look again next time
            return self.rows

    async def look(self, count: int) -> None:
        print_ = self.fingerprint()
        if print_ is not None and print_ == self._fingerprint and count % FULL_LOOK_EVERY:
            return
        self._fingerprint = print_
        rows = await anyio.to_thread.run_sync(self.current_rows)
        changed = [key for key, row in rows.items() if self.rows.get(key) != row]
        removed = [key for key in self.rows if key not in rows]
        if changed or removed:
            self.rows = rows
            self.version += 1
            self.publish(self.event(rows, changed, removed))

    def event(self, rows: dict[str, Any], changed: list[str], removed: list[str]) -> str:
        body = {"version": self.version, "changed": changed, "removed": removed, "sessions": list(rows.values())}
        return f"event: sessions\ndata: {json.dumps(body)}\n\n"

    def publish(self, event: str) -> None:
        for queue in self.pages:
            queue.put_nowait(event)

    async def run(self) -> None:
        count = 0
        while True:
            took = 0.0
            if self.pages:
                started = time.monotonic()
                await self.look(count)
                took = time.monotonic() - started
                count += 1
            await asyncio.sleep(max(self.interval, took / LOOK_SHARE - took))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The writer thread, the write turn-taking and the watcher, for as long as the server runs."""
    from sessionstats.serve.batching import BatchedDatabase
    from sessionstats.serve.otlp import exports_batcher

    app.state.database = BatchedDatabase(app.state.database)
    app.state.otlp = exports_batcher(app.state.database)
    app.state.writer = anyio.CapacityLimiter(1)
    app.state.watcher = Watcher(app.state.database, app.state.interval)
    task = asyncio.create_task(app.state.watcher.run())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await anyio.to_thread.run_sync(app.state.otlp.close)
        await anyio.to_thread.run_sync(app.state.database.close)


async def events_endpoint(request: Request) -> StreamingResponse:
    """Server-sent events: the whole session list first, then each change as it is seen."""
    watcher: Watcher = request.app.state.watcher
    queue: asyncio.Queue[str] = asyncio.Queue()
    await watcher.look(0)  # the page starts from the watcher's list, so its next event is a real change
    queue.put_nowait(watcher.event(watcher.rows, list(watcher.rows), []))
    watcher.pages.add(queue)

    async def stream() -> AsyncIterator[str]:
        try:
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": still here\n\n"
        finally:
            watcher.pages.discard(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


ROUTES = [Route("/api/events", events_endpoint, methods=["GET"])]
