"""The ASGI app: routes, the token check, and the one place errors become HTTP statuses."""

from __future__ import annotations

import hmac
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from sessionstats.api import Database
from sessionstats.errors import (
    DatabaseBusy,
    DatabaseUnusable,
    InvalidInput,
    RecordNotFound,
    SessionNotFound,
    SessionStatsError,
)
from sessionstats.serve import capture, live, otlp, reading
from sessionstats.serve.hosts import is_loopback_name
from sessionstats.serve.session_paths import EncodedSessionIds
from sessionstats.serve.wire import JSONExact

STATIC = Path(__file__).parent / "static"
TOKEN_COOKIE = "sessionstats_token"
_FIELD_PREFIX = re.compile(r"^(--)?([a-z_][a-z0-9_.-]*): ")
# Some core checks still name the CLI's flags (records.py); the web API speaks of its JSON fields.
_FLAG_FIELDS = {"input": "input_tokens", "output": "output_tokens", "cache_read": "cache_read_tokens",
                "cache_write": "cache_write_tokens", "cache_write_1h": "cache_write_1h_tokens",
                "story": "story_id", "session": "session_id"}


def build_app(database: Database, *, token: str | None = None, interval: float = 0.5,
              loopback_names: bool = False) -> Starlette:
    """The panel, the JSON API and the OTLP receiver for `database`'s user; `token` guards every request;
    `loopback_names` refuses a request whose Host is not a loopback name (serving on loopback without a token)."""
    guards = [Middleware(EncodedSessionIds), Middleware(SameOrigin),
              *([Middleware(LoopbackHost)] if loopback_names else []),
              *([Middleware(TokenGuard, token=token)] if token else [])]
    app = Starlette(
        routes=[*reading.ROUTES, *capture.ROUTES, *live.ROUTES, *otlp.ROUTES,
                Route("/", _page), Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=guards,
        exception_handlers={SessionStatsError: _error_response},
        lifespan=live.lifespan,
    )
    app.state.database = database
    app.state.interval = interval
    app.state.token = token
    return app


async def _page(request: Request) -> Response:
    """The panel; with a token, also a cookie that carries it on the page's own requests (scripts, styles)."""
    page = FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})
    if request.app.state.token:
        page.set_cookie(TOKEN_COOKIE, request.app.state.token, httponly=True, samesite="strict")
    return page


def status_of(error: SessionStatsError) -> int:
    """The HTTP status of an error: the exit codes' meanings (2 -> 400, 1 -> 404, 4 -> 503)."""
    if isinstance(error, SessionNotFound | RecordNotFound):
        return 404
    if isinstance(error, DatabaseBusy | DatabaseUnusable):
        return 503
    return 400 if isinstance(error, InvalidInput) or error.exit_code == 2 else 409


def field_and_message(error: SessionStatsError) -> tuple[str | None, str]:
    """The field an error is about (its own `field`, else the `name: ...` its message starts with, a CLI
    flag turned into the JSON field it stands for), and the message in those words."""
    message = str(error)
    found = _FIELD_PREFIX.match(message)
    if found is None:
        return getattr(error, "field", None), message
    name = found.group(2)
    if found.group(1):
        name = name.replace("-", "_")
        name = _FLAG_FIELDS.get(name, name)
        message = f"{name}: {message[found.end():]}"
    return getattr(error, "field", None) or name, message


async def _error_response(request: Request, error: Exception) -> Response:
    assert isinstance(error, SessionStatsError)
    status = status_of(error)
    field, message = field_and_message(error)
    body: dict[str, object] = {"error": message}
    if status == 400:
        body["field"] = field
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONExact(body, status_code=status, headers=headers)


class SameOrigin:
    """Refuses (403) a request a browser sent from another site's page: without a token, any web page could
    otherwise POST text/plain records to 127.0.0.1. Browsers send Origin; curl, SDKs and OTLP exporters do not."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        origin, host = headers.get(b"origin"), headers.get(b"host", b"")
        if scope["type"] == "http" and origin is not None and origin.split(b"://")[-1] != host:
            response = JSONExact({"error": "a page from another site may not use this server"}, status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class LoopbackHost:
    """Refuses (403) a request whose Host is not a loopback name. A site whose name is re-pointed at 127.0.0.1
    (DNS rebinding) is same-origin to its own page, so only the Host it names tells it from the panel."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = dict(scope.get("headers") or []).get(b"host")
        if scope["type"] == "http" and host is not None and not is_loopback_name(host.decode("latin-1")):
            response = JSONExact({"error": "this server answers only to a loopback name (127.0.0.1, localhost, "
                                           "[::1]); serve with --token to be reached by another"}, status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class TokenGuard:
    """Refuses (401) a request without the token, as `Authorization: Bearer T`, `?token=T` or the page's cookie."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._carries_token(Request(scope)):
            response = JSONExact({"error": "this server needs its token: send 'Authorization: Bearer TOKEN' "
                                           "or add ?token=TOKEN"}, status_code=401,
                                 headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _carries_token(self, request: Request) -> bool:
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE, "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        return hmac.compare_digest(given.encode("utf-8"), self.token)
