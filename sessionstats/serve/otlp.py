"""The OTLP/HTTP receiver: /v1/logs, /v1/traces and /v1/metrics in JSON or protobuf.

Usage is mapped by `otlp_usage`, the function `import otel` reads files with, so a live export and its file
copy store the same records (and, sharing their ids, each call once). Claude Code's api_request events and
GenAI spans are recorded; everything else (metrics, other events) is accepted and ignored with 200, so an
exporter never retries what we will not store. A body we cannot read is a 400, which exporters do not retry.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sessionstats.api import Database
from sessionstats.errors import DatabaseBusy, DatabaseUnusable, InvalidInput, SessionStatsError
from sessionstats.serve.batching import Batcher
from sessionstats.serve.capture import MAX_BODY, body_bytes, json_document
from sessionstats.store import Store

PROTOBUF = "application/x-protobuf"
_IDS = frozenset({"traceId", "spanId", "parentSpanId"})


def _messages(signal: str) -> tuple[Any, Any]:
    """The request and response classes of a signal's export service (opentelemetry-proto)."""
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as service

        return service.ExportLogsServiceRequest, service.ExportLogsServiceResponse
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as service

        return service.ExportTraceServiceRequest, service.ExportTraceServiceResponse
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service

    return service.ExportMetricsServiceRequest, service.ExportMetricsServiceResponse


def decoded(raw: bytes, encoding: str) -> bytes:
    """The body without its gzip/deflate content encoding, bounded like any body."""
    if encoding in {"", "identity"}:
        return raw
    if encoding not in {"gzip", "deflate"}:
        raise InvalidInput(f"Content-Encoding: {encoding!r} is not supported (send gzip or none)",
                           field="content_encoding")
    try:
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        plain = inflater.decompress(raw, MAX_BODY + 1)
    except (zlib.error, gzip.BadGzipFile) as error:
        raise InvalidInput(f"body: not {encoding} ({error})", field="body") from None
    if len(plain) > MAX_BODY:
        raise InvalidInput(f"body: larger than {MAX_BODY // (1024 * 1024)} MiB once inflated", field="body")
    return plain


def otlp_document(raw: bytes, content_type: str, signal: str) -> dict[str, Any]:
    """The export as OTLP JSON (camelCase keys, hex ids), whichever encoding it came in."""
    if content_type == PROTOBUF:
        from google.protobuf.json_format import MessageToDict
        from google.protobuf.message import DecodeError

        request_class, _ = _messages(signal)
        message = request_class()
        try:
            message.ParseFromString(raw)
        except DecodeError as error:
            raise InvalidInput(f"body: not an OTLP {signal} protobuf message ({error})", field="body") from None
        return _hex_ids(MessageToDict(message))
    if content_type != "application/json":
        raise InvalidInput(f"Content-Type: {content_type!r} is not OTLP; send application/json or {PROTOBUF}",
                           field="content_type")
    # a count is judged by its exact value; a key named twice: the whole export, as `import otel` counts that line
    document = json_document(raw, parse_float=Decimal)
    if not isinstance(document, dict):
        raise InvalidInput("body: an OTLP export is a JSON object", field="body")
    return document


