"""A bad model or request id in an agent's log is one malformed call, by the store's own rules, in the Python
and the DuckDB readers alike; a request id the import makes never outgrows what the store keeps.

The store keeps models and request ids as ids (no control character, at most 200 characters): a model like
'gpt\\x01-5' or 300 characters long passed the readers' checks and then refused the whole import (exit 2); and
a request id made of a long but valid session id (`codex:<session>:<totals>`) did the same."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import table_of
from gemini_logs import write_session
from opencode_logs import create_database
from test_claude_code_lines import SOURCES

MODELS = ["gpt\u0001-5", " gemini-2.5-pro ", "GEMINI-2.5-PRO", "", "m" * 300, "m" * 200, "a\u200bb", "m\u0085n",
          "\u00a0"]
STORED = [11, 12, 13, 15, 18]  # the input tokens (10 + place) of the calls kept (a blank model is none)


def gemini_messages() -> list[dict]:
    return [{"id": f"m{n}", "type": "gemini", "model": model, "tokens": {"input": 10 + n, "output": 1}}
            for n, model in enumerate(MODELS)]


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_a_model_the_store_would_refuse_is_one_malformed_call_in_both_gemini_formats(
        cli, tmp_path: Path, kind: str) -> None:
    chats = tmp_path / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    metadata = {"sessionId": "g", "projectHash": "h"}
    write_session(chats / f"session-g.{kind}", metadata, gemini_messages())
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert "4 malformed lines skipped" in result.stderr  # the control and zero-width characters, the 300 characters
    assert "2 calls logged no model: stored without one, their cost unknown" in result.stderr
    assert [row[0] for row in table_of(cli.db, "SELECT input_tokens FROM token_usage ORDER BY 1")] == [
        n + 10 for n in range(len(MODELS)) if n + 10 in STORED] == STORED


def codex_rollout(path: Path, session: str) -> None:
    usage = {"input_tokens": 5, "cached_input_tokens": 0, "output_tokens": 1, "reasoning_output_tokens": 0,
             "total_tokens": 6}
    lines = [{"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": session, "cwd": "/p"}},
             {"timestamp": "2026-01-01T00:00:01Z", "type": "turn_context", "payload": {"model": "gpt-5"}},
             {"timestamp": "2026-01-01T00:00:02Z", "type": "event_msg",
              "payload": {"type": "token_count", "info": {"last_token_usage": usage, "total_token_usage": usage}}}]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_a_long_session_id_gives_a_request_id_the_store_keeps_and_a_rerun_adds_nothing(cli, tmp_path: Path) -> None:
    session = "s" * 200  # as long as an id may be: `codex:<it>:5,0,1,0,6` is not
    codex_rollout(tmp_path / "codex" / "sessions" / "2026" / "01" / "01" / "rollout-2026-01-01T00-00-00-a.jsonl",
                  session)
    result = cli("import", "codex", str(tmp_path / "codex"))
    assert result.exit_code == 0, result.stderr
    key = "codex:sha256:" + hashlib.sha256(f"codex:{session}:5,0,1,0,6".encode()).hexdigest()
    assert table_of(cli.db, "SELECT session_id, request_id FROM token_usage") == [(session, key)]
    (tmp_path / "codex" / "sessions" / "2026" / "01" / "01" / "rollout-2026-01-01T00-00-00-a.jsonl").touch()
    again = cli("import", "codex", str(tmp_path / "codex"))
    assert again.exit_code == 0, again.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(1,)]


def test_a_long_message_id_in_opencode_gives_the_same_kind_of_request_id(cli, tmp_path: Path) -> None:
    message = "msg_" + "x" * 250
    con = create_database(tmp_path / "opencode" / "opencode.db")
    data = {"role": "assistant", "modelID": "gpt\u0001-5", "tokens": {"input": 9, "output": 1}}
    con.execute("INSERT INTO message VALUES ('msg_bad', 'ses_1', 0, 0, ?)", (json.dumps(data),))
    con.execute("INSERT INTO message VALUES (?, 'ses_1', 0, 0, ?)", (message, json.dumps({**data, "modelID": "gpt-5"})))
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    key = "opencode:sha256:" + hashlib.sha256(f"opencode:{message}".encode()).hexdigest()
    assert table_of(cli.db, "SELECT request_id, model FROM token_usage") == [(key, "gpt-5")]


def test_claude_code_applies_the_same_rules_line_by_line(cli, tmp_path: Path) -> None:
    def line(message_id: str, model: str, inp: int) -> str:
        return json.dumps({"type": "assistant", "sessionId": "s1", "requestId": f"req_{inp}",
                           "timestamp": "2026-01-01T00:00:00Z",
                           "message": {"id": message_id, "model": model,
                                       "usage": {"input_tokens": inp, "output_tokens": 1}}})

    log = tmp_path / "claude" / "projects" / "-home-me-app" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    long_id = "msg_" + "c" * 300
    log.write_text("\n".join([line("msg_a", "claude-sonnet-4-5", 40), line("msg_b", "claude\u0001x", 50),
                              line(long_id, "claude-sonnet-4-5", 60)]) + "\n")
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    # too long to keep: the message id's own hash leads (a replay under another requestId is found by it)
    key = (f"sha256-{hashlib.sha256(long_id.encode()).hexdigest()}:sha256:"
           + hashlib.sha256(f"{long_id}:req_60".encode()).hexdigest())
    assert table_of(cli.db, "SELECT input_tokens, request_id FROM token_usage ORDER BY 1") == [
        (40, "msg_a:req_40"), (60, key)]


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_a_reply_with_tokens_but_no_model_is_kept_unpriced_and_said(cli, tmp_path: Path, kind: str) -> None:
    # Gemini CLI's recordMessage sets `model` from its caller, undefined for a synthetic message; the tokens
    # queued from the API's usageMetadata are attached all the same (chatRecordingService.ts).
    chats = tmp_path / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    messages = [{"id": "m1", "type": "gemini", "tokens": {"input": 70, "output": 3}},
                {"id": "m2", "type": "gemini", "model": "gemini-2.5-pro", "tokens": {"input": 80, "output": 4}}]
    metadata = {"sessionId": "g", "projectHash": "h"}
    write_session(chats / f"session-g.{kind}", metadata, messages)
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert "gemini: 1 calls logged no model: stored without one, their cost unknown" in result.stderr
    assert table_of(cli.db, "SELECT input_tokens, model, cost_source FROM token_usage ORDER BY 1") == [
        (70, None, "unknown"), (80, "gemini-2.5-pro", "estimated")]


@pytest.mark.parametrize("source", sorted(set(SOURCES) - {"qwen"}))  # qwen3-coder-plus has no price: no cost at all
def test_a_call_too_dear_for_a_record_is_a_malformed_line_not_a_refused_history(cli, tmp_path: Path, source) -> None:
    """9e18 input tokens fit a count, yet cost trillions at the model's price (a record must cost under $1e9):
    the line is skipped and counted and the rest of the log stored, where the whole import was refused."""
    relative, make = SOURCES[source]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    path.write_bytes(make(40) + b"\n" + make(9 * 10**18) + b"\n")
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(cli.db, "SELECT input_tokens FROM token_usage") == [(40,)]


@pytest.mark.parametrize("key", ["service_tier", "speed"])
@pytest.mark.parametrize("value", ["x" * 1001, "a\u0000b"])
def test_a_tier_or_speed_the_label_rule_refuses_is_a_malformed_claude_code_line(cli, tmp_path: Path, key,
                                                                                  value) -> None:
    """record-tokens refuses such a --service-tier or --speed (validate.check_label); the Claude Code import
    stored it as it came. Now the line is malformed, and a tier at the rule's limit is kept."""
    relative, make = SOURCES["claude-code"]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    lines = []
    for count, given in ((40, "y" * 1000), (50, value)):
        line = json.loads(make(count))
        line["message"]["usage"][key] = given
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n")
    result = cli("import", "claude-code", str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(cli.db, f"SELECT input_tokens, length({key}) FROM token_usage") == [(40, 1000)]


def test_a_tier_over_the_label_limit_is_refused_naming_its_option(cli) -> None:
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--service-tier", "x" * 1001)
    assert result.exit_code == 2
    assert result.stderr == "sessionstats: --service-tier: is 1,001 characters long (at most 1,000)\n"
