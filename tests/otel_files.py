"""Write OTLP JSON as the OpenTelemetry Collector's file exporter does (one export request per line).

Shapes from the OTLP/JSON encoding (opentelemetry-proto, ExportTraceServiceRequest/ExportLogsServiceRequest:
int64 values are strings, attributes are [{key, value: {stringValue | intValue | doubleValue}}]), the GenAI
semantic conventions (gen_ai.usage.input_tokens includes cache_read/cache_creation.input_tokens) and
Claude Code's monitoring docs (event claude_code.api_request: model, input_tokens, output_tokens,
cache_read_tokens, cache_creation_tokens, cost_usd, session.id, event.timestamp, event.sequence).
"""

from __future__ import annotations

import json
from typing import Any


def value_of(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def attributes(**values: Any) -> list[dict[str, Any]]:
    return [{"key": key.replace("__", "."), "value": value_of(v)} for key, v in values.items()]


def genai_span(trace: str, span: str, *, model: str, inp: int, out: int, read: int = 0, write: int = 0,
               conversation: str = "conv-1", start_ns: int = 1_767_312_000_000_000_000) -> dict[str, Any]:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
             "gen_ai.response.model": model, "gen_ai.response.id": f"resp-{span}",
             "gen_ai.conversation.id": conversation, "gen_ai.usage.input_tokens": inp,
             "gen_ai.usage.output_tokens": out}
    if read:
        attrs["gen_ai.usage.cache_read.input_tokens"] = read
    if write:
        attrs["gen_ai.usage.cache_creation.input_tokens"] = write
    return {"traceId": trace, "spanId": span, "name": f"chat {model}", "kind": 3,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + 900_000_000),
            "attributes": [{"key": k, "value": value_of(v)} for k, v in attrs.items()], "status": {}}


def traces(*spans: dict[str, Any], service: str = "copilot-cli") -> str:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": attributes(service__name=service)},
        "scopeSpans": [{"scope": {"name": "github.copilot"}, "spans": list(spans)}]}]})


def api_request(session: str, sequence: int, *, model: str, inp: int, out: int, read: int, write: int,
                cost: float, when: str = "2026-01-02T10:00:00.000Z") -> dict[str, Any]:
    attrs = {"event.name": "api_request", "event.timestamp": when, "event.sequence": sequence,
             "session.id": session, "model": model, "input_tokens": inp, "output_tokens": out,
             "cache_read_tokens": read, "cache_creation_tokens": write, "cost_usd": cost, "duration_ms": 2100}
    return {"timeUnixNano": "1767348000000000000", "observedTimeUnixNano": "1767348000000000000",
            "severityNumber": 9, "body": {"stringValue": "claude_code.api_request"},
            "attributes": [{"key": k, "value": value_of(v)} for k, v in attrs.items()]}


def logs(*records: dict[str, Any], service: str = "claude-code") -> str:
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": attributes(service__name=service)},
        "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": list(records)}]}]})
