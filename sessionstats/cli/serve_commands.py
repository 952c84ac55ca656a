"""`serve`: the Sessions panel in a browser, capture over HTTP and an OTLP receiver, until Ctrl-C."""

from __future__ import annotations

import socket
import sys
import threading
from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import NO_SHARED, Shared, shared_options, whole_option
from sessionstats.errors import InvalidInput
from sessionstats.serve.hosts import is_loopback_name

DEFAULT_PORT = 8484


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: a free one), refused with one line when it cannot be."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
        # With proto 0 the accepted sockets say 0 too and asyncio leaves Nagle on: each keep-alive request then
        # waited ~40 ms for the client's delayed ACK (uvicorn issue 3149), which capped 16 clients at ~200/s.
        sock = socket.socket(info[0], socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as error:
        raise InvalidInput(f"--host/--port: cannot listen on {host}:{port} ({error.strerror or error}); "
                           "pick another --port") from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


@app.command()
@shared_options("db", "user")
def serve(
    host: Annotated[str, typer.Option(
        metavar="ADDRESS", help="Address to listen on; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, whole_option(
        low=0, high=65535, metavar="PORT", help="Port to listen on (0: a free one).")] = DEFAULT_PORT,
    open_page: Annotated[bool, typer.Option("--open", help="Open the panel in your browser.")] = False,
    token: Annotated[str | None, typer.Option(
        metavar="TOKEN", envvar="SESSIONSTATS_SERVE_TOKEN", show_envvar=True,
        help="A secret every request must carry (Authorization: Bearer TOKEN, or ?token=TOKEN).")] = None,
    shared: Shared = NO_SHARED,
) -> None:
    """Serve the live Sessions panel, capture over HTTP (POST /api/...) and OTLP (/v1/logs, /v1/traces).

    The panel updates by itself as records land from any process. Binds to loopback unless told otherwise.

    \b
    Example:
      sessionstats serve --open
      CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_LOGS_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=http/json \\
        OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:8484 claude
    """
    if not is_loopback_name(host) and not token:
        raise InvalidInput(f"--host: {host} is reachable from other machines; give --token (or set "
                           "SESSIONSTATS_SERVE_TOKEN) so that only those who know it can read and record")
    if token is not None and len(token) < 16:
        raise InvalidInput("--token: use at least 16 characters (e.g. $(python -c 'import secrets; "
                           "print(secrets.token_urlsafe())'))")
    try:
        import uvicorn

        from sessionstats.serve.app import build_app
        from sessionstats.serve.deadlines import DeadlineProtocol
    except ImportError as error:
        raise InvalidInput(f"serve needs its extra ({error.name} is missing): pip install 'sessionstats[serve]'") \
            from None
    database = shared.database
    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/" + (f"?token={token}" if token else "")
    reach = "loopback only: other machines cannot reach it" if is_loopback_name(host) else \
        "reachable from other machines; every request must carry the token"
    print(f"sessionstats: serving {database.user}'s sessions at {url} ({reach}); Ctrl-C stops", file=sys.stderr)
    served = build_app(database, token=token, loopback_names=not token)
    server = uvicorn.Server(uvicorn.Config(served, http=DeadlineProtocol, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=1, limit_concurrency=MAX_CONNECTIONS))
    if open_page:
        threading.Thread(target=_open_when_ready, args=(server, url), daemon=True).start()
    server.run(sockets=[sock])


# Connections served at once; past it a request gets 503 at once (uvicorn), so a flood of clients cannot grow the
# server without bound. Each open panel holds one (its live events) and a capture client one per request in flight.
MAX_CONNECTIONS = 256


def _open_when_ready(server: object, url: str) -> None:
    import time
    import webbrowser

    for _ in range(100):
        if getattr(server, "started", False):
            webbrowser.open(url)
            return
        time.sleep(0.05)
