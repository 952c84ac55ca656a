"""A usage record that names a key twice is malformed in every agent's log, as a JSON Lines import refuses it.

Which value counts would be anyone's guess: DuckDB's JSON functions take the first, Python's json and
JavaScript's JSON.parse the last, serde (Codex) refuses the line. No agent writes one; a hand-edited or
merged log can. Before, the DuckDB readers (Codex, Gemini .jsonl, Qwen, Claude Code) stored the first value
and the Python readers (Gemini .json, OpenCode, OTel) the last: the same line gave two different records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import table_of
from opencode_logs import create_database
from test_claude_code_lines import SOURCES

COUNT_KEYS = {"claude-code": "input_tokens", "codex": "input_tokens", "gemini": "input", "qwen": "promptTokenCount"}


def twice(line: bytes, key: str) -> bytes:
    """The line with `key`: 50 followed by `key`: 60 in the same object."""
    doubled, found = re.subn(rb'"%s": ?50' % key.encode(), b'"%s": 50, "%s": 60' % (key.encode(), key.encode()), line)
    assert found
    return doubled


def stored_inputs(cli) -> list[int]:
    return [row[0] for row in table_of(cli.db, "SELECT input_tokens FROM token_usage ORDER BY 1")]


@pytest.mark.parametrize("source", sorted(COUNT_KEYS))
def test_a_count_named_twice_makes_its_line_malformed_in_every_log_of_lines(cli, tmp_path: Path, source) -> None:
    relative, make = SOURCES[source]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    path.write_bytes(make(40) + b"\n" + twice(make(50), COUNT_KEYS[source]) + b"\n")
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]


def padded(line: bytes, key: str, extra: int) -> bytes:
    """The line with `extra` more keys before `key` in its object (no key named twice)."""
    keys = b"".join(b'"pad%d": 0, ' % number for number in range(extra))
    padded_line, found = re.subn(rb'"%s":' % key.encode(), keys + b'"%s":' % key.encode(), line)
    assert found
    return padded_line


@pytest.mark.parametrize("extra", [3, 31, 200])
@pytest.mark.parametrize("source", sorted(COUNT_KEYS))
def test_a_count_named_twice_among_many_keys_makes_its_line_malformed(cli, tmp_path: Path, source, extra) -> None:
    """Small objects are checked pairwise and big ones by their distinct keys: both find it, and neither
    refuses an object of as many keys named once."""
    relative, make = SOURCES[source]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    key = COUNT_KEYS[source]
    path.write_bytes(padded(make(40), key, extra) + b"\n" + twice(padded(make(50), key, extra), key) + b"\n")
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]


def test_a_count_named_twice_makes_its_gemini_json_session_malformed(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    good = {"sessionId": "g1", "messages": [{"id": "m1", "type": "gemini", "model": "gemini-2.5-pro",
                                             "tokens": {"input": 40, "output": 1}}]}
    (chats / "session-good.json").write_text(json.dumps(good))
    (chats / "session-twice.json").write_text(
        '{"sessionId": "g2", "messages": [{"id": "m1", "type": "gemini", "model": "gemini-2.5-pro", '
        '"tokens": {"input": 50, "input": 60, "output": 1}}]}')
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]


def test_a_count_named_twice_makes_its_opencode_step_malformed(cli, tmp_path: Path) -> None:
    con = create_database(tmp_path / "opencode" / "opencode.db")
    step = '{"role": "assistant", "modelID": "gpt-5", "tokens": {"input": %s, "output": 1}}'
    con.execute("INSERT INTO message VALUES ('msg_1', 'ses_1', 0, 0, ?)", (step % "40",))
    con.execute("INSERT INTO message VALUES ('msg_2', 'ses_1', 0, 0, ?)", (step % '50, "input": 60',))
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]


def test_a_count_named_twice_makes_its_otel_export_malformed(cli, tmp_path: Path) -> None:
    span = ('{"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{"traceId": "t%s", '
            '"spanId": "s1", "startTimeUnixNano": "1767312000000000000", "attributes": ['
            '{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-5"}}, '
            '{"key": "gen_ai.usage.input_tokens", "value": {"intValue": %s}}, '
            '{"key": "gen_ai.usage.output_tokens", "value": {"intValue": 1}}]}]}]}]}')
    path = tmp_path / "traces.jsonl"
    path.write_text(span % (1, 40) + "\n" + span % (2, '50, "intValue": 60') + "\n")
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]
