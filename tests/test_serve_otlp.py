"""The OTLP receiver, fed by the real OpenTelemetry SDK exporters (JSON and protobuf) over HTTP.

A `sessionstats serve` process listens on a free loopback port; the SDK exports to it as Claude Code and any
GenAI-instrumented app would. The Claude Code event is built from its documented attributes
(docs.anthropic.com/en/docs/claude-code/monitoring-usage: claude_code.api_request with model, input_tokens,
output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, session.id).
"""

from __future__ import annotations

import time

import pytest
from serve_helpers import serving

pytest.importorskip("opentelemetry.sdk", reason="the test extra's OpenTelemetry SDK is not installed")

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

pytestmark = [pytest.mark.file_only, pytest.mark.slow]
ENCODINGS = ("json", "protobuf")


def log_exporter(encoding: str, url: str):
    if encoding == "json":
        from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    return OTLPLogExporter(endpoint=f"{url}v1/logs", timeout=10)


def span_exporter(encoding: str, url: str):
    if encoding == "json":
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(endpoint=f"{url}v1/traces", timeout=10)


def claude_code_logger(encoding: str, url: str):
    provider = LoggerProvider(resource=Resource.create({"service.name": "claude-code"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter(encoding, url)))
    return provider, provider.get_logger("com.anthropic.claude_code.events")


def api_request(logger, session: str, sequence: int, **counts: int) -> None:
    logger.emit(body="claude_code.api_request", event_name="claude_code.api_request", timestamp=time.time_ns(),
                attributes={"event.name": "api_request", "event.timestamp": "2026-05-01T10:00:00.000Z",
                            "event.sequence": sequence, "session.id": session, "model": "claude-sonnet-4-5",
                            "cost_usd": 0.0123, "duration_ms": 1800, **counts})


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_claude_code_api_requests_are_recorded_live_once_each(db, cli, encoding):
    with serving(str(db)) as url:
        provider, logger = claude_code_logger(encoding, url)
        api_request(logger, "cc-session", 1, input_tokens=12, output_tokens=300, cache_read_tokens=4000,
                    cache_creation_tokens=500)
        api_request(logger, "cc-session", 2, input_tokens=8, output_tokens=100, cache_read_tokens=4500,
                    cache_creation_tokens=0)
        api_request(logger, "cc-session", 1, input_tokens=12, output_tokens=300, cache_read_tokens=4000,
                    cache_creation_tokens=500)  # the same event again (an exporter's retry): stored once
        logger.emit(body="claude_code.user_prompt", attributes={"event.name": "user_prompt",
                                                                "session.id": "cc-session", "prompt_length": 12})
        provider.shutdown()
        stats = cli.json("show", "cc-session")
    assert (stats["api_calls"], stats["input_tokens"], stats["output_tokens"]) == (2, 20, 400)
    assert (stats["cache_read_tokens"], stats["cache_write_tokens"]) == (8500, 500)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_genai_spans_are_recorded_with_input_made_uncached(db, cli, encoding):
    with serving(str(db)) as url:
        provider = TracerProvider(resource=Resource.create({"service.name": "story-generator"}))
        provider.add_span_processor(SimpleSpanProcessor(span_exporter(encoding, url)))
        tracer = provider.get_tracer("generator")
        # GenAI semantic conventions: input_tokens includes the cache reads (gen_ai.usage.cache_read.input_tokens).
        usage = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                 "gen_ai.response.model": "claude-sonnet-4-5", "gen_ai.response.id": "msg_1",
                 "gen_ai.conversation.id": "conv-7", "gen_ai.usage.input_tokens": 1500,
                 "gen_ai.usage.cache_read.input_tokens": 1000, "gen_ai.usage.output_tokens": 250}
        with tracer.start_as_current_span("chat claude-sonnet-4-5", attributes=usage), \
                tracer.start_as_current_span("not a model call", attributes={"http.method": "GET"}):
            pass
        provider.shutdown()
        stats = cli.json("show", "conv-7")
    assert (stats["api_calls"], stats["input_tokens"], stats["cache_read_tokens"], stats["output_tokens"]) == (
        1, 500, 1000, 250)


