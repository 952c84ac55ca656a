"""Acknowledged means kept: a record the database cannot take in time is journaled and stored exactly once."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import db_argument, table_of

import sessionstats
from sessionstats.ingest.journal import journal_path

HOLD_LOCK = ("import fcntl, os, sys\n"
             "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
             "fcntl.flock(fd, fcntl.LOCK_EX)\n"
             "print('locked', flush=True)\n"
             "sys.stdin.read()\n")


def read_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    """The child's next line of output, or a failure after `timeout` seconds (never a hang)."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the child printed nothing in time"
    return proc.stdout.readline().strip()


def reap(proc: subprocess.Popen) -> None:
    if proc.stdin:
        proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


@contextmanager
def lock_held(db: Path) -> Iterator[None]:
    """Another process holds the database's writer lock (the flock store/file.py takes) for the block."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, f"{db}.lock"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(holder) == "locked"
        yield
    finally:
        reap(holder)


@pytest.fixture
def api(db, monkeypatch):
    monkeypatch.setenv("SESSIONSTATS_LOCK_TIMEOUT", "0.2")
    database = sessionstats.connect(db_argument(db), user="alice")
    database.new_session("Friday", id="friday")
    return database


def stored(db: Path) -> list[tuple]:
    return table_of(db, "SELECT id, input_tokens, output_tokens, estimated_cost FROM token_usage ORDER BY id")


@pytest.mark.file_only
@pytest.mark.slow
def test_a_record_made_while_another_process_holds_the_lock_is_kept_and_stored_by_the_next_write(api, db,
                                                                                                   run_process):
    session = api.session("friday")
    with lock_held(db):
        kept = session.record_tokens(1200, 350, cost="0.0089")
        story = session.record_story("Harbour at dawn")
    assert "the next write stores it" in kept.warning and kept.created
    assert api.pending_journal() == 2 and stored(db) == []
    shown = run_process("show", "friday", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["api_calls"] == 0
    assert shown.stderr == (f"sessionstats: note: 2 records kept while the database was busy wait in "
                            f"{journal_path(db)}; the next write stores them (these figures leave them out)\n")
    done = run_process("new", "--id", "another")  # any write, from any process
    assert done.returncode == 0, done.stderr
    assert stored(db) == [(kept.id, 1200, 350, Decimal("0.0089"))]
    assert table_of(db, "SELECT id FROM story_history") == [(story.id,)]
    assert api.pending_journal() == 0
    again = run_process("show", "friday", "--format", "json")
    assert again.stderr == "" and json.loads(again.stdout)["api_calls"] == 1


@pytest.mark.file_only
@pytest.mark.slow
def test_a_tracked_call_made_while_the_database_is_locked_is_kept(api, db):
    from test_track import Served, anthropic, anthropic_create

    client = sessionstats.track(Served("anthropic_message.json").client(anthropic), session=api.session("friday"))
    with lock_held(db), pytest.warns(sessionstats.TrackWarning, match="the next write stores it"):
        anthropic_create(client)
    assert api.pending_journal() == 1
    api.session("friday").record_tokens(1, 1, cost="0")
    assert table_of(db, "SELECT request_id FROM token_usage WHERE request_id IS NOT NULL") == [
        ("msg_01XFDUDYJgAACzvnptvVoYEL",)]


KILLED_AFTER_APPEND = textwrap.dedent("""
    import os, sys, time
    import sessionstats
    kept = sessionstats.connect(sys.argv[1], user="alice").session("friday").record_tokens(7, 8, cost="0.5")
    print(kept.id, flush=True)
    time.sleep(120)
