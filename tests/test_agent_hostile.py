"""Hostile lines in any agent's logs end as counted malformed lines, never as a traceback or a wrong record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import table_of

DEEP = b"[" * 200_000 + b"]" * 200_000
HOSTILE_LINES = [DEEP, b"\xff\xfe\x00garbage", b'"just a string"', b"12", b"null", b"{\"a\": NaN}", b"{",
                 b'{"type": 7}']


def codex_line(count: object) -> dict:
    usage = {"input_tokens": count, "cached_input_tokens": 0, "output_tokens": 1, "reasoning_output_tokens": 0,
             "total_tokens": 1}
    return {"timestamp": "2026-01-01T00:00:00Z", "type": "event_msg",
            "payload": {"type": "token_count", "info": {"last_token_usage": usage, "total_token_usage": usage}}}


def gemini_line(count: object) -> dict:
    return {"id": f"m{count!s:.20}", "type": "gemini", "model": "gemini-2.5-pro",
            "tokens": {"input": count, "output": 1}}


def qwen_line(count: object) -> dict:
    return {"uuid": f"u{count!s:.20}", "sessionId": "s", "type": "assistant", "model": "qwen3-coder-plus",
            "usageMetadata": {"promptTokenCount": count, "candidatesTokenCount": 1}}


SOURCES = {
    "codex": ("sessions/2026/01/01/rollout-2026-01-01T00-00-00-x.jsonl", codex_line),
    "gemini": ("proj/chats/session-2026-01-01T00-00-x.jsonl", gemini_line),
    "qwen": ("projects/p/chats/s.jsonl", qwen_line),
}
BAD_COUNTS = [float("nan"), float("inf"), -5, 1.5, 10**30, "12a", True, [1], {"n": 1}]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_hostile_lines_and_counts_are_malformed_and_nothing_is_stored(cli, tmp_path: Path, source: str) -> None:
    relative, make = SOURCES[source]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    lines = [*HOSTILE_LINES, *(json.dumps(make(count)).encode() for count in BAD_COUNTS)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]
    assert "malformed lines skipped" in result.stderr
    strict = cli("import", source, "--strict", str(tmp_path / "root"))
    assert strict.exit_code == 0  # nothing new to read: no drift to report the second time


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_good_line_among_hostile_ones_is_stored_exactly(cli, tmp_path: Path, source: str) -> None:
    relative, make = SOURCES[source]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\n".join([*HOSTILE_LINES, json.dumps(make(40)).encode()]) + b"\n")
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT input_tokens, output_tokens FROM token_usage") == [(40, 1)]


def test_an_otel_file_of_hostile_lines_is_malformed_not_a_crash(cli, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    span = {"traceId": "t", "spanId": "s", "attributes": [
        {"key": "gen_ai.usage.input_tokens", "value": {"doubleValue": "NaN"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "99999999999999999999999"}}]}
    document = {"resourceSpans": [{"resource": {"attributes": "not a list"}, "scopeSpans": [{"spans": [span, 7]}]}]}
    path.write_bytes(b"\n".join([*HOSTILE_LINES, json.dumps(document).encode()]) + b"\n")
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]
