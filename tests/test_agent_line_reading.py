"""How the agent importers split their logs into lines: one bad line is one malformed line, never two.

A crash can leave a line cut short in the middle of a log (the agent then appends on the next line).
A JSON reader that treats the newline as whitespace reads the cut line on into the next one and loses
both; the importers count the cut line as malformed and read the next one.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import table_of


def compact(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


def codex_line(kind: str, payload: dict, at: str = "2025-10-05T10:00:00Z") -> str:
    return compact({"timestamp": at, "type": kind, "payload": payload})


def codex_call(total: int, at: str) -> str:
    usage = {"input_tokens": total, "cached_input_tokens": 0, "output_tokens": 1, "reasoning_output_tokens": 0,
             "total_tokens": total + 1}
    return codex_line("event_msg", {"type": "token_count", "info": {"last_token_usage": usage,
                                                                   "total_token_usage": usage}}, at)


def test_a_codex_line_cut_after_a_colon_does_not_hide_the_turn_context_after_it(cli, tmp_path: Path) -> None:
    log = tmp_path / "codex" / "sessions" / "2025" / "10" / "05" / "rollout-2025-10-05T10-00-00-s.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text("\n".join([codex_line("session_meta", {"id": "s1", "cwd": "/w"}),
                              '{"timestamp":"2025-10-05T10:00:01Z","type":"event_msg","payload":',
                              codex_line("turn_context", {"model": "gpt-5-mini"}),
                              codex_call(100, "2025-10-05T10:00:02Z")]) + "\n")
    result = cli("import", "codex", str(tmp_path / "codex"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert "priced as gpt-5" not in result.stderr  # the model came from the line after the cut one
    assert table_of(cli.db, "SELECT session_id, model, input_tokens FROM token_usage") == [("s1", "gpt-5-mini", 100)]


def test_a_qwen_line_cut_short_and_a_line_that_is_not_utf8_are_each_one_malformed_line(cli, tmp_path: Path) -> None:
    chat = tmp_path / "qwen" / "projects" / "p" / "chats" / "s.jsonl"
    chat.parent.mkdir(parents=True)
    reply = {"uuid": "u1", "sessionId": "s", "type": "assistant", "model": "qwen3-coder-plus", "cwd": "/p",
             "timestamp": "2026-04-01T08:00:00Z", "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2}}
    chat.write_bytes(b'{"uuid":"u0","type":"assistant","usageMetadata":\n' + compact(reply).encode() + b"\n"
                     + b'{"uuid":"u2","sessionId":"s\xff","type":"assistant"}\n')
    result = cli("import", "qwen", str(tmp_path / "qwen"))
    assert result.exit_code == 0, result.stderr
    assert "2 malformed lines skipped" in result.stderr
    assert table_of(cli.db, "SELECT request_id, input_tokens, output_tokens FROM token_usage") == [("qwen:u1", 10, 2)]


def test_a_gemini_reply_after_a_cut_line_keeps_its_tokens(cli, tmp_path: Path) -> None:
    chats = tmp_path / "gemini" / "app" / "chats"
    chats.mkdir(parents=True)
    reply = {"id": "m1", "type": "gemini", "timestamp": "2026-05-01T10:00:00Z", "model": "gemini-2.5-flash",
             "tokens": {"input": 100, "output": 10, "cached": 40, "thoughts": 5, "tool": 0}}
    (chats / "session-2026-05-01T10-00-x.jsonl").write_text(
        compact({"sessionId": "g1", "directories": ["/home/me/app"]}) + "\n"
        + '{"id":"m0","type":"gemini","tokens":\n' + compact(reply) + "\n")
    result = cli("import", "gemini", str(tmp_path / "gemini"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    # cached 40 is part of input 100; thoughts 5 are billed as output
    assert table_of(cli.db, """SELECT session_id, input_tokens, cache_read_tokens, output_tokens
                               FROM token_usage""") == [("g1", 60, 40, 15)]
