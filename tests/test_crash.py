"""A command killed with SIGKILL at any point leaves the whole record or nothing, and a database that opens.

Record commands are killed while blocked on the lock, after the INSERT but before COMMIT, after COMMIT
but before the connection closes (the .wal not yet folded in), while creating a new database, and at
random moments of real `python -m sessionstats` runs. Bulk imports (200,000 rows) are killed while the
file is being read, after the sessions' INSERT, after the records' INSERT, just before COMMIT, and at
random moments; they must leave none of their rows. The child processes that stop at an exact point
wrap the store from the outside (in the child only); the product has no test hooks.
"""

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from children import Child, blocked_on_flock, wait_until
from claude_logs import assistant_line, write_lines, write_tree
from conftest import snapshot, table_of

# Most of these stop the file store at exact points or copy the file, so they run on the file only;
# killing a real process at random moments runs on both backends.

# Runs the CLI, but pauses at POINT (printing "reached") so the test can kill it there.
PAUSE_AT = """
import sys, time
from contextlib import contextmanager
from sessionstats.store import Store
point, args = sys.argv[1], sys.argv[2:]

def pause():
    print("reached", flush=True)
    time.sleep(600)

AFTER = {"after-insert": "INSERT INTO token_usage", "after-sessions": "INSERT INTO sessions"}
if point in AFTER:
    plain_execute = Store.execute
    def execute(self, sql, params=()):
        result = plain_execute(self, sql, params)
        if sql.lstrip().startswith(AFTER[point]):
            pause()
        return result
    Store.execute = execute
elif point == "while-staging":  # the import's file scan still running when "reached" is printed
    import threading
    plain_execute = Store.execute
    def execute(self, sql, params=()):
        if "TEMP TABLE import_rows" not in sql:
            return plain_execute(self, sql, params)
        scanning = threading.Event()
        scanning.set()
        def report():
            time.sleep(0.05)
            print("reached" if scanning.is_set() else "missed", flush=True)
        threading.Thread(target=report, daemon=True).start()
        result = plain_execute(self, sql, params)
        scanning.clear()
        time.sleep(600)  # go no further than the scan
        return result
    Store.execute = execute
elif point == "while-creating":  # a new database made and migrated beside its path, not yet moved there
    import sessionstats.store.file as file_store
    plain_migrations = file_store.apply_migrations
    def apply_migrations(store):
        plain_migrations(store)
        pause()
    file_store.apply_migrations = apply_migrations
elif point in ("before-commit", "after-commit"):
    plain_transaction = Store.transaction
    @contextmanager
    def transaction(self):
        with plain_transaction(self):
            yield self
            if point == "before-commit":
                pause()
        pause()
    Store.transaction = transaction

from sessionstats.cli import main
sys.argv = ["sessionstats", *args]
main()
"""

RECORD = ("record-tokens", "-s", "s", "--input", "5", "--output", "7", "--cost", "0.25", "--request-id", "victim")


def environment(db) -> dict[str, str]:
    return {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}


@pytest.fixture
def python(spawn, db):
    """Start `python ARGS` on the test database as Alice; reaped after the test whatever happens."""
    return lambda *args: spawn(sys.executable, *args, env=environment(db))


def kill(process: Child) -> None:
    process.kill()
    assert process.returncode == -signal.SIGKILL


def victim_rows(db) -> list[tuple]:
    return table_of(db, "SELECT input_tokens, output_tokens, total_tokens, estimated_cost, cost_source "
                        "FROM token_usage WHERE request_id = 'victim'")


def assert_opens_and_writes(cli) -> None:
    """Both a reader and a writer can use the database at once, without waiting out a stale lock.

    A lock timeout of 0 tries each lock once: any lock left behind fails the command (exit 4) at once.
    """
    cli.ok("show", "s", "--format", "json", env={"SESSIONSTATS_LOCK_TIMEOUT": "0"})
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", env={"SESSIONSTATS_LOCK_TIMEOUT": "0"})


@pytest.mark.slow
@pytest.mark.file_only
def test_killed_while_waiting_for_the_lock_leaves_nothing_and_no_stale_lock(cli, db, python):
    cli.ok("new", "--id", "s")
    holder = open(f"{db}.lock", "w")  # noqa: SIM115
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        waiting = python("-m", "sessionstats", *RECORD)
        wait_until(lambda: blocked_on_flock(waiting.pid), waiting, "blocked on the lock")
        kill(waiting)
    finally:
        holder.close()
    assert victim_rows(db) == []
    assert_opens_and_writes(cli)


