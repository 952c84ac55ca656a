"""`sessionstats import llm`: the llm tool's logs database (responses and conversations tables)."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

from conftest import snapshot, table_of

# The tables as llm's migrations m010 (conversations, responses), m013 (usage) and m019 (resolved_model) make them.
SCHEMA = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);
CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, prompt_json TEXT,
    options_json TEXT, response TEXT, response_json TEXT, conversation_id TEXT REFERENCES conversations(id),
    duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, token_details TEXT,
    schema_id TEXT, resolved_model TEXT);
"""


def make_logs(path: Path, responses: list[tuple], *, schema: str = SCHEMA) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    if schema:
        con.executescript(schema)
    con.executemany("INSERT OR IGNORE INTO conversations VALUES (?, ?, ?)",
                    {(r[1], f"chat {r[1][-1]}", r[2]) for r in responses})
    con.executemany("""INSERT INTO responses (id, conversation_id, model, input_tokens, output_tokens, token_details,
                                              datetime_utc, prompt, response) VALUES (?, ?, ?, ?, ?, ?, ?, 'q', 'a')""",
                    responses)
    con.commit()
    con.close()
    return path


RESPONSES = [
    ("01J0000000000000000000000A", "01JCONVA", "claude-3-5-sonnet-20241022", 10, 20,
     json.dumps({"cache_creation_input_tokens": 300, "cache_read_input_tokens": 4000}), "2025-03-01T10:00:00.000000"),
    ("01J0000000000000000000000B", "01JCONVA", "claude-3-5-sonnet-20241022", 5, 6, None, "2025-03-01T10:01:00"),
    ("01J0000000000000000000000C", "01JCONVB", "gpt-4o", 1000, 50,
     json.dumps({"prompt_tokens_details": {"cached_tokens": 600}}), "2025-03-02T09:00:00"),
    ("01J0000000000000000000000D", "01JCONVB", "gemini-2.0-flash", 900, 10,
     json.dumps({"cachedContentTokenCount": 800, "thoughtsTokenCount": 3}), "2025-03-02T09:05:00"),
    ("01J0000000000000000000000E", "01JCONVB", "gpt-4o", None, None, None, "2025-03-02T09:06:00"),
]
STORED = ("SELECT session_id, request_id, model, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, "
          "created_at::VARCHAR FROM token_usage ORDER BY request_id")


# What RESPONSES store, as STORED reads it back (from the legacy table or from turns alike).
STORED_FROM_RESPONSES = [
    ("01JCONVA", "llm:01J0000000000000000000000A", "claude-3-5-sonnet-20241022", 10, 20, 300, 4000,
     "2025-03-01 10:00:00"),
    ("01JCONVA", "llm:01J0000000000000000000000B", "claude-3-5-sonnet-20241022", 5, 6, 0, 0,
     "2025-03-01 10:01:00"),
    ("01JCONVB", "llm:01J0000000000000000000000C", "gpt-4o", 400, 50, 0, 600, "2025-03-02 09:00:00"),
    ("01JCONVB", "llm:01J0000000000000000000000D", "gemini-2.0-flash", 100, 10, 0, 800, "2025-03-02 09:05:00"),
]


def test_responses_become_token_records_with_cached_tokens_split_out(cli, tmp_path: Path) -> None:
    logs = make_logs(tmp_path / "logs.db", RESPONSES)
    result = cli("import", "llm", str(logs))
    assert result.exit_code == 0, result.stderr
    assert "imported 4 token records into 2 sessions" in result.stderr
    assert "1 responses without token counts skipped" in result.stderr
    assert table_of(cli.db, STORED) == STORED_FROM_RESPONSES
    assert dict(table_of(cli.db, "SELECT id, name FROM sessions")) == {"01JCONVA": "chat A", "01JCONVB": "chat B"}
    # Claude 3.5 Sonnet: $3 / M input, $15 / M output, $3.75 / M cache write, $0.30 / M cache read.
    costs = table_of(cli.db, "SELECT estimated_cost FROM token_usage WHERE request_id LIKE '%A'")
    assert costs == [(Decimal("0.000030") + Decimal("0.000300") + Decimal("0.001125") + Decimal("0.0012"),)]


