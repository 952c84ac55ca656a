"""`track(client, session=...)`: record every LLM call an Anthropic or OpenAI SDK client makes.

The SDKs send through an httpx client (`client._client`, httpx or httpx2 by version). `track` adds one
response hook to it; for a successful POST to Messages, Chat Completions or Responses, the hook wraps
the response's decoded byte iterator so that the bytes the SDK reads (a JSON body, or a whole event
stream) are also kept, and when the SDK has read them all they are recorded through `parse_response`,
exactly as `record-tokens --from-response` reads a saved response (with the request-id header).
Nothing in the request or in what the caller gets changes: a Chat Completions stream without
`stream_options={"include_usage": True}` has no usage to record, so it is reported with a warning
rather than altered (adding the option would add a chunk with no choices to the caller's stream).
A stream the caller leaves early is recorded with the usage it reported so far. A failure to record is
a `TrackWarning`, never an exception in the caller's LLM call.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from sessionstats.errors import SessionStatsError
from sessionstats.session_api import SessionHandle

Client = TypeVar("Client")

# POST paths whose responses carry usage; `/v1/messages/count_tokens` and batches end otherwise.
USAGE_PATHS = ("/messages", "/chat/completions", "/responses")
MAX_KEPT_BYTES = 64 << 20  # a response bigger than this is not kept whole, and so not recorded
_HEADERS_KEPT = ("request-id", "x-request-id")
_MARK = "_sessionstats_hook"


class TrackWarning(UserWarning):
    """A call made through a tracked client could not be recorded (the call itself went on unharmed)."""


def track(client: Client, session: SessionHandle | str | None = None, *, provider: str | None = None) -> Client:
    """Record every Messages, Chat Completions and Responses call `client` makes into `session`; return it.

    `session` is a handle (`db.session(id)`), or a session id in the default database, else
    $SESSIONSTATS_SESSION there. Works on
    `anthropic.Anthropic`/`AsyncAnthropic` and `openai.OpenAI`/`AsyncOpenAI`, streamed or not; calls
    made inside `with session.story(...)` are linked to that story. Tracking the client again moves it
    to the new session.
    """
    handle = session if isinstance(session, SessionHandle) else _default_session(session)
    http = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if not isinstance(hooks, dict) or "response" not in hooks:
        from sessionstats.errors import InvalidInput

        raise InvalidInput(f"client: a {type(client).__name__} is not an Anthropic or OpenAI SDK client "
                           "(track needs its httpx client)", field="client")
    recorder = _Recorder(handle, provider)
    hook = _async_hook(recorder) if callable(getattr(http, "aclose", None)) else _sync_hook(recorder)
    setattr(hook, _MARK, True)
    kept = [h for h in hooks["response"] if not getattr(h, _MARK, False)]
    http.event_hooks = {**hooks, "response": [*kept, hook]}  # type: ignore[union-attr]
    return client


def _default_session(session_id: str | None) -> SessionHandle:
    from sessionstats.api import connect

    return connect().session(session_id)


class _Recorder:
    """Records one finished response into the session; every failure becomes a TrackWarning."""

    def __init__(self, session: SessionHandle, provider: str | None) -> None:
        self.session = session
        self.provider = provider

    def wants(self, response: Any) -> bool:
        request = response.request
        return bool(request.method == "POST" and 200 <= response.status_code < 300
                and request.url.path.rstrip("/").endswith(USAGE_PATHS))

    def record(self, response: Any, body: bytes | None, at: Any) -> None:
        if body is None:
            _warn(f"not recorded: the response to {response.request.url.path} was over {MAX_KEPT_BYTES:,} bytes")
            return
        if "event-stream" in response.headers.get("content-type", ""):
            body = body[:body.rfind(b"\n") + 1]  # a stream left early ends mid-event: keep the whole lines
        head = "".join(f"{name}: {response.headers[name]}\r\n" for name in _HEADERS_KEPT if name in response.headers)
        saved = f"HTTP/1.1 {response.status_code} OK\r\n{head}\r\n".encode() + body
        try:
            recorded = self.session.record_response(saved, provider=self.provider, at=at)
        except SessionStatsError as error:
            _warn(f"not recorded: {error}")
        except Exception as error:  # a bug of ours must not break the caller's LLM call
            _warn(f"not recorded: {type(error).__name__}: {error}")
        else:
            if recorded.warning:
                _warn(recorded.warning)


def _sync_hook(recorder: _Recorder) -> Callable[[Any], None]:
    def on_response(response: Any) -> None:
        try:
            if not recorder.wants(response):
                return
            if _read_already(response):
                recorder.record(response, response.content, _now())
            else:
                _Capture(recorder, response).attach_sync()
        except Exception as error:  # an httpx or SDK change must cost a record, never the caller's call
            _warn(f"not recorded: {type(error).__name__}: {error}")

    return on_response


def _async_hook(recorder: _Recorder) -> Callable[[Any], Any]:
    async def on_response(response: Any) -> None:
        try:
            if not recorder.wants(response):
                return
            if _read_already(response):
                at = _now()
                await _off_the_loop(lambda: recorder.record(response, response.content, at))
            else:
                _Capture(recorder, response).attach_async()
        except Exception as error:
            _warn(f"not recorded: {type(error).__name__}: {error}")

    return on_response


def _read_already(response: Any) -> bool:
    """Whether the transport read the whole body before the hook ran (httpx.MockTransport does)."""
    return bool(response.is_closed)


class _Capture:
    """Keeps the decoded bytes the SDK reads from one response; records them once, when it is closed.

    Closing, not the end of the bytes: the OpenAI SDK stops reading at `data: [DONE]` and closes, as does
    a caller who leaves a stream early. httpx closes as the raw bytes end, from inside the read, before
    the decoder's last bytes come out: a close that comes while a chunk is being pulled is acted on when
    that pulling stops.
    """

    def __init__(self, recorder: _Recorder, response: Any) -> None:
        self.recorder = recorder
        self.response = response
        self.body: bytearray | None = bytearray()
        self.at = _now()
        self.pulling = False
        self.closed = False
        self.done = False

    def attach_sync(self) -> None:
        read, close = self.response.iter_bytes, self.response.close

        def iter_bytes(*args: Any, **kwargs: Any) -> Iterator[bytes]:
            chunks = iter(read(*args, **kwargs))
            try:
                while True:
                    self.pulling = True
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        return
                    finally:
                        self.pulling = False
                    self.keep(chunk)
                    yield chunk
            finally:
                if self.stopped_pulling() and self.claim():
                    self.record()

        def closing() -> None:
            close()
            if self.was_closed() and self.claim():
                self.record()

        self.response.iter_bytes, self.response.close = iter_bytes, closing

    def attach_async(self) -> None:
        read, close = self.response.aiter_bytes, self.response.aclose

        async def aiter_bytes(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
            chunks = aiter(read(*args, **kwargs))
            try:
                while True:
                    self.pulling = True
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                    finally:
                        self.pulling = False
                    self.keep(chunk)
                    yield chunk
            finally:
                if self.stopped_pulling() and self.claim():
                    await _off_the_loop(self.record)

        async def closing() -> None:
            await close()
            if self.was_closed() and self.claim():
                await _off_the_loop(self.record)

        self.response.aiter_bytes, self.response.aclose = aiter_bytes, closing

    def keep(self, chunk: bytes) -> None:
        if self.body is not None and len(self.body) + len(chunk) <= MAX_KEPT_BYTES:
            self.body += chunk
        else:
            self.body = None

    def stopped_pulling(self) -> bool:
        """Whether to record now: a close came while a chunk was being pulled."""
        return self.closed

    def was_closed(self) -> bool:
        """Whether to record now: not when the close came from inside a pull (httpx's, at the raw end)."""
        self.closed = True
        return not self.pulling

    def claim(self) -> bool:
        """True the first time only: a response is recorded once, whichever way it ends."""
        first, self.done = not self.done, True
        return first

    def record(self) -> None:
        self.recorder.record(self.response, bytes(self.body) if self.body is not None else None, self.at)


async def _off_the_loop(record: Callable[[], None]) -> None:
    """Record in a worker thread, so that waiting for the database lock never stalls the event loop."""
    import asyncio

    await asyncio.to_thread(record)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _warn(message: str) -> None:
    warnings.warn(f"sessionstats: {message}", TrackWarning, stacklevel=2)