def test_metrics_and_exports_without_usage_are_accepted_and_store_nothing(db, cli):
    import httpx

    with serving(str(db)) as url:
        for path, body in (("v1/metrics", {"resourceMetrics": []}), ("v1/logs", {"resourceLogs": []}),
                           ("v1/traces", {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "GET /"}]}]}]})):
            answer = httpx.post(f"{url}{path}", json=body, timeout=10)
            assert (answer.status_code, answer.json()) == (200, {}), path
        refused = httpx.post(f"{url}v1/logs", content=b"\x00garbage", timeout=10,
                             headers={"content-type": "application/x-protobuf"})
        assert refused.status_code == 400  # never retried by an exporter, unlike 5xx
        assert httpx.post(f"{url}v1/logs", content=b"{}", timeout=10,
                          headers={"content-type": "text/plain"}).status_code == 400
        assert cli.json("list") == []


def test_a_gzip_compressed_export_is_read(db, cli):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    with serving(str(db)) as url:
        provider = LoggerProvider(resource=Resource.create({"service.name": "claude-code"}))
        exporter = OTLPLogExporter(endpoint=f"{url}v1/logs", timeout=10, compression=Compression.Gzip)
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        api_request(provider.get_logger("claude_code"), "gz-session", 1, input_tokens=3, output_tokens=4,
                    cache_read_tokens=0, cache_creation_tokens=0)
        provider.shutdown()
        assert cli.json("show", "gz-session")["total_tokens"] == 7


def test_an_event_with_a_count_no_one_can_bill_is_a_partial_success_naming_it(db, cli):
    import httpx
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
        ExportLogsServiceResponse,
    )

    def event(sequence: int, input_tokens: str) -> dict:
        return {"body": {"stringValue": "claude_code.api_request"}, "timeUnixNano": "1777629600000000000",
                "attributes": [{"key": k, "value": v} for k, v in (
                    ("event.name", {"stringValue": "api_request"}), ("session.id", {"stringValue": "cc-session"}),
                    ("model", {"stringValue": "claude-sonnet-4-5"}), ("input_tokens", {"intValue": input_tokens}),
                    ("output_tokens", {"intValue": "3"}), ("event.sequence", {"intValue": str(sequence)}))]}

    export = {"resourceLogs": [{"scopeLogs": [{"logRecords": [event(1, "12"), event(2, "-5"), event(3, "-1")]}]}]}
    said = ("2 log records not stored: 2 carried token counts that are not whole numbers >= 0 "
            "(`sessionstats import otel` of the same export counts them malformed)")
    with serving(str(db)) as url:
        # 200 all the same (a retry would be refused the same way); the good event is stored, once.
        answer = httpx.post(f"{url}v1/logs", json=export, timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"partialSuccess": {"rejectedLogRecords": "2",
                                                                                 "errorMessage": said}})
        sent = ParseDict(export, ExportLogsServiceRequest()).SerializeToString()
        answer = httpx.post(f"{url}v1/logs", content=sent, timeout=10,
                            headers={"content-type": "application/x-protobuf"})
        assert answer.status_code == 200
        partial = ExportLogsServiceResponse.FromString(answer.content).partial_success
        assert (partial.rejected_log_records, partial.error_message) == (2, said)
        assert cli.json("show", "cc-session")["api_calls"] == 1


def test_an_export_naming_a_key_twice_is_refused_whole_as_its_file_copy_is_malformed(db, cli):
    import httpx

    body = ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "spanId": "s", "attributes": ['
            '{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5", "intValue": "500"}}]}]}]}]}')
    with serving(str(db)) as url:
        answer = httpx.post(f"{url}v1/traces", content=body, timeout=10,
                            headers={"content-type": "application/json"})
        assert (answer.status_code, answer.json()) == (400, {
            "error": "body: not JSON (key 'intValue' appears twice in the object)", "field": "body"})
        assert cli.json("list") == []
