"""A slow client cannot hold `serve` for ever: a connection that sends nothing, or its headers a byte at a time, is
closed HEADER_SECONDS after it connected; a body still coming after BODY_SECONDS is a 400 naming the body.
Before, each such connection stayed open (and kept a file descriptor) as long as the client liked."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from conftest import db_argument, snapshot

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

import httpx
from serve_helpers import serving

import sessionstats
from sessionstats.serve import deadlines
from sessionstats.serve.app import build_app

pytestmark = pytest.mark.file_only
CLOSED_WITHIN = deadlines.HEADER_SECONDS + 50  # a socket timeout bounding the test, not a time asserted


def connect(url: str) -> socket.socket:
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=CLOSED_WITHIN)
    return sock


def closed_by_server(sock: socket.socket) -> bytes:
    """What the server sent before it closed the connection (b"" when nothing); a timeout fails the test."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_connections_that_send_nothing_or_half_their_headers_are_closed_and_others_are_served(db):
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    with serving(db_argument(db)) as url:
        idle, partial = connect(url), connect(url)
        try:
            partial.sendall(b"GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            assert closed_by_server(idle) == b""
            assert closed_by_server(partial) == b""
            answer = httpx.get(f"{url}api/sessions", timeout=30)
        finally:
            idle.close()
            partial.close()
    assert answer.status_code == 200 and [row["session_id"] for row in answer.json()] == ["s"]


def test_a_keep_alive_connection_is_served_twice_then_closed_when_idle(db):
    sessionstats.connect(db, "alice").new_session("n", id="s")
    with serving(db_argument(db)) as url:
        sock = connect(url)
        try:
            request = b"GET /api/sessions/s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            sock.sendall(request + request)  # pipelined: the second request's headers are in at once
            received = closed_by_server(sock)
        finally:
            sock.close()
    assert received.count(b"HTTP/1.1 200 OK") == 2


async def _trickled_body() -> AsyncIterator[bytes]:
    yield b'{"input_tokens": 1, '
    await asyncio.sleep(3600)  # the rest never comes
    yield b'"output_tokens": 1}'


def test_a_body_that_never_ends_is_refused_naming_the_body_and_stores_nothing(db, monkeypatch):
    monkeypatch.setattr(deadlines, "BODY_SECONDS", 0.2)
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    before = snapshot(db)

    async def post() -> httpx.Response:
        app = build_app(database)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            return await client.post("/api/sessions/s/tokens", content=_trickled_body(),
                                     headers={"content-type": "application/json"})

    answer = asyncio.run(asyncio.wait_for(post(), timeout=60))
    assert answer.status_code == 400
    assert json.loads(answer.text) == {"error": "body: not all sent within 0.2 s; send it at once", "field": "body"}
    assert snapshot(db) == before


def test_past_max_connections_a_request_is_503_at_once_and_served_again_once_they_close(db):
    """A flood of open connections no longer grows the server: past MAX_CONNECTIONS a request is answered 503."""
    from sessionstats.cli.serve_commands import MAX_CONNECTIONS

    sessionstats.connect(db, "alice").new_session("n", id="s")
    with serving(db_argument(db)) as url:
        held = []
        try:
            for _ in range(MAX_CONNECTIONS):
                held.append(connect(url))
                held[-1].sendall(b"GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
            assert httpx.get(f"{url}api/sessions", timeout=30).status_code == 503
        finally:
            for sock in held:
                sock.close()
        for _ in range(200):  # the server sees the closes a moment later
            answer = httpx.get(f"{url}api/sessions", timeout=30)
            if answer.status_code != 503:
                break
            time.sleep(0.05)
    assert answer.status_code == 200 and [row["session_id"] for row in answer.json()] == ["s"]
