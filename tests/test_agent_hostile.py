"""Hostile lines in any agent's logs end as counted malformed lines, never as a traceback or a wrong record."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import db_argument, table_of
from opencode_logs import create_database, write_dir
from test_bounded_readers import RESTRICTED, needs_permissions, one_line

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


def nothing_stored(db) -> bool:
    """No token record: a file database that a refused import made is removed again, so none may be there."""
    return table_of(db, "SELECT count(*) FROM token_usage") in ([], [(0,)])


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
    assert nothing_stored(cli.db)
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
    assert nothing_stored(cli.db)


# --- Files that change, vanish, loop or cannot be read ------------------------------------------------------

def write_lines(path: Path, counts: list[int], source: str, tail: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    make = SOURCES[source][1]
    path.write_bytes(b"".join(json.dumps(make(count)).encode() + b"\n" for count in counts) + tail)


def stored_inputs(cli) -> list[int]:
    return [row[0] for row in table_of(cli.db, "SELECT input_tokens FROM token_usage ORDER BY 1")]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_line_still_being_written_is_left_whole_for_the_next_import(cli, tmp_path: Path, source: str) -> None:
    path = tmp_path / "root" / SOURCES[source][0]
    last = json.dumps(SOURCES[source][1](42)).encode() + b"\n"
    write_lines(path, [40, 41], source, tail=last[:17])
    first = cli("import", source, str(tmp_path / "root"))
    assert first.exit_code == 0, first.stderr
    assert "malformed" not in first.stderr
    assert f"{source}: 1 files end in a line without a newline (still being written?), left for the next import" \
        in first.stderr
    assert stored_inputs(cli) == [40, 41]
    with path.open("ab") as log:
        log.write(last[17:])
    second = cli("import", source, str(tmp_path / "root"))
    assert "imported 1 token records" in second.stderr
    assert "without a newline" not in second.stderr
    assert stored_inputs(cli) == [40, 41, 42]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_file_shrunk_or_replaced_between_imports_keeps_what_was_stored_and_adds_only_new_calls(
        cli, tmp_path: Path, source: str) -> None:
    path = tmp_path / "root" / SOURCES[source][0]
    write_lines(path, [40, 41, 42], source)
    cli.ok("import", source, str(tmp_path / "root"))
    write_lines(path, [40], source, tail=b'{"cut": ')  # the agent pruned it, and is writing again
    shrunk = cli("import", source, str(tmp_path / "root"))
    assert shrunk.exit_code == 0, shrunk.stderr
    assert "imported 0 token records" in shrunk.stderr
    write_lines(path, [40, 43, 44, 45], source)  # replaced by a longer file: one call known, three new
    replaced = cli("import", source, str(tmp_path / "root"))
    assert "imported 3 token records" in replaced.stderr
    assert stored_inputs(cli) == [40, 41, 42, 43, 44, 45]


def test_an_otel_export_without_its_last_newline_is_not_read_silently(cli, tmp_path: Path) -> None:
    from otel_files import genai_span, traces

    path = tmp_path / "export.json"
    path.write_text(traces(genai_span("t1", "s1", model="gpt-5", inp=100, out=10)))  # saved by hand: no newline
    first = cli("import", "otel", str(path))
    assert first.exit_code == 0, first.stderr
    assert "otel: 1 files end in a line without a newline (still being written?), left for the next import" \
        in first.stderr
    with path.open("a") as export:
        export.write("\n")
    cli.ok("import", "otel", str(path))
    assert table_of(cli.db, "SELECT input_tokens, output_tokens FROM token_usage") == [(100, 10)]


def test_a_gemini_json_caught_mid_rewrite_is_one_malformed_document_then_read_whole(cli, tmp_path: Path) -> None:
    path = tmp_path / "root" / "proj" / "chats" / "session-2026-01-01T00-00-x.json"
    path.parent.mkdir(parents=True)
    document = json.dumps({"sessionId": "s1", "messages": [gemini_line(40), gemini_line(41)]}).encode()
    path.write_bytes(document[: len(document) // 2])
    first = cli("import", "gemini", str(tmp_path / "root"))
    assert first.exit_code == 0, first.stderr
    assert "1 malformed lines skipped" in first.stderr
    path.write_bytes(document)
    cli.ok("import", "gemini", str(tmp_path / "root"))
    assert stored_inputs(cli) == [40, 41]


def _symlink_loops(folder: Path) -> None:
    """A folder linking to itself, to its parent, and two log-like names linking to each other."""
    (folder / "self").symlink_to(".")
    (folder / "up").symlink_to("..")
    (folder / "rollout-a.jsonl").symlink_to("rollout-b.jsonl")
    (folder / "rollout-b.jsonl").symlink_to("rollout-a.jsonl")
    (folder / "session-a.jsonl").symlink_to("session-a.jsonl")


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_symlink_loops_in_the_tree_are_no_files_and_the_real_logs_are_read(cli, tmp_path: Path, source: str) -> None:
    path = tmp_path / "root" / SOURCES[source][0]
    write_lines(path, [40], source)
    _symlink_loops(path.parent)
    _symlink_loops(tmp_path / "root")
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "read 1 of 1 files" in result.stderr
    assert stored_inputs(cli) == [40]


def test_a_looping_opencode_database_and_legacy_copy_are_no_files(cli, tmp_path: Path) -> None:
    root = tmp_path / "opencode"
    (root / "storage" / "message" / "ses_1").mkdir(parents=True)
    (root / "opencode.db").symlink_to("opencode-x.db")
    (root / "opencode-x.db").symlink_to("opencode.db")
    (root / "storage" / "message" / "ses_1" / "msg_1.json").symlink_to("msg_1.json")
    result = cli("import", "opencode", str(root))
    assert result.exit_code == 0, result.stderr
    assert "read 0 of 0 files" in result.stderr
    assert "opencode: none of its files were found; if they are elsewhere, name the folder" in result.stderr


def test_a_session_id_with_control_characters_is_a_malformed_call_and_the_others_are_stored(
        cli, tmp_path: Path) -> None:
    root = tmp_path / "root"
    usage = {"input_tokens": 7, "cached_input_tokens": 0, "output_tokens": 1, "reasoning_output_tokens": 0,
             "total_tokens": 8}
    meta = {"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": "a\u0000b\u001b[2J"}}
    call = {"timestamp": "2026-01-01T00:00:01Z", "type": "event_msg",
            "payload": {"type": "token_count", "info": {"last_token_usage": usage, "total_token_usage": usage}}}
    rollout = root / "sessions" / "2026" / "01" / "01" / "rollout-2026-01-01T00-00-00-x.jsonl"
    rollout.parent.mkdir(parents=True)
    rollout.write_text(json.dumps(meta) + "\n" + json.dumps(call) + "\n")
    write_lines(root / "sessions" / "2026" / "01" / "01" / "rollout-2026-01-01T00-00-00-good.jsonl", [40], "codex")
    result = cli("import", "codex", str(root))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(cli.db, "SELECT session_id, input_tokens FROM token_usage") == [
        ("rollout-2026-01-01T00-00-00-good", 40)]


@pytest.mark.parametrize("source", ["gemini", "qwen"])
def test_a_session_id_or_file_name_with_a_nul_is_malformed_in_gemini_and_qwen(cli, tmp_path: Path, source) -> None:
    root = tmp_path / "root"
    relative, make = SOURCES[source]
    header = {"sessionId": "s\u0000x", "kind": "main"} if source == "gemini" else None
    line = make(40) if source == "gemini" else {**make(40), "sessionId": "s\u0000x"}
    path = root / relative
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(v) + "\n" for v in (header, line) if v is not None))
    stray = path.parent / ("session-\u0001.jsonl" if source == "gemini" else "\u0001.jsonl")
    stray.write_text(json.dumps({key: v for key, v in make(41).items() if key != "sessionId"}) + "\n")
    result = cli("import", source, str(root))
    assert result.exit_code == 0, result.stderr
    assert "2 malformed lines skipped" in result.stderr
    assert nothing_stored(cli.db)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_counts_that_fit_alone_but_not_summed_are_a_malformed_line_not_a_database_error(
        cli, tmp_path: Path, source: str) -> None:
    path = tmp_path / "root" / SOURCES[source][0]
    write_lines(path, [2**63 - 1, 40], source)  # input 2^63-1 plus output 1 is past BIGINT
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]


def test_counts_whose_cost_is_absurd_are_a_malformed_line_and_the_rest_is_stored(cli, tmp_path: Path) -> None:
    """Refusing the import for it (as before) refused the log's whole history on every run after."""
    path = tmp_path / "root" / SOURCES["codex"][0]
    write_lines(path, [39], "codex")
    cli.ok("import", "codex", str(tmp_path / "root"))
    write_lines(path, [39, 40, 2**50], "codex")  # priced as gpt-5: 2^50 x $1.25/M is over $1e9
    result = cli("import", "codex", str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [39, 40]


@needs_permissions
@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("locked, mode", [("file", 0o000), ("folder", 0o000), ("folder", 0o600)],
                         ids=["file", "folder", "folder-unsearchable"])
def test_an_unreadable_log_or_folder_is_one_line_naming_it_and_the_agent(
        db, tmp_path: Path, source: str, locked: str, mode: int) -> None:
    path = tmp_path / "root" / SOURCES[source][0]
    write_lines(path, [40], source)
    target = path if locked == "file" else path.parent
    env = {**os.environ, "SESSIONSTATS_DB": db_argument(db, "alice"), "SESSIONSTATS_USER": "alice"}
    target.chmod(mode)
    try:
        result = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "import", source,
                                 str(tmp_path / "root")], env=env, capture_output=True, text=True, timeout=120)
    finally:
        target.chmod(0o755)
    assert result.returncode == 2, result.stderr
    shown = target if mode == 0o000 or locked == "file" else path  # listed but not searchable: its file is named
    assert one_line(result.stderr).startswith(
        f"sessionstats: cannot read {str(shown)!r} of the {source} history (Permission denied): make it readable")
    assert nothing_stored(db)