""")


@pytest.mark.file_only
@pytest.mark.slow
def test_a_process_killed_right_after_its_journal_append_loses_nothing(api, db, run_process):
    with lock_held(db):
        recorder = subprocess.Popen([sys.executable, "-c", KILLED_AFTER_APPEND, str(db)], stdout=subprocess.PIPE,
                                    text=True, env={**os.environ, "SESSIONSTATS_LOCK_TIMEOUT": "0.2"})
        try:
            record_id = read_line(recorder)
            recorder.send_signal(signal.SIGKILL)
        finally:
            reap(recorder)
    assert api.pending_journal() == 1
    done = run_process("record-story", "-s", "friday", "--title", "after the crash")
    assert done.returncode == 0, done.stderr
    assert stored(db) == [(record_id, 7, 8, Decimal("0.5"))]


@pytest.mark.file_only
@pytest.mark.slow
def test_a_journal_folded_twice_stores_each_record_once(api, db):
    with lock_held(db):
        kept = api.session("friday").record_tokens(3, 4, cost="0.1")
    lines = journal_path(db).read_bytes()
    api.session("friday").record_story("first write folds it")
    journal_path(db).write_bytes(lines)  # as if the folder died after storing, before emptying the journal
    api.session("friday").record_story("second write folds it again")
    assert stored(db) == [(kept.id, 3, 4, Decimal("0.1"))]
    assert api.pending_journal() == 0


@pytest.mark.file_only
def test_a_torn_last_line_is_set_aside_and_never_glued_to_the_next_record(api, db):
    journal_path(db).write_bytes(b'{"id": "torn", "kind": "tok')  # a writer killed mid-line
    from sessionstats.ingest.journal import JournalEntry, append
    from sessionstats.ingest.records import TokenUsageInput, prepare_usage

    usage = prepare_usage(TokenUsageInput("friday", 5, 6, cost=None))
    append(db, JournalEntry("0193a000-0000-7000-8000-000000000001", "tokens", "alice", usage))
    assert api.pending_journal() == 2
    api.session("friday").record_story("a write")
    assert [row[:3] for row in stored(db)] == [("0193a000-0000-7000-8000-000000000001", 5, 6)]
    rejected = journal_path(db).with_name(journal_path(db).name + ".rejected").read_text().splitlines()
    assert [json.loads(line)["line"] for line in rejected] == ['{"id": "torn", "kind": "tok']


@pytest.mark.file_only
def test_a_record_whose_session_was_deleted_meanwhile_is_set_aside_and_writes_go_on(api, db, cli):
    with journal_path(db).open("w") as journal:
        journal.write(json.dumps({"id": "0193a000-0000-7000-8000-000000000002", "kind": "tokens", "user": "alice",
                                  "create": False, "record": {"session_id": "gone", "input_tokens": 1,
                                                              "output_tokens": 1, "cost_source": "unknown"}}) + "\n")
    cli.ok("record-tokens", "-s", "friday", "--input", "1", "--output", "2", "--cost", "0")
    assert table_of(db, "SELECT session_id FROM token_usage") == [("friday",)]
    assert api.pending_journal() == 0
    assert "gone" in journal_path(db).with_name(journal_path(db).name + ".rejected").read_text()


def test_an_unreachable_server_keeps_the_record_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    server = sessionstats.connect("postgresql://alice@127.0.0.1:9/nowhere")  # port 9: nothing listens
    kept = server.session("friday").record_tokens(1, 2, cost="0.01")
    assert "the next write stores it" in kept.warning
    assert server.pending_journal() == 1
    assert str(journal_path(server.target)).startswith(os.environ["XDG_DATA_HOME"])


def test_a_broken_database_file_is_an_error_not_a_journal(tmp_path):
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(sessionstats.DatabaseUnusable):
        sessionstats.connect(broken, user="alice").session("friday", create=True).record_tokens(1, 1)
    assert not journal_path(broken).exists()


def test_a_journaled_record_is_stored_by_the_next_write_on_either_backend(api, db):
    from sessionstats.ingest.journal import JournalEntry, append
    from sessionstats.ingest.records import TokenUsageInput, prepare_usage

    usage = prepare_usage(TokenUsageInput("friday", 11, 12, cost=Decimal("0.25"), request_id="req-journaled"))
    append(api.target, JournalEntry("0193a000-0000-7000-8000-000000000003", "tokens", "alice", usage))
    append(api.target, JournalEntry("0193a000-0000-7000-8000-000000000003", "tokens", "alice", usage))
    assert api.pending_journal() == 2
    api.session("friday").record_story("any write")
    assert table_of(db, "SELECT id, input_tokens, request_id FROM token_usage") == [
        ("0193a000-0000-7000-8000-000000000003", 11, "req-journaled")]
    assert api.pending_journal() == 0


@pytest.mark.file_only
def test_a_journal_that_cannot_be_written_is_an_error_naming_it_not_a_lost_record(api, db, tmp_path):
    journal_path(db).mkdir()  # a folder where the journal file should be
    with lock_held(db), pytest.raises(sessionstats.DatabaseUnusable, match="cannot keep the record in the journal"):
        api.session("friday").record_tokens(1, 2, cost="0")
    api.session("friday").record_story("writes go on")
    assert api.pending_journal() == 0


MANY_RECORDS = textwrap.dedent("""
    import sys
    import sessionstats
    session = sessionstats.connect(sys.argv[1], user="alice").session("friday")
    for n in range(5):
        session.record_tokens(1, 1, cost="0.001", request_id=f"{sys.argv[2]}-{n}")
""")


@pytest.mark.slow
@pytest.mark.file_only
def test_processes_journaling_at_once_each_keep_every_record_and_one_write_stores_them_all(api, db):
    with lock_held(db):
        writers = [subprocess.Popen([sys.executable, "-c", MANY_RECORDS, str(db), f"p{n}"],
                                    env={**os.environ, "SESSIONSTATS_LOCK_TIMEOUT": "0.2"}) for n in range(4)]
        try:
            assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
        finally:
            for writer in writers:
                if writer.poll() is None:
                    writer.kill()
                    writer.wait(timeout=30)
    assert api.pending_journal() == 20
    api.session("friday").record_story("a write")
    assert table_of(db, "SELECT count(*), count(DISTINCT request_id) FROM token_usage") == [(20, 20)]
