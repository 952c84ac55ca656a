"""Import OpenTelemetry files: OTLP JSON as the Collector's file exporter (and agents exporting to a file) writes.

Each line is an ExportTraceServiceRequest ({"resourceSpans": ...}), an ExportLogsServiceRequest
({"resourceLogs": ...}), or one span as the OpenTelemetry JS SDK serialises it, attributes a plain object and
`startTime` [seconds, nanoseconds] (Copilot Chat's COPILOT_OTEL_FILE_EXPORTER_PATH: its fileExporters.ts).
Usage comes from spans with the GenAI semantic conventions (not from agent spans, `invoke_agent`, whose usage
sums the `chat` spans inside them) and from Claude Code's
`claude_code.api_request` log events. `otlp_usage` maps one such document to token events and is all a
live OTLP receiver needs. A span is known by (trace id, span id) and a log event by its session, time and
sequence number, so a file read twice, or two files holding the same export, store each call once.
GenAI `input_tokens` includes the cache reads and writes (`cache_read.input_tokens`,
`cache_creation.input_tokens`) and `output_tokens` the reasoning; an exporter that reports input without
its cache (input smaller than the cache counts) is taken as it is. Claude Code's `input_tokens` are
uncached, as in Anthropic's API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.ingest.agent_import import (
    Coverage,
    SourceSummary,
    UsageEvent,
    files_changing,
    note_unfinished,
    read_lines,
    store_events,
    unread_parts,
)
from sessionstats.ingest.log_files import LogFile, Slice, expanded
from sessionstats.ingest.log_values import known_provider, parse_object, stated_cost, token_count, utc_time
from sessionstats.ingest.writing import StepReporter
from sessionstats.store import Store

SOURCE = "otel"
_CLAUDE_EVENT = "claude_code.api_request"
_GENAI = "gen_ai.usage."
# GenAI agent spans: their usage is the sum of the model calls made inside them (each its own `chat` span),
# so it is never a call of its own (Copilot Chat's invoke_agent spans carry it: docs/monitoring/agent_monitoring.md).
_AGENT_OPERATIONS = ("invoke_agent", "create_agent")


def import_otel(store: Store, files: Sequence[str], *, user: str, on_step: StepReporter | None = None,
                remember: bool = True) -> SourceSummary:
    """Import the usage in OTLP JSON files not read before (`remember=False`: read whole, e.g. a stdin copy)."""
    step = on_step or (lambda _: None)
    paths = [expanded(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InvalidInput(f"FILE: {missing[0]!r} is not a file")
    parts = unread_parts(store, user, SOURCE, paths) if remember else [_whole(p) for p in paths]
    coverage = Coverage(files_found=len(paths))
    events: list[UsageEvent] = []
    step("reading")
    with files_changing(SOURCE):
        for part in parts:
            if part.end > part.start:
                coverage.files_read += 1
                events += _read_part(part, coverage)
    note_unfinished(coverage, parts)
    return store_events(store, events, user=user, source=SOURCE, coverage=coverage, step=step,
                        parts=parts if remember else ())


def _whole(path: Path) -> Slice:
    size = path.stat().st_size
    return Slice(LogFile(path, "", ""), 0, size, size, 0)


def _read_part(part: Slice, coverage: Coverage) -> list[UsageEvent]:
    events: list[UsageEvent] = []
    for raw in read_lines(part, coverage):
        document = parse_object(raw)
        if document is None:
            coverage.malformed += 1
            continue
        events += otlp_usage(document, coverage)
    return events


def otlp_usage(document: Mapping[str, Any], coverage: Coverage) -> list[UsageEvent]:
    """The token events in one OTLP JSON export (traces or logs), or in one span as the OpenTelemetry JS SDK
    serialises it (Copilot Chat's file exporter), counting what was seen and not understood."""
    if {"resourceSpans", "resourceLogs"} & set(document):
        records = list(_records(document))
    elif _is_sdk_span(document):
        records = [(attribute_map(_dict(document.get("resource")).get("attributes")), _sdk_span(document), True)]
    elif isinstance(document.get("attributes"), dict) and "hrTime" in document:
        return []  # a log record as the JS SDK serialises it: Copilot's events repeat its chat spans' usage
    else:
        coverage.unrecognised["(not resourceSpans or resourceLogs)"] += 1
        return []
    found = []
    for resource, record, is_span in records:
        try:
            event = _span_event(resource, record) if is_span else _log_event(resource, record)
        except InvalidInput:
            coverage.malformed += 1
            continue
        except _AgentTotal:  # a copy of its calls' counts, as a duplicate line is
            coverage.events += 1
            coverage.copies_dropped += 1
            continue
        if event is not None:
            coverage.events += 1
            found.append(event)
    return found


def _records(document: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any], bool]]:
    """(resource attributes, span or log record, whether it is a span) for every record in the export."""
    for kind, scopes, items in (("resourceSpans", "scopeSpans", "spans"), ("resourceLogs", "scopeLogs",
                                                                             "logRecords")):
        for resource in _list(document.get(kind)):
            attributes = attribute_map(_dict(resource.get("resource")).get("attributes"))
            for scope in _list(resource.get(scopes)):
                for record in _list(scope.get(items)):
                    yield attributes, record, kind == "resourceSpans"