@needs_permissions
def test_an_unreadable_opencode_database_is_one_line_naming_it(db, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    env = {**os.environ, "SESSIONSTATS_DB": db_argument(db, "alice"), "SESSIONSTATS_USER": "alice"}
    made.database.chmod(0o000)
    try:
        result = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "import", "opencode",
                                 str(made.root)], env=env, capture_output=True, text=True, timeout=120)
    finally:
        made.database.chmod(0o644)
    assert result.returncode == 2, result.stderr
    assert one_line(result.stderr).startswith(
        f"sessionstats: cannot read {str(made.database)!r} of the opencode history (Permission denied)")


def test_a_sqlite_file_that_is_not_opencodes_is_one_line_and_writes_nothing(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    other = sqlite3.connect(made.root / "opencode-dev.db")
    other.execute("CREATE TABLE notes (id TEXT, body TEXT)")
    other.commit()
    other.close()
    result = cli("import", "opencode", str(made.root))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line == (f"sessionstats: PATH: cannot read {str((made.root / 'opencode-dev.db').resolve())!r} as an "
                    "OpenCode database: no message(id, session_id, data) table")
    assert nothing_stored(cli.db)  # not the good database's steps either


@pytest.mark.slow
def test_an_opencode_database_locked_by_a_writer_is_one_line_after_a_bounded_wait(
        cli, tmp_path: Path, spawn) -> None:
    made = write_dir(tmp_path / "opencode")
    holder = spawn(sys.executable, "-c", LOCK_HOLDER, str(made.database))
    assert holder.readline(timeout=30).strip() == "locked", holder.stderr
    result = cli("import", "opencode", str(made.root))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line == (f"sessionstats: PATH: {str(made.database.resolve())!r} stayed locked by another process "
                    "(OpenCode writing to it) for 5 s: import again when it is done")
    assert nothing_stored(cli.db)


LOCK_HOLDER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
con.execute("INSERT INTO message VALUES ('msg_zz', 'ses_main', 0, 0, '{}')")
print("locked", flush=True)
time.sleep(120)
"""


# 9e18 fits a count but costs past a record's $1e9 at gpt-5's price: the Python readers' path skips it alike.
@pytest.mark.parametrize("count", [-5, 1.5, 10**30, 2**63, "12a", True, [1], {"n": 1}, "NaN", 9 * 10**18])
def test_an_absurd_opencode_token_count_is_a_malformed_step(cli, tmp_path: Path, count: object) -> None:
    con = create_database(tmp_path / "opencode" / "opencode.db")
    for message_id, value in (("m1", count), ("m2", 40)):
        tokens = {"input": value, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}}
        data = {"role": "assistant", "modelID": "gpt-5", "providerID": "openai", "cost": 0, "tokens": tokens}
        con.execute("INSERT INTO message VALUES (?, 'ses_1', 0, 0, ?)", (message_id, json.dumps(data)))
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert stored_inputs(cli) == [40]


def test_an_opencode_database_with_any_type_in_any_column_gives_malformed_steps_not_a_crash(
        cli, tmp_path: Path) -> None:
    (tmp_path / "opencode").mkdir()
    con = sqlite3.connect(tmp_path / "opencode" / "opencode.db")  # untyped columns, as SQLite allows
    con.execute("CREATE TABLE message (id, session_id, time_created, time_updated, data)")
    con.execute("CREATE TABLE session (id, directory, parent_id)")
    good = json.dumps({"role": "assistant", "modelID": "gpt-5", "providerID": "openai", "cost": 0,
                       "time": {"created": 1e300}, "tokens": {"input": 40, "output": 1}})
    nul_model = good.replace("gpt-5", "gpt\\u0000")
    rows = [("m1", None, good), (None, "s", good), ("m3", "s", 5), ("m4", "s", None), ("m5", "s", good.encode()),
            (7, "s", good), ("m7", 3.5, good), ("m8", "s", b"\xff\xfe"), ("m9", "s", nul_model)]
    con.executemany("INSERT INTO message VALUES (?, ?, 0, 0, ?)", rows)
    con.execute("INSERT INTO session VALUES ('s', 12, x'00')")
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "8 malformed lines skipped" in result.stderr
    assert table_of(cli.db, "SELECT session_id, input_tokens FROM token_usage") == [("s", 40)]  # m5: text as bytes
    assert table_of(cli.db, "SELECT name FROM sessions") == [(None,)]


def test_gemini_records_of_the_wrong_shape_are_malformed_or_unrecognised_not_a_crash(cli, tmp_path: Path) -> None:
    path = tmp_path / "root" / SOURCES["gemini"][0]
    path.parent.mkdir(parents=True)
    shapes = [{**gemini_line(1), "type": [1]}, {**gemini_line(2), "type": {"a": 1}}, {"$set": {"messages": 5}},
              {"$set": {"messages": {"id": "x"}}}, {"$set": {"messages": [7, {"id": 3}]}}, {"$rewindTo": [1]},
              gemini_line(40)]
    path.write_text("".join(json.dumps(shape) + "\n" for shape in shapes))
    result = cli("import", "gemini", str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    # the messages of a $set that are not messages (7 and an id that is not text) and a $set whose messages
    # is one object, not a list
    assert "3 malformed lines skipped" in result.stderr
    assert 'records of types this version does not read: [1] (1), {"a":1} (1)' in result.stderr
    assert stored_inputs(cli) == [40]