def _hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes bytes in base64; OTLP JSON writes trace and span ids in hex."""
    if isinstance(value, dict):
        return {key: base64.b64decode(item).hex() if key in _IDS and isinstance(item, str) else _hex_ids(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_hex_ids(item) for item in value]
    return value


@dataclass
class Refused:
    """The records of one export that carried usage and were not stored, by why."""

    counts: int = 0  # token counts that are not whole numbers >= 0
    ids: int = 0  # a session id, model or request id the shared field rules refuse
    dear: int = 0  # counts whose cost a record cannot hold (known once priced, as they are stored)

    @property
    def total(self) -> int:
        return self.counts + self.ids + self.dear


def usage_events(document: dict[str, Any]) -> tuple[list[Any], Refused]:
    """The token events in one export, mapped as `import otel` maps a file's lines and checked by the same
    field rules, and the records refused (an `import otel` would count them malformed)."""
    from sessionstats.ingest.agent_import import Coverage, checked_events
    from sessionstats.ingest.otel_files import otlp_usage

    coverage = Coverage()
    events = otlp_usage(document, coverage)
    unreadable = coverage.malformed
    events = checked_events(events, coverage)  # done again as they are stored, where nothing would count them
    return events, Refused(counts=unreadable, ids=coverage.malformed - unreadable)


def store_exports(store: Store, user: str, exports: list[list[Any]]) -> list[int | SessionStatsError]:
    """Store the events of many exports in one transaction (each call once); for each export, how many of its
    records cost more than a record may hold and were left out (as `import otel` counts them malformed).

    Should the batch be refused, or leave records out, each export is stored alone (again: each call is stored
    once), so that one never fails the others and each is told what it lost."""
    from sessionstats.ingest.agent_import import Coverage, store_events
    from sessionstats.ingest.otel_files import SOURCE

    events = [event for export in exports for event in export]
    try:
        summary = store_events(store, events, user=user, source=SOURCE, coverage=Coverage(), step=lambda _: None)
    except (DatabaseBusy, DatabaseUnusable):
        raise
    except SessionStatsError as error:
        if len(exports) == 1:
            return [error]
        return [outcome for export in exports for outcome in store_exports(store, user, [export])]
    if not summary.written.too_dear or len(exports) == 1:
        return [summary.written.too_dear] * len(exports)
    return [outcome for export in exports for outcome in store_exports(store, user, [export])]


@contextmanager
def exports_writer(database: Database) -> Iterator[Callable[[list[list[Any]]], list[int | SessionStatsError]]]:
    """The database open to write for a run of export batches (a busy one is a 503: exporters retry it)."""
    with database.writing() as store, store.one_thread():
        store.many_units = True  # an older file is upgraded only once an export stores something
        yield partial(store_exports, store, database.user)


def exports_batcher(database: Database) -> Batcher[list[Any], int]:
    """The writer thread OTLP exports queue for: an exporter's burst is stored in one transaction."""
    return Batcher(partial(exports_writer, database), "sessionstats-otlp")


async def receive(request: Request) -> Response:
    signal = request.url.path.rsplit("/", 1)[-1]
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = decoded(await body_bytes(request), request.headers.get("content-encoding", "").strip().lower())
    document = otlp_document(raw, content_type, signal)
    refused = Refused()
    if signal != "metrics":  # usage comes as log events and spans; metrics would count it twice
        events, refused = usage_events(document)
        if events:  # an export the store refuses whole is a 400 naming why
            refused.dear = await asyncio.wrap_future(request.app.state.otlp.queue(events))
    return _answer(signal, content_type, refused)


# OTLP's partial success: how many records the receiver refused, and why (exporters log it; none retries).
_REJECTED = {"logs": "rejected_log_records", "traces": "rejected_spans"}


def _answer(signal: str, content_type: str, refused: Refused) -> Response:
    """The export's answer: empty when all was taken, else a partial success naming the refused records."""
    answer = _messages(signal)[1]()
    if refused.total:
        answer.partial_success.error_message = _refusal(signal, refused)
        setattr(answer.partial_success, _REJECTED[signal], refused.total)
    if content_type == PROTOBUF:
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    from google.protobuf.json_format import MessageToDict

    return JSONResponse(MessageToDict(answer))


def _refusal(signal: str, refused: Refused) -> str:
    """One line: how many records were not stored, and why."""
    kind = "span" if signal == "traces" else "log record"
    why = [f"{count} {what}" for count, what in (
        (refused.counts, "carried token counts that are not whole numbers >= 0"),
        (refused.ids, "carried a session id, model or request id the field rules refuse (a control character, "
                      "or over 200 characters)"),
        (refused.dear, "carried token counts whose cost a record cannot hold (over $1e9)")) if count]
    return (f"{refused.total} {kind}{'s' if refused.total > 1 else ''} not stored: {'; '.join(why)} "
            "(`sessionstats import otel` of the same export counts them malformed)")


ROUTES = [Route(f"/v1/{signal}", receive, methods=["POST"]) for signal in ("logs", "traces", "metrics")]
