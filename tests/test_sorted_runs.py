"""A file's records are rewritten in session order a run at a time; no figure, row or id changes by it.

RUN_ROWS is 250,000 in use; these tests lower it (in-process, or at the top of a child process's script)
so that a handful of records makes a run due.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import snapshot, table_of

import sessionstats.store.runs as runs

pytestmark = pytest.mark.file_only
SESSIONS = ("c", "a", "b")


def record_interleaved(cli, calls: int) -> None:
    """Token records and stories taking turns between the sessions, as several generators recording at once."""
    for call in range(calls):
        session = SESSIONS[call % 3]
        cli.ok("record-tokens", "-s", session, "--model", "claude-sonnet-4-5", "--input", str(100 + call),
               "--output", str(call), "--cost", f"0.00{call + 1}", "--request-id", f"r{call}")
        if call % 2:
            cli.ok("record-story", "-s", session, "--title", f"story {call}", "--narrative", "one two three")


def reports(cli) -> list:
    """Every figure the reports give on the sessions, and the exported records."""
    exported = []
    for what in ("tokens", "stories"):
        target = Path(cli.db).with_name(f"{what}.csv")
        cli.ok("export", "--what", what, "--to", str(target))
        exported.append(target.read_text())
    listed = [stats for stats in cli.json("list") if stats["session_id"] in SESSIONS]
    shown = [cli.json("show", session, "--by", "model") for session in SESSIONS]
    return [*shown, listed, cli.json("timeline", "a", "--every", "1d"), *exported]


def records(db) -> list[list[tuple]]:
    return [table_of(db, f"SELECT * EXCLUDE (sorted) FROM {table} ORDER BY id") for table in runs.SORTED_TABLES]


def physical_order(db, table: str) -> list[tuple]:
    return table_of(db, f"SELECT session_id, sorted FROM {table} ORDER BY rowid")


@pytest.fixture
def sessions(cli):
    for session in SESSIONS:
        cli.ok("new", "--id", session)
    return cli


@pytest.mark.slow
def test_a_due_run_is_rewritten_in_session_order_and_every_figure_stays(sessions, db, monkeypatch):
    record_interleaved(sessions, 9)
    before, records_before = reports(sessions), records(db)
    assert {flag for _, flag in physical_order(db, "token_usage")} == {False}

    monkeypatch.setattr(runs, "RUN_ROWS", 4)  # 9 token records and 4 stories are due now
    sessions.ok("new", "--id", "d")  # any write sorts what is due when it is done
    assert physical_order(db, "token_usage") == [(s, True) for s in ["a"] * 3 + ["b"] * 3 + ["c"] * 3]
    assert physical_order(db, "story_history") == [("a", True), ("a", True), ("b", True), ("c", True)]
    assert table_of(db, "SELECT * FROM sorted_rows ORDER BY table_name") == [("story_history", 0), ("token_usage", 0)]
    assert reports(sessions) == before
    assert records(db) == records_before  # the same records, each once
    assert all("sorted" not in text.splitlines()[0] for text in reports(sessions)[-2:])


def test_new_rows_wait_as_an_unsorted_tail_until_the_next_run_is_due(sessions, db, monkeypatch):
    monkeypatch.setattr(runs, "RUN_ROWS", 4)
    record_interleaved(sessions, 6)  # sorted after the 4th token record: two left unsorted
    assert [flag for _, flag in physical_order(db, "token_usage")] == [True] * 4 + [False] * 2
    sessions.ok("record-tokens", "-s", "a", "--input", "1", "--output", "1")
    sessions.ok("record-tokens", "-s", "b", "--input", "1", "--output", "1")
    order = physical_order(db, "token_usage")
    assert [flag for _, flag in order] == [True] * 8
    assert [s for s, _ in order] == ["a", "b", "c", "c", "a", "a", "b", "b"]  # two runs, each by session


def test_a_bulk_import_is_sorted_when_it_is_done(sessions, db, tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "RUN_ROWS", 4)
    rows = [{"session_id": SESSIONS[i % 3], "input_tokens": i, "output_tokens": 1, "request_id": f"q{i}"}
            for i in range(10)]
    source = tmp_path / "calls.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    sessions.ok("import", "tokens", str(source))
    assert physical_order(db, "token_usage") == [(s, True) for s in ["a"] * 3 + ["b"] * 3 + ["c"] * 4]
    assert sessions.json("show", "c")["input_tokens"] == 0 + 3 + 6 + 9


def test_a_file_from_before_runs_is_sorted_a_bounded_run_per_write(sessions, db, monkeypatch):
    record_interleaved(sessions, 9)
    before = reports(sessions)  # a read does not upgrade a file, so the figures are taken first
    con = duckdb.connect(str(db))
    try:  # back to schema 4, as a file written before runs existed
        for table in ("token_usage", "story_history"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN sorted")
        con.execute("DROP TABLE sorted_rows")
        con.execute("DELETE FROM schema_migrations WHERE version > 4")
    finally:
        con.close()
    monkeypatch.setattr(runs, "RUN_ROWS", 2)
    monkeypatch.setattr(runs, "MAX_RUN_ROWS", 4)
    sessions.ok("new", "--id", "d")  # migrates: every older row starts unsorted; the oldest 4 are sorted
    assert physical_order(db, "token_usage") == [
        ("a", False), ("b", False), ("c", False), ("a", False), ("b", False),
        ("a", True), ("b", True), ("c", True), ("c", True)]
    sessions.ok("new", "--id", "e")  # the next 4; the newest is left as the tail, shorter than a run
    assert physical_order(db, "token_usage") == [
        ("b", False), ("a", True), ("b", True), ("c", True), ("c", True), ("a", True), ("a", True), ("b", True),
        ("c", True)]
    assert reports(sessions) == before


def test_a_failed_sort_is_a_warning_and_waits_a_run_before_it_is_tried_again(sessions, db, monkeypatch):
    monkeypatch.setattr(runs, "RUN_ROWS", 4)
    plain_sort, tries = runs._sort_run, []

    def failing_sort(store, table):
        tries.append(table)
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")

    monkeypatch.setattr(runs, "_sort_run", failing_sort)
    results = [sessions("record-tokens", "-s", "a", "--input", str(call), "--output", "1") for call in range(5)]
    assert [result.exit_code for result in results] == [0] * 5  # every record is stored and its id printed
    assert all(result.stdout.strip() for result in results)
    assert [result.stderr for result in results] == [""] * 3 + [
        "sessionstats: warning: could not sort the token_usage records by session (Out of Memory Error: could not "
        "allocate block); every record is kept, and the next try comes after 4 more\n", ""]
    assert tries == ["token_usage"]  # the 5th write did not try again
    assert len(table_of(db, "SELECT id FROM token_usage")) == 5
    monkeypatch.setattr(runs, "_sort_run", plain_sort)
    for call in range(2):  # 7 unsorted, 4 of them set aside: not due yet
        sessions.ok("record-tokens", "-s", "b", "--input", str(call), "--output", "1")
    assert {flag for _, flag in physical_order(db, "token_usage")} == {False}
    sessions.ok("record-tokens", "-s", "c", "--input", "1", "--output", "1")  # 8: a run beyond the set-aside
    assert physical_order(db, "token_usage") == [(s, True) for s in ["a"] * 5 + ["b"] * 2 + ["c"]]
    assert table_of(db, "SELECT * FROM sorted_rows ORDER BY table_name") == [("story_history", 0), ("token_usage", 0)]


def test_deleting_sorted_records_does_not_hold_back_the_next_run(sessions, db, monkeypatch):
    """A counter of sorted rows, left as it was when `delete` removed 8 of them, read -2 new rows with 6 there."""
    monkeypatch.setattr(runs, "RUN_ROWS", 4)
    for call in range(8):
        sessions.ok("record-tokens", "-s", "a", "--input", str(call), "--output", "1")
    sessions.ok("delete", "a", "--yes")
    for call in range(4):
        sessions.ok("record-tokens", "-s", "b", "--input", str(call), "--output", "1")
    assert physical_order(db, "token_usage") == [("b", True)] * 4


# Records through the CLI with runs of 3; with a point given, stops (printing "reached") inside the sort.
SORTING_CHILD = """
import sys, time
import sessionstats.store.runs as runs
from sessionstats.store import Store
runs.RUN_ROWS = 3
point, args = sys.argv[1], sys.argv[2:]
if point != "none":
    plain_execute = Store.execute
    def execute(self, sql, params=()):
        result = plain_execute(self, sql, params)
        if sql.startswith(point):
            print("reached", flush=True)
            time.sleep(600)
        return result
    Store.execute = execute
from sessionstats.cli import main
sys.argv = ["sessionstats", *args]
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["DELETE FROM token_usage", "INSERT INTO token_usage SELECT * REPLACE"])
def test_a_sort_killed_halfway_leaves_every_record_once(sessions, db, point, spawn):
    record_interleaved(sessions, 2)
    before = snapshot(db)
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    child = spawn(sys.executable, "-c", SORTING_CHILD, point, "record-tokens", "-s", "a",
                  "--input", "7", "--output", "8", "--request-id", "third", env=env)
    assert child.readline() == "reached\n", child.stderr
    child.kill()
    after = snapshot(db)  # the record was committed before the run began, as after a kill past COMMIT
    assert after[:2] == before[:2]
    assert table_of(db, "SELECT request_id FROM token_usage ORDER BY request_id") == [("r0",), ("r1",), ("third",)]
    assert {flag for _, flag in physical_order(db, "token_usage")} == {False}  # the run rolled back whole
    done = subprocess.run([sys.executable, "-c", SORTING_CHILD, "none", "new", "--id", "d"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert physical_order(db, "token_usage") == [("a", True), ("a", True), ("c", True)]
