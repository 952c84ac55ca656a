"""An older sessionstats' database (schema 4) is upgraded only by a write that succeeds.

A failing write leaves the file byte for byte as it was (the upgrade is made in a copy that replaces it
on success); a read never upgrades it and says in one line what will. Real processes, real files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import table_of
from test_database_file import folder_state, older_database, refused, sessionstats

from sessionstats.ingest.journal import JournalEntry, append
from sessionstats.ingest.records import TokenUsageInput
from sessionstats.store.migrations import LATEST_VERSION

pytestmark = pytest.mark.file_only

FAILING_WRITES = {
    "record-tokens to a missing session": (("record-tokens", "-s", "nosuch", "--input", "1", "--output", "2"), 1),
    "record-story to a missing session": (("record-story", "-s", "nosuch", "--title", "t"), 1),
    "record-tokens with a negative count": (("record-tokens", "-s", "s", "--input", "-1", "--output", "2"), 2),
    "record-tokens with a bad cost": (("record-tokens", "-s", "s", "--input", "1", "--output", "2",
                                       "--cost", "-0.5"), 2),
    "rename of a missing session": (("rename", "nosuch", "x"), 1),
    "start of a missing session": (("start", "nosuch"), 1),
    "delete of a missing session": (("delete", "nosuch", "--yes"), 1),
    "delete-record of a missing record": (("delete-record", "nosuch", "--yes"), 1),
    "new with an id already there": (("new", "--id", "s"), 2),
}
READS = [("show", "s"), ("list",), ("stories", "s"), ("calls", "s"), ("timeline", "s"), ("compare", "s", "s"),
         ("check", "s", "--max-cost", "1"), ("export", "--to", "OUT/usage.csv"),
         ("export", "--what", "stats", "--to", "OUT/stats.jsonl"),
         ("explain", "--session", "s"), ("reprice", "--all", "--dry-run")]


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    return older_database(tmp_path)


def output_into(tmp_path: Path, command: tuple[str, ...]) -> tuple[str, ...]:
    """The command with OUT/ naming a fresh folder of its own (export's file goes there, not beside the database)."""
    (tmp_path / "out").mkdir(exist_ok=True)
    return tuple(arg.replace("OUT/", f"{tmp_path / 'out'}/") for arg in command)


def schema_version(db: Path) -> int:
    return table_of(db, "SELECT max(version) FROM schema_migrations")[0][0]


def one_line(result, code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("case", list(FAILING_WRITES))
def test_a_failing_write_leaves_an_older_database_byte_for_byte_as_it_was(old_db, case):
    args, code = FAILING_WRITES[case]
    before = folder_state(old_db.parent)
    one_line(sessionstats(old_db, *args), code)
    assert folder_state(old_db.parent) == before


def test_an_import_with_a_bad_line_leaves_an_older_database_as_it_was(old_db, tmp_path):
    records = tmp_path / "in" / "calls.jsonl"
    records.parent.mkdir()
    records.write_text('{"session_id": "s", "input_tokens": 1, "output_tokens": 2}\n'
                       '{"session_id": "s", "input_tokens": 1.5, "output_tokens": 2}\n')
    before = folder_state(old_db.parent)
    result = sessionstats(old_db, "import", "tokens", str(records))
    one_line(result, 2)
    assert "line 2" in result.stderr
    assert folder_state(old_db.parent) == before


def test_a_write_that_succeeds_upgrades_the_older_database_and_keeps_its_rows(old_db):
    done = sessionstats(old_db, "record-tokens", "-s", "s", "--input", "7", "--output", "3")
    assert done.returncode == 0, done.stderr
    assert schema_version(old_db) == LATEST_VERSION
    assert sorted(table_of(old_db, "SELECT input_tokens, output_tokens FROM token_usage")) == [(7, 3), (10, 5)]
    assert sorted(p.name for p in old_db.parent.iterdir()) == ["stats.duckdb", "stats.duckdb.lock"]
    assert (old_db.stat().st_mode & 0o777) == 0o600


def test_an_older_database_fails_a_write_then_a_later_write_upgrades_it(old_db):
    one_line(sessionstats(old_db, "record-tokens", "-s", "nosuch", "--input", "1", "--output", "2"), 1)
    assert schema_version(old_db) == 4
    assert sessionstats(old_db, "init-db").returncode == 0
    assert schema_version(old_db) == LATEST_VERSION


def test_a_copy_a_killed_upgrade_left_is_thrown_away_not_used(old_db):
    leftover = old_db.with_name(old_db.name + ".upgrading")
    leftover.write_bytes(b"half a database")
    one_line(sessionstats(old_db, "record-story", "-s", "nosuch", "--title", "t"), 1)
    assert not leftover.exists()
    assert sessionstats(old_db, "record-story", "-s", "s", "--title", "t").returncode == 0
    assert not leftover.exists() and schema_version(old_db) == LATEST_VERSION


def test_the_journals_records_outlive_a_failing_write_that_upgrades_the_database(old_db):
    """Records kept while the database was busy were acknowledged: folded into the upgrade, they stay."""
    append(old_db, JournalEntry(id="kept-1", kind="tokens", user="alice",
                                record=TokenUsageInput(session_id="s", input_tokens=40, output_tokens=2)))
    one_line(sessionstats(old_db, "record-tokens", "-s", "nosuch", "--input", "1", "--output", "2"), 1)
    assert table_of(old_db, "SELECT id, input_tokens FROM token_usage WHERE id = 'kept-1'") == [("kept-1", 40)]
    assert old_db.with_name(old_db.name + ".journal").read_text() == ""
    assert schema_version(old_db) == LATEST_VERSION


def test_a_newer_database_is_refused_by_a_write_and_left_as_it_was(old_db):
    import duckdb

    con = duckdb.connect(str(old_db))
    con.execute("INSERT INTO schema_migrations VALUES (999, 'm999_future', now())")
    con.close()
    before = folder_state(old_db.parent)
    refused(sessionstats(old_db, "new", "--id", "t"), "newer sessionstats (schema 999")
    assert folder_state(old_db.parent) == before


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_a_read_of_an_older_database_says_so_in_one_line_and_changes_nothing(old_db, tmp_path, command):
    before = folder_state(old_db.parent)
    refused(sessionstats(old_db, *output_into(tmp_path, command)),
            f"an older schema (4; this sessionstats uses {LATEST_VERSION})")
    assert folder_state(old_db.parent) == before
    assert list((tmp_path / "out").iterdir()) == []  # no export file begun


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_a_read_of_a_missing_database_creates_nothing(tmp_path, command):
    (tmp_path / "db").mkdir()
    result = sessionstats(tmp_path / "db" / "none.duckdb", *output_into(tmp_path, command))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and "no database at" in result.stderr.splitlines()[0], result.stderr
    assert list((tmp_path / "db").iterdir()) == []


def test_doctor_on_an_older_database_names_the_schema_and_changes_nothing(old_db):
    before = folder_state(old_db.parent)
    result = sessionstats(old_db, "doctor", "--format", "json")
    schema = {row["check"]: row for row in json.loads(result.stdout)}["schema"]
    assert not schema["ok"] and "an older schema (4;" in schema["detail"]
    assert folder_state(old_db.parent) == before


@pytest.mark.parametrize("path", ["/api/sessions", "/api/sessions/s", "/api/sessions/s/detail"])
def test_the_web_panels_reads_of_an_older_database_are_one_error_and_change_nothing(old_db, path):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    import sessionstats
    from sessionstats.serve.app import build_app

    before = folder_state(old_db.parent)
    with TestClient(build_app(sessionstats.connect(str(old_db), "alice"))) as client:
        answer = client.get(path)
    assert answer.status_code == 503
    assert "an older schema (4;" in answer.json()["error"] and "\n" not in answer.json()["error"]
    assert folder_state(old_db.parent) == before


def leave_a_wal(db: Path) -> None:
    """A process that committed a session and died before DuckDB folded its WAL into the file."""
    script = ("import duckdb, os, sys\n"
              "con = duckdb.connect(sys.argv[1])\n"
              "con.execute(\"SET wal_autocheckpoint = '1GB'\")\n"
              "con.execute(\"INSERT INTO sessions (user_id, id, created_at) VALUES ('alice', 'from-wal', now())\")\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(db)], check=True, timeout=60)
    assert db.with_name(db.name + ".wal").exists()


def test_a_failing_write_leaves_an_older_database_and_its_wal_as_they_were(old_db):
    leave_a_wal(old_db)
    before = folder_state(old_db.parent)
    one_line(sessionstats(old_db, "record-tokens", "-s", "nosuch", "--input", "1", "--output", "2"), 1)
    assert folder_state(old_db.parent) == before


def test_a_write_upgrades_an_older_database_with_the_records_its_wal_held(old_db):
    leave_a_wal(old_db)
    assert sessionstats(old_db, "record-tokens", "-s", "from-wal", "--input", "3", "--output", "1").returncode == 0
    assert sorted(p.name for p in old_db.parent.iterdir()) == ["stats.duckdb", "stats.duckdb.lock"]
    assert schema_version(old_db) == LATEST_VERSION
    assert table_of(old_db, "SELECT session_id, input_tokens FROM token_usage WHERE session_id = 'from-wal'") == [
        ("from-wal", 3)]


def test_an_import_of_every_agent_that_finds_nothing_leaves_an_older_database_as_it_was(old_db, tmp_path):
    before = folder_state(old_db.parent)
    empty_home = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "home" / "data"),
                  "XDG_CONFIG_HOME": str(tmp_path / "home" / "config"), "CLAUDE_CONFIG_DIR": str(tmp_path / "none"),
                  "CODEX_HOME": str(tmp_path / "none"), "GEMINI_CLI_HOME": str(tmp_path / "none")}
    result = sessionstats(old_db, "import", "--all", env=empty_home)
    assert result.returncode == 0, result.stderr
    assert "no agent history found" in result.stderr
    assert folder_state(old_db.parent) == before


def test_a_folder_where_the_upgrade_copy_goes_is_one_line_and_the_database_is_left_as_it_was(old_db):
    (old_db.parent / "stats.duckdb.upgrading").mkdir()
    before = folder_state(old_db.parent)
    refused(sessionstats(old_db, "record-tokens", "-s", "s", "--input", "1", "--output", "2"),
            f"{old_db}.upgrading is in the way of upgrading it (is a directory); move it away first")
    assert folder_state(old_db.parent) == before
