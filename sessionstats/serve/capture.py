"""The capture endpoints: create sessions, record stories, token usage (one or a batch) and raw API responses.

The same validation as every path in (the API's), the exit codes' meanings as statuses: 400 names the field,
404 a session that is not yours, 409 a request id or story id already recorded (nothing new), 503 busy.
Single records are validated here and stored in batches by one writer thread (batching.py), each request
awaiting its own outcome; the other writes of this process take turns (one at a time), so its threads seldom
wait on each other's file lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sessionstats import Recorded
from sessionstats.api import Database
from sessionstats.errors import InvalidInput
from sessionstats.serve import deadlines
from sessionstats.serve.batching import BatchedDatabase
from sessionstats.serve.session_paths import session_param
from sessionstats.serve.wire import JSONExact
from sessionstats.validate import refuse_constant, unique_keys

MAX_BODY = 16 * 1024 * 1024  # a batch of ~100,000 records, or the largest API response worth keeping
SESSION_FIELDS = frozenset({"id", "name", "settings"})
STORY_FIELDS = frozenset({"title", "narrative", "tone", "priority", "word_count", "duration", "id", "at"})
TOKEN_FIELDS = frozenset({"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                          "cache_write_1h_tokens", "model", "provider", "cost", "story_id", "request_id", "at",
                          "service_tier"})
RESPONSE_OPTIONS = ("story_id", "model", "provider", "cost", "at")
Result = TypeVar("Result")


async def body_bytes(request: Request) -> bytes:
    """The request body, refused past MAX_BODY without reading the rest, or when it takes over BODY_SECONDS
    (a chunked body sent a byte a minute never ended)."""
    chunks, size = [], 0
    try:
        with anyio.fail_after(deadlines.BODY_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise InvalidInput(f"body: larger than {MAX_BODY // (1024 * 1024)} MiB; send fewer records "
                                       "at once", field="body")
                chunks.append(chunk)
    except TimeoutError:
        raise InvalidInput(f"body: not all sent within {deadlines.BODY_SECONDS} s; send it at once",
                           field="body") from None
    return b"".join(chunks)


async def json_body(request: Request) -> Any:
    """The body as JSON, numbers with a fraction read as exact Decimals (a cost is never a float), a key named twice
    refused (as every import refuses it)."""
    return json_document(await body_bytes(request), parse_float=Decimal, parse_constant=refuse_constant)


def json_document(raw: bytes, **options: Any) -> Any:
    """A body's JSON (json.loads `options`), a key named twice refused; InvalidInput naming the body when not."""
    try:
        return json.loads(raw, object_pairs_hook=unique_keys, **options)
    except RecursionError:  # Python's words for it name its own insides
        raise InvalidInput("body: not JSON we can read (it nests too deeply)", field="body") from None
    except ValueError as error:
        raise InvalidInput(f"body: not JSON ({error})", field="body") from None


def fields_of(document: Any, allowed: frozenset[str], what: str) -> dict[str, Any]:
    """A JSON object's fields, refusing a non-object and any field `what` does not have."""
    if not isinstance(document, Mapping):
        raise InvalidInput(f"body: {what} must be a JSON object, got {type(document).__name__}", field="body")
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not a field of {what} (fields: {', '.join(sorted(allowed))})",
                           field=unknown[0])
    return dict(document)


async def writing(request: Request, work: Callable[[], Result]) -> Result:
    """Run a write in a worker thread, one at a time in this process."""
    return await anyio.to_thread.run_sync(work, limiter=request.app.state.writer)


async def recording(work: Callable[[], Recorded]) -> Response:
    """Record one story or call in a worker thread; its store joins the writer thread's next batch."""
    return recorded_response(await anyio.to_thread.run_sync(work))


def recorded_response(recorded: Recorded) -> Response:
    """201 with the id; 409 when the record was there already (the same id: nothing new)."""
    body = {"id": recorded.id, "created": recorded.created, "warning": recorded.warning}
    return JSONExact(body, status_code=201 if recorded.created else 409)