def test_running_again_adds_only_new_responses(cli, tmp_path: Path) -> None:
    logs = make_logs(tmp_path / "logs.db", RESPONSES)
    cli.ok("import", "llm", str(logs))
    again = cli("import", "llm", str(logs))
    assert "imported 0 token records" in again.stderr and "4 responses were imported already" in again.stderr
    make_logs(logs, [("01J0000000000000000000000F", "01JCONVC", "gpt-4o", 7, 8, None, "2025-03-03T00:00:00")],
              schema="")
    third = cli("import", "llm", str(logs))
    assert "imported 1 token records into 1 sessions" in third.stderr
    assert table_of(cli.db, "SELECT count(*), sum(input_tokens) FROM token_usage") == [(5, 10 + 5 + 400 + 100 + 7)]


def test_an_older_database_without_resolved_model_or_conversation_names(cli, tmp_path: Path) -> None:
    older = SCHEMA.replace(", resolved_model TEXT", "")
    logs = make_logs(tmp_path / "logs.db", RESPONSES[1:2], schema=older)
    cli.ok("import", "llm", str(logs))
    assert table_of(cli.db, "SELECT session_id, input_tokens FROM token_usage") == [("01JCONVA", 5)]


def test_the_default_path_is_llms_own(cli, tmp_path: Path, monkeypatch) -> None:
    make_logs(tmp_path / "home" / ".config" / "io.datasette.llm" / "logs.db", RESPONSES[:1])
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    cli.ok("import", "llm")
    make_logs(tmp_path / "elsewhere" / "logs.db", RESPONSES[1:2])
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "elsewhere"))
    cli.ok("import", "llm")
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(2,)]


def test_a_database_without_token_counts_is_refused_and_nothing_written(cli, tmp_path: Path) -> None:
    cli.ok("new", "--id", "keep")
    before = snapshot(cli.db)
    logs = tmp_path / "old.db"
    con = sqlite3.connect(logs)
    con.execute("CREATE TABLE responses (id TEXT, model TEXT, conversation_id TEXT, datetime_utc TEXT)")
    con.close()
    result = cli("import", "llm", str(logs))
    assert result.exit_code == 2 and result.stderr.startswith("sessionstats: PATH:")
    missing = cli("import", "llm", str(tmp_path / "nothing.db"))
    assert missing.exit_code == 2
    assert snapshot(cli.db) == before


# llm 0.32's message store, as m023_message_store in llm/migrations.py of simonw/llm at commit
# 2fec4df0b9e72d2099710c46cdae7a65321070bc makes it: `turns` keyed by the response id, in a conversation.
TURNS_SCHEMA = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);
CREATE TABLE turns (id TEXT PRIMARY KEY, model TEXT, resolved_model TEXT, prompt TEXT, system TEXT,
    options_json TEXT, response TEXT, reasoning TEXT, response_json TEXT,
    conversation_id TEXT REFERENCES conversations(id), duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER,
    output_tokens INTEGER, token_details TEXT, schema_id TEXT, input_node_id TEXT, output_node_id TEXT);
"""
# A development form of the same migration found in the public code index (its commit could not be named):
# `turns` point at `threads`, whose ids reuse conversation ids while both sets of tables are written.
THREADS_SCHEMA = """
CREATE TABLE threads (id TEXT PRIMARY KEY, name TEXT, tip_message_hash TEXT, forked_from TEXT, datetime_utc TEXT);
CREATE TABLE turns (id TEXT PRIMARY KEY, thread_id TEXT REFERENCES threads(id), parent_message_hash TEXT,
    tip_message_hash TEXT, model TEXT, resolved_model TEXT, options_json TEXT, schema_id TEXT, input_tokens INTEGER,
    output_tokens INTEGER, token_details TEXT, duration_ms INTEGER, datetime_utc TEXT);
