"""OpenCode's v2 messages: table session_message(id, session_id, type, seq, time_created, data), written from
packages/core/src/session-message.ts (anomalyco/opencode): an assistant's data is {agent, model: {id,
providerID}, content, cost, tokens: {input, output, reasoning, cache: {read, write}}, time: {created,
completed}} (type and id are columns). Older messages adopted there keep their ids (the legacy adoption in
session input) and must count once."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

from conftest import table_of
from opencode_logs import create_database

V2_TABLE = """CREATE TABLE session_message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL,
                                             seq INTEGER, time_created INTEGER, time_updated INTEGER,
                                             data TEXT NOT NULL)"""


def v2_assistant(tokens: dict, cost: float = 0.0) -> str:
    return json.dumps({"agent": "build", "model": {"id": "claude-sonnet-4-5", "providerID": "anthropic"},
                       "content": [{"type": "text", "text": "done"}], "finish": "stop", "cost": cost,
                       "tokens": tokens, "time": {"created": 1767312000000, "completed": 1767312000900}})


def test_v2_assistant_messages_are_read_and_adopted_copies_count_once(cli, tmp_path: Path) -> None:
    con = create_database(tmp_path / "opencode" / "opencode.db")
    con.execute(V2_TABLE)
    con.execute("INSERT INTO session VALUES ('ses_1', 'proj', NULL, 's', '/home/me/site', 't', '1.9', 0, 0)")
    v1 = {"role": "assistant", "modelID": "claude-sonnet-4-5", "providerID": "anthropic", "cost": 0,
          "time": {"created": 1767312000000}, "tokens": {"input": 100, "output": 10, "reasoning": 0,
                                                         "cache": {"read": 1000, "write": 0}}}
    con.execute("INSERT INTO message VALUES ('msg_1', 'ses_1', 0, 0, ?)", (json.dumps(v1),))
    adopted = v2_assistant(v1["tokens"])
    own = v2_assistant({"input": 200, "output": 20, "reasoning": 5, "cache": {"read": 2000, "write": 300}}, 0.25)
    rows = [("msg_1", "assistant", adopted), ("msg_2", "user", json.dumps({"text": "hi", "time": {"created": 1}})),
            ("msg_3", "assistant", own), ("msg_4", "compaction", json.dumps({"summary": "s", "time": {"created": 1}})),
            ("msg_5", "assistant", v2_assistant({"input": 0, "output": 0, "reasoning": 0,
                                                  "cache": {"read": 0, "write": 0}}))]
    con.executemany("INSERT INTO session_message VALUES (?, 'ses_1', ?, 0, 0, 0, ?)", rows)
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 duplicates skipped" in result.stderr  # msg_1's copy in session_message
    assert table_of(cli.db, """SELECT request_id, model, input_tokens, output_tokens, cache_read_tokens,
                                      cache_write_tokens, cost_source, created_at::VARCHAR
                               FROM token_usage ORDER BY 1""") == [
        ("opencode:msg_1", "claude-sonnet-4-5", 100, 10, 1000, 0, "estimated", "2026-01-02 00:00:00"),
        ("opencode:msg_3", "claude-sonnet-4-5", 200, 25, 2000, 300, "reported", "2026-01-02 00:00:00")]
    assert table_of(cli.db, "SELECT estimated_cost FROM token_usage WHERE request_id = 'opencode:msg_3'") == [
        (Decimal("0.25"),)]


def test_a_database_with_only_v2_messages_is_read(cli, tmp_path: Path) -> None:
    path = tmp_path / "opencode" / "opencode.db"
    path.parent.mkdir(parents=True)
    con = sqlite3.connect(path)
    con.execute(V2_TABLE)
    con.execute("INSERT INTO session_message VALUES ('msg_1', 'ses_1', 'assistant', 0, 0, 0, ?)",
                (v2_assistant({"input": 7, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}}),))
    con.execute("INSERT INTO session_message VALUES ('msg_2', 'ses_1', 'hologram', 0, 0, 0, '{}')")
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT session_id, input_tokens FROM token_usage") == [("ses_1", 7)]