@pytest.mark.slow
@pytest.mark.file_only
@pytest.mark.parametrize(("point", "landed"), [("after-insert", False), ("after-commit", True)])
def test_killed_inside_the_write_leaves_the_whole_record_or_nothing(cli, db, python, point, landed):
    cli.ok("new", "--id", "s")
    process = python("-c", PAUSE_AT, point, *RECORD)
    assert process.readline() == "reached\n", process.stderr
    kill(process)
    if point == "after-commit":
        assert db.with_name(db.name + ".wal").exists()  # committed, not yet folded into the file
    assert victim_rows(db) == ([(5, 7, 12, Decimal("0.25"), "given")] if landed else [])
    assert_opens_and_writes(cli)
    assert cli.json("show", "s")["api_calls"] == (2 if landed else 1)


@pytest.mark.slow
@pytest.mark.file_only
def test_killed_while_creating_the_database_leaves_one_that_opens(cli, db, python):
    one_run = timed_run(db, "new", "--id", "first")
    for attempt in range(4):
        for leftover in db.parent.glob(db.name + "*"):
            leftover.unlink()
        process = python("-m", "sessionstats", "new", "--id", "s")
        time.sleep(one_run * (0.55 + 0.12 * attempt))  # late in the run, where the schema is made
        process.kill()
        sessions = cli.json("list")  # opens, creating or finishing the schema if it must
        assert [s["session_id"] for s in sessions] in ([], ["s"])
        if not sessions:
            cli.ok("new", "--id", "s")
        assert_opens_and_writes(cli)


@pytest.mark.slow
@pytest.mark.file_only
def test_killed_before_a_new_database_is_moved_into_place_leaves_no_file(cli, db, python):
    process = python("-c", PAUSE_AT, "while-creating", "new", "--id", "s")
    assert process.readline() == "reached\n", process.stderr
    kill(process)
    assert not db.exists()  # a file without its headers could never be opened again
    assert cli.json("list") == []
    cli.ok("new", "--id", "s")
    assert_opens_and_writes(cli)
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name, db.name + ".lock"]


@pytest.mark.file_only
@pytest.mark.parametrize("left", ["empty database", "empty draft", "headerless draft"])
def test_what_a_killed_creator_left_behind_does_not_stop_the_next_command(cli, db, left):
    """A creator killed inside DuckDB's connect leaves an empty file or one with part of its headers; an
    empty database file, with its lock file beside it, is what an older version left there."""
    target = db if left == "empty database" else db.with_name(db.name + ".creating")
    target.write_bytes(b"" if left.startswith("empty") else b"\0" * 4096)
    db.with_name(db.name + ".lock").touch()  # the creator held the lock (an empty file without one is not ours)
    cli.ok("new", "--id", "s")
    assert cli.json("list")[0]["session_id"] == "s"
    assert_opens_and_writes(cli)


def timed_run(db, *args: str) -> float:
    """Seconds one real run of the command takes now, on this machine."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "sessionstats", *args], env=environment(db), capture_output=True,
                   timeout=60, check=True)
    return time.monotonic() - started


@pytest.mark.slow
def test_killed_at_random_moments_each_record_is_whole_or_absent(cli, db, python):
    cli.ok("new", "--id", "s")
    one_run = timed_run(db, "record-story", "-s", "s", "--title", "timing")
    rng = random.Random(4)
    landed = 0
    for attempt in range(12):
        story_id = f"kill-{attempt}"
        process = python("-m", "sessionstats", "record-story", "-s", "s", "--id", story_id, "--title", story_id,
                         "--narrative", "alpha beta gamma delta", "--duration", "2.5")
        time.sleep(one_run * rng.uniform(0.6, 1.05))  # mostly late, where the lock and the write are
        out, _ = process.kill()
        rows = table_of(db, f"SELECT title, narrative, word_count, duration FROM story_history WHERE id = '{story_id}'")
        assert rows in ([], [(story_id, "alpha beta gamma delta", 4, 2.5)])
        if out.strip():  # it printed its id, so it had committed: the record must be there
            assert rows
        landed += len(rows)
        stats = cli.json("show", "s")
        assert stats["story_count"] == 1 + landed
        assert stats["word_count"] == 4 * landed
    assert_opens_and_writes(cli)


# ---- bulk imports ---------------------------------------------------------------------------------

IMPORT_ROWS = 200_000
IMPORT_SESSIONS = 50


def write_import_file(path) -> None:
    """IMPORT_ROWS token records over IMPORT_SESSIONS sessions that do not exist yet, each with a request id."""
    with path.open("w") as out:
        out.writelines(
            f'{{"session_id":"imp{i % IMPORT_SESSIONS}","input_tokens":{i % 997 + 1},"output_tokens":3,'
            f'"cost":"0.0001","request_id":"imp-{i}"}}\n'
            for i in range(IMPORT_ROWS))


def everything(db) -> tuple[list[tuple], ...]:
    return (*snapshot(db), table_of(db, "SELECT * FROM import_files ORDER BY ALL"))


def imported_rows(db) -> int:
    return table_of(db, "SELECT count(*) FROM token_usage WHERE request_id LIKE 'imp-%'")[0][0]


def assert_untouched(cli, db, before) -> None:
    """The database opens, reads and writes, and holds exactly what it held before the import."""
    assert imported_rows(db) == 0
    assert everything(db) == before
    assert [s["session_id"] for s in cli.json("list")] == ["s"]
    assert cli.json("show", "s")["api_calls"] == 1
    assert cli("show", "imp0").exit_code == 1


@pytest.fixture
def before_an_import(cli, db, tmp_path):
    """Alice's session `s` with a record and a story, and a file of IMPORT_ROWS rows to import."""
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "4", "--output", "6", "--cost", "0.5", "--request-id", "old")
    cli.ok("record-story", "-s", "s", "--title", "kept", "--narrative", "one two")
    rows = tmp_path / "rows.jsonl"
    write_import_file(rows)
    return rows, everything(db)