"""


def add_turns(path: Path, turns: list[tuple], *, schema: str, parents: str = "conversations",
              session: str = "conversation_id") -> Path:
    """Write `turns` rows (the RESPONSES tuple layout) and their parent rows named `chat <last letter>`."""
    con = sqlite3.connect(path)
    if schema:
        con.executescript(schema)
    con.executemany(f"INSERT OR IGNORE INTO {parents} (id, name) VALUES (?, ?)",
                    {(t[1], f"chat {t[1][-1]}") for t in turns})
    con.executemany(f"""INSERT INTO turns (id, {session}, model, input_tokens, output_tokens, token_details,
                                           datetime_utc) VALUES (?, ?, ?, ?, ?, ?, ?)""", turns)
    con.commit()
    con.close()
    return path


def test_the_new_turns_table_gives_the_same_records_as_responses(cli, tmp_path: Path) -> None:
    logs = add_turns(tmp_path / "logs.db", RESPONSES, schema=TURNS_SCHEMA)
    result = cli("import", "llm", str(logs))
    assert result.exit_code == 0, result.stderr
    assert "imported 4 token records into 2 sessions" in result.stderr
    assert "1 responses without token counts skipped" in result.stderr
    assert table_of(cli.db, STORED) == STORED_FROM_RESPONSES
    assert dict(table_of(cli.db, "SELECT id, name FROM sessions")) == {"01JCONVA": "chat A", "01JCONVB": "chat B"}


def test_turns_in_threads_become_sessions_named_as_the_thread(cli, tmp_path: Path) -> None:
    logs = add_turns(tmp_path / "logs.db", RESPONSES[2:4], schema=THREADS_SCHEMA, parents="threads",
                     session="thread_id")
    cli.ok("import", "llm", str(logs))
    assert table_of(cli.db, "SELECT session_id, request_id, input_tokens, cache_read_tokens FROM token_usage "
                            "ORDER BY request_id") == [
        ("01JCONVB", "llm:01J0000000000000000000000C", 400, 600),
        ("01JCONVB", "llm:01J0000000000000000000000D", 100, 800),
    ]
    assert table_of(cli.db, "SELECT id, name FROM sessions") == [("01JCONVB", "chat B")]


def test_a_response_logged_in_both_tables_counts_once(cli, tmp_path: Path) -> None:
    logs = make_logs(tmp_path / "logs.db", RESPONSES[:3])
    new_schema = TURNS_SCHEMA.replace("CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);", "")
    turn_f = ("01J0000000000000000000000F", "01JCONVB", "gpt-4o", 70, 8, None, "2025-03-02T09:10:00")
    add_turns(logs, [*RESPONSES[1:3], turn_f], schema=new_schema)
    result = cli("import", "llm", str(logs))
    assert result.exit_code == 0, result.stderr
    assert "imported 4 token records into 2 sessions" in result.stderr
    assert table_of(cli.db, "SELECT request_id FROM token_usage ORDER BY request_id") == [
        ("llm:01J0000000000000000000000A",), ("llm:01J0000000000000000000000B",),
        ("llm:01J0000000000000000000000C",), ("llm:01J0000000000000000000000F",)]
    assert table_of(cli.db, "SELECT sum(input_tokens), sum(output_tokens) FROM token_usage") == [
        (10 + 5 + 400 + 70, 20 + 6 + 50 + 8)]


def test_running_again_over_both_tables_stores_nothing_new(cli, tmp_path: Path) -> None:
    logs = make_logs(tmp_path / "logs.db", RESPONSES[:2])
    new_schema = TURNS_SCHEMA.replace("CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);", "")
    add_turns(logs, RESPONSES[1:4], schema=new_schema)
    cli.ok("import", "llm", str(logs))
    before = snapshot(cli.db)
    again = cli("import", "llm", str(logs))
    assert again.exit_code == 0, again.stderr
    assert "imported 0 token records" in again.stderr and "4 responses were imported already" in again.stderr
    assert snapshot(cli.db) == before
