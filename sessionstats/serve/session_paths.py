"""Session ids in request paths (/api/sessions/<id>/...), which may hold any character an id may, '/' included."""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from sessionstats.errors import InvalidInput

_SESSIONS = "/api/sessions/"
_RAW_SESSIONS = _SESSIONS.encode()


class EncodedSessionIds:
    """Routes /api/sessions/<id>/... by the id as the client encoded it. The server decodes a path before routing,
    so `feature%2Flogin` became two segments and a session whose id holds '/' could not be reached (a 404)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_SESSIONS):
            raw = scope.get("raw_path")
            if raw is None or not raw.startswith(_RAW_SESSIONS):  # none kept, or '/api/%73essions/': the decoded
                session, slash, rest = scope["path"][len(_SESSIONS):].partition("/")
                session = quote(session, safe="")  # id, encoded again (a '/' in it is lost)
            else:
                session, slash, rest = raw.decode("latin-1").partition("?")[0][len(_SESSIONS):].partition("/")
                rest = unquote(rest, errors="replace")
            scope = {**scope, "path": _SESSIONS + session + slash + rest}
        await self.app(scope, receive, send)


def session_param(request: Request) -> str:
    """The session id of a /api/sessions/<id>/... request; a percent-encoding that is no UTF-8 is refused."""
    try:
        return unquote(request.path_params["session_id"], errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("session_id: is not valid UTF-8 text", field="session_id") from None