@pytest.mark.slow
@pytest.mark.file_only
@pytest.mark.parametrize("point", ["while-staging", "after-sessions", "after-insert", "before-commit"])
def test_an_import_killed_at_an_exact_point_leaves_none_of_its_rows(cli, db, python, before_an_import, point):
    rows, before = before_an_import
    process = python("-c", PAUSE_AT, point, "import", "tokens", str(rows), "--create-sessions")
    assert process.readline(timeout=120) == "reached\n", process.stderr
    kill(process)
    assert_untouched(cli, db, before)
    assert_opens_and_writes(cli)


@pytest.mark.slow
@pytest.mark.file_only
def test_an_import_killed_just_after_commit_has_all_its_rows(cli, db, python, before_an_import):
    """The control for the points above: the same hooks, one step later, and the whole import is there."""
    rows, _ = before_an_import
    process = python("-c", PAUSE_AT, "after-commit", "import", "tokens", str(rows), "--create-sessions")
    assert process.readline(timeout=120) == "reached\n", process.stderr
    kill(process)
    assert imported_rows(db) == IMPORT_ROWS
    assert len(cli.json("list")) == 1 + IMPORT_SESSIONS


@pytest.mark.slow
@pytest.mark.file_only
def test_an_import_killed_at_random_moments_is_whole_or_absent(cli, db, python, before_an_import):
    rows, before = before_an_import
    kept = db.with_name("before-import.duckdb")
    shutil.copyfile(db, kept)
    timing = db.with_name("timing.duckdb")  # not `kept`: each attempt starts without the rows
    shutil.copyfile(db, timing)
    one_run = timed_run(timing, "import", "tokens", str(rows), "--create-sessions")
    rng = random.Random(7)
    for _ in range(5):
        process = python("-m", "sessionstats", "import", "tokens", str(rows), "--create-sessions")
        time.sleep(one_run * rng.uniform(0.15, 1.0))
        process.kill()
        if imported_rows(db) == 0:
            assert_untouched(cli, db, before)
        else:  # it had committed: all of it, once
            assert imported_rows(db) == IMPORT_ROWS
            assert len(cli.json("list")) == 1 + IMPORT_SESSIONS
            shutil.copyfile(kept, db)
            db.with_name(db.name + ".wal").unlink(missing_ok=True)
    assert_opens_and_writes(cli)


@pytest.mark.slow
@pytest.mark.file_only
def test_a_claude_code_import_killed_before_commit_leaves_none_and_is_read_again(cli, db, python, tmp_path):
    usage = {"input_tokens": 5, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    at = datetime(2025, 5, 1, tzinfo=UTC)
    write_lines(tmp_path / "claude" / "projects" / "-home-me-old" / "earlier.jsonl",
                [assistant_line("earlier", f"msg_e{i}", f"req_e{i}", "claude-sonnet-4-20250514", usage, at)
                 for i in range(3)])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    before = everything(db)
    second = write_tree(tmp_path / "claude", sessions=3, messages=40, seed=2)
    process = python("-c", PAUSE_AT, "before-commit", "import", "claude-code", str(second.root))
    assert process.readline(timeout=120) == "reached\n", process.stderr
    kill(process)
    assert everything(db) == before  # no record, no session, and no log remembered as read
    cli.ok("list")
    cli.ok("import", "claude-code", str(second.root))  # nothing was marked read: the new logs are read now
    totals = {s["session_id"]: s["api_calls"] for s in cli.json("list")}
    assert totals == {"earlier": 3} | {session: t.records for session, t in second.expected.items() if t.records}
