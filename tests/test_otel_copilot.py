"""Copilot Chat's OpenTelemetry as it writes it: one span a line in the JS SDK's shape (its file exporter), and
`invoke_agent` spans whose usage is the sum of the `chat` spans inside them.

Written from microsoft/vscode-copilot-chat: src/platform/otel/node/fileExporters.ts (serializeSpan: resource
attributes and span attributes as plain objects, traceId and spanId at the top, startTime as [seconds,
nanoseconds]) and docs/monitoring/agent_monitoring.md (invoke_agent wraps the LLM calls and carries
gen_ai.usage.input_tokens / output_tokens of them all; one `chat` span per call).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import table_of
from otel_files import genai_span, traces

CONVERSATION = "a1b2c3d4-0000-4000-8000-000000000001"


def sdk_span(span_id: str, name: str, operation: str, inp: int, out: int, start: int) -> dict:
    """A span as Copilot Chat's FileSpanExporter writes it (serializeSpan)."""
    return {"resource": {"attributes": {"service.name": "copilot-chat", "service.version": "0.30.0",
                                        "session.id": "window-1"}},
            "instrumentationScope": {"name": "copilot-chat"}, "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "spanId": span_id, "traceFlags": 1, "parentSpanId": "0" * 16 if operation == "chat" else None,
            "name": name, "kind": 2 if operation == "chat" else 0, "startTime": [start, 250_000_000],
            "endTime": [start + 3, 0], "duration": [3, 0], "status": {"code": 0},
            "attributes": {"gen_ai.operation.name": operation, "gen_ai.provider.name": "github",
                           "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
                           "gen_ai.conversation.id": CONVERSATION, "gen_ai.usage.input_tokens": inp,
                           "gen_ai.usage.output_tokens": out},
            "links": [], "events": [], "ended": True, "droppedAttributesCount": 0, "droppedEventsCount": 0,
            "droppedLinksCount": 0}


def test_copilot_chats_file_export_gives_each_chat_call_once(cli, tmp_path: Path) -> None:
    path = tmp_path / "copilot-otel.jsonl"
    lines = [sdk_span("00f067aa0ba902b7", "chat gpt-4o", "chat", 1_500, 250, 1_767_312_000),
             sdk_span("00f067aa0ba902b8", "execute_tool readFile", "execute_tool", 0, 0, 1_767_312_004) | {
                 "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "readFile"}},
             sdk_span("00f067aa0ba902b9", "chat gpt-4o", "chat", 2_000, 400, 1_767_312_005),
             sdk_span("00f067aa0ba902b6", "invoke_agent copilot", "invoke_agent", 3_500, 650, 1_767_311_999)]
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    assert "1 duplicates skipped" in result.stderr  # the invoke_agent span's total of the two calls
    assert table_of(cli.db, """SELECT session_id, model, input_tokens, output_tokens, created_at
                               FROM token_usage ORDER BY created_at""") == [
        (CONVERSATION, "gpt-4o-2024-08-06", 1_500, 250, datetime(2026, 1, 2, 0, 0, 0, 250_000)),
        (CONVERSATION, "gpt-4o-2024-08-06", 2_000, 400, datetime(2026, 1, 2, 0, 0, 5, 250_000))]


@pytest.mark.parametrize("operation", ["invoke_agent", "create_agent"])
def test_an_agent_span_in_an_otlp_export_is_not_a_call_of_its_own(cli, tmp_path: Path, operation: str) -> None:
    call = genai_span("t1", "s2", model="gpt-4o", inp=1_000, out=100)
    agent = genai_span("t1", "s1", model="gpt-4o", inp=1_000, out=100)
    agent["attributes"].append({"key": "gen_ai.operation.name", "value": {"stringValue": operation}})
    path = tmp_path / "traces.jsonl"
    path.write_text(traces(call, agent) + "\n")
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT request_id, input_tokens FROM token_usage") == [("otel:span:t1:s2", 1_000)]


def test_copilot_chats_log_records_are_known_and_repeat_no_call(cli, tmp_path: Path) -> None:
    # FileLogExporter writes JSON.stringify(ReadableLogRecord): hrTime, attributes as a plain object, body.
    event = {"hrTime": [1_767_312_003, 0], "hrTimeObserved": [1_767_312_003, 0], "severityNumber": 9,
             "body": "GenAI inference: gpt-4o", "resource": {"attributes": {"service.name": "copilot-chat"}},
             "attributes": {"event.name": "gen_ai.client.inference.operation.details",
                            "gen_ai.usage.input_tokens": 1_500, "gen_ai.usage.output_tokens": 250}}
    path = tmp_path / "copilot-logs.jsonl"
    path.write_text(json.dumps(event) + "\n")
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    assert "types this version does not read" not in result.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") in ([], [(0,)])