def _create(request: Request) -> bool:
    value = request.query_params.get("create", "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise InvalidInput(f"create: must be true or false, got {value!r}", field="create")
    return value in {"true", "1"}


async def new_session(request: Request) -> Response:
    database: Database = request.app.state.database
    given = fields_of(await json_body(request), SESSION_FIELDS, "a session")
    if given.get("settings") is not None and not isinstance(given["settings"], Mapping):
        raise InvalidInput("settings: must be a JSON object", field="settings")
    try:
        handle = await writing(request, lambda: database.new_session(given.get("name"), id=given.get("id"),
                                                                     settings=given.get("settings")))
    except InvalidInput as error:
        if error.field != "session_id":
            raise
        raise InvalidInput(str(error).replace("session_id: ", "id: ", 1), field="id") from None  # the body's key
    return JSONExact({"session_id": handle.id}, status_code=201)


async def record_story(request: Request) -> Response:
    database: BatchedDatabase = request.app.state.database
    handle = database.session(session_param(request), create=_create(request))
    given = fields_of(await json_body(request), STORY_FIELDS, "a story")
    if "title" not in given:
        raise InvalidInput("title: a story needs a title", field="title")
    title = given.pop("title")
    return recorded_response(await database.record_soon(handle.story_input(title, **given), create=handle.create))


async def record_tokens(request: Request) -> Response:
    """One record (a JSON object) or a batch (a JSON array, stored all or none in one transaction)."""
    database: BatchedDatabase = request.app.state.database
    session_id = session_param(request)
    create = _create(request)
    document = await json_body(request)
    if isinstance(document, list):
        return await _record_batch(request, database, session_id, document, create)
    given = fields_of(document, TOKEN_FIELDS, "a token record")
    counts = {name: given.pop(name, None) for name in ("input_tokens", "output_tokens")}
    missing = [name for name, value in counts.items() if value is None]
    if missing:
        raise InvalidInput(f"{missing[0]}: a token record needs it", field=missing[0])
    handle = database.session(session_id, create=create)
    usage = handle.token_usage(counts["input_tokens"], counts["output_tokens"], **given)
    return recorded_response(await database.record_soon(usage, create=create))


async def _record_batch(request: Request, database: Database, session_id: str, items: list[Any],
                        create: bool) -> Response:
    if not items:
        raise InvalidInput("body: an empty batch; send at least one record", field="body")
    handle = database.session(session_id)
    records = []
    for number, item in enumerate(items):
        given = fields_of(item, TOKEN_FIELDS, f"token record {number}")
        given["created_at"] = given.pop("at", None)
        records.append({"session_id": handle.id, **given})

    def store() -> Any:
        if not create:
            handle.info()  # a session missing or not yours is a 404, as for one record
        return database.record_many(records, create_sessions=create)

    result = await writing(request, store)
    return JSONExact({"imported": result.imported, "skipped": result.skipped},
                     status_code=201 if result.imported else 409)


async def record_response(request: Request) -> Response:
    """A raw API response body (JSON or an event stream), recorded as `record-tokens --from-response`."""
    database: Database = request.app.state.database
    handle = database.session(session_param(request), create=_create(request))
    options = {name: request.query_params.get(name) for name in RESPONSE_OPTIONS}
    body = await body_bytes(request)  # bytes: bad UTF-8 is refused as --from-response refuses it, never replaced
    return await recording(lambda: handle.record_response(body, **options))


ROUTES = [
    Route("/api/sessions", new_session, methods=["POST"]),
    Route("/api/sessions/{session_id}/stories", record_story, methods=["POST"]),
    Route("/api/sessions/{session_id}/tokens", record_tokens, methods=["POST"]),
    Route("/api/sessions/{session_id}/responses", record_response, methods=["POST"]),
]