def _is_sdk_span(record: Mapping[str, Any]) -> bool:
    """A span as the JS SDK's ReadableSpan serialises: ids, a name and attributes as a plain object."""
    ids = record if "spanId" in record else _dict(record.get("spanContext"))
    return isinstance(record.get("attributes"), dict) and "spanId" in ids and "name" in record


def _sdk_span(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SDK span in OTLP's shape: its ids at the top, `startTime` ([seconds, nanoseconds]) as unix nanoseconds."""
    ids = record if "spanId" in record else _dict(record.get("spanContext"))
    start = record.get("startTime")
    nanos = (start[0] * 1_000_000_000 + start[1] if isinstance(start, list) and len(start) == 2
             and all(type(part) is int for part in start) else None)
    return {"traceId": ids.get("traceId"), "spanId": ids.get("spanId"), "attributes": record.get("attributes"),
            "startTimeUnixNano": nanos}


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def attribute_map(attributes: object) -> dict[str, Any]:
    """OTLP JSON attributes ([{key, value: {stringValue | intValue | doubleValue | boolValue}}]) as a dict; the JS
    SDK's plain object of them as it is."""
    if isinstance(attributes, dict):
        return {str(key): value for key, value in attributes.items()}
    found: dict[str, Any] = {}
    for item in _list(attributes):
        value = _dict(item.get("value"))
        for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if kind in value:
                found[str(item.get("key"))] = value[kind]
                break
    return found


def _span_event(resource: dict[str, Any], span: dict[str, Any]) -> UsageEvent | None:
    """A GenAI span with token usage: input made uncached, reasoning left inside output."""
    attributes = attribute_map(span.get("attributes"))
    if f"{_GENAI}input_tokens" not in attributes and f"{_GENAI}output_tokens" not in attributes:
        return None
    if attributes.get("gen_ai.operation.name") in _AGENT_OPERATIONS:
        raise _AgentTotal
    counts = {name: token_count(attributes, f"{_GENAI}{name}") for name in (
        "input_tokens", "output_tokens", "cache_read.input_tokens", "cache_creation.input_tokens")}
    read, write = counts["cache_read.input_tokens"], counts["cache_creation.input_tokens"]
    uncached = counts["input_tokens"] - read - write if counts["input_tokens"] >= read + write \
        else counts["input_tokens"]
    session = (attributes.get("gen_ai.conversation.id") or attributes.get("session.id")
               or resource.get("session.id") or span.get("traceId"))
    model = attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")
    provider = attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system")
    return UsageEvent(str(session), _name(resource), f"otel:span:{span.get('traceId')}:{span.get('spanId')}",
                      str(model) if model else None, _nanos(span.get("startTimeUnixNano")), uncached,
                      counts["output_tokens"], cache_read_tokens=read, cache_write_tokens=write,
                      provider=known_provider(provider))


def _log_event(resource: dict[str, Any], record: dict[str, Any]) -> UsageEvent | None:
    """Claude Code's api_request event: its counts are Anthropic's (input without the cache); `cost_usd` is what
    Claude Code worked out the call cost, kept as the reported cost as its logs' costUSD is."""
    attributes = attribute_map(record.get("attributes"))
    body = _dict(record.get("body")).get("stringValue")
    if _CLAUDE_EVENT not in (body, attributes.get("event.name"), f"claude_code.{attributes.get('event.name')}"):
        return None
    session = attributes.get("session.id") or resource.get("session.id") or "claude-code"
    when = record.get("timeUnixNano") or record.get("observedTimeUnixNano")
    identity = f"{session}:{attributes.get('event.timestamp') or when}:{attributes.get('event.sequence', '')}"
    created = utc_time(attributes.get("event.timestamp")) or _nanos(when)
    return UsageEvent(str(session), _name(resource), f"otel:log:{identity}", _text(attributes.get("model")),
                      created, token_count(attributes, "input_tokens"), token_count(attributes, "output_tokens"),
                      cache_read_tokens=token_count(attributes, "cache_read_tokens"),
                      cache_write_tokens=token_count(attributes, "cache_creation_tokens"), provider="anthropic",
                      reported_cost=stated_cost(attributes.get("cost_usd")))


class _AgentTotal(Exception):
    """A span whose usage totals the model calls inside it."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _name(resource: dict[str, Any]) -> str | None:
    return _text(resource.get("service.name"))


def _nanos(value: object) -> Any:
    """OTLP's unix nanoseconds (a string in JSON) as naive UTC."""
    try:
        return utc_time(int(str(value)) / 1_000_000) if value is not None else None
    except ValueError:
        return None
