"""A write that can only fail on a missing session or record makes no database where there is none.

A careless `delete old --yes --db typo.duckdb` used to leave a new empty database (and its .lock) at the typo,
then say "not found": the next command on that path found an empty database instead of the right hint.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sessionstats
from sessionstats.errors import SessionNotFound

pytestmark = pytest.mark.file_only

NEEDS_A_SESSION = [
    ("delete", "S", "--yes"),
    ("delete-record", "R", "--yes"),
    ("start", "S"),
    ("end", "S"),
    ("rename", "S", "new name"),
    ("record-tokens", "-s", "S", "--input", "1", "--output", "2"),
    ("record-story", "-s", "S", "--title", "t"),
    ("import", "tokens", "ROWS"),
    ("import", "stories", "STORIES"),
    ("reprice", "S"),
]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SESSIONSTATS_USER": "alice"}
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)


@pytest.mark.parametrize("command", NEEDS_A_SESSION, ids=lambda c: " ".join(c[:2]))
def test_a_write_that_needs_a_session_creates_no_database_where_there_is_none(tmp_path: Path, command) -> None:
    (tmp_path / "ROWS").write_text('{"session_id": "S", "input_tokens": 1, "output_tokens": 2}\n')
    (tmp_path / "STORIES").write_text('{"session_id": "S", "title": "t"}\n')
    result = run(tmp_path, *command, "--db", "typo.duckdb")
    assert result.returncode in (1, 2), result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ROWS", "STORIES"]


def test_a_missing_session_on_a_missing_database_says_there_is_no_database_yet(tmp_path: Path) -> None:
    result = run(tmp_path, "delete", "S", "--yes", "--db", "typo.duckdb")
    assert result.returncode == 1
    assert result.stderr == (f"sessionstats: session 'S' not found: there is no database at {tmp_path}/typo.duckdb "
                             "yet (a command that records, such as 'sessionstats new', makes it)\n")


def test_an_empty_import_without_create_sessions_makes_no_database(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    result = run(tmp_path, "import", "tokens", "empty.jsonl", "--db", "typo.duckdb")
    assert result.returncode == 0, result
    assert not (tmp_path / "typo.duckdb").exists()
    assert not (tmp_path / "typo.duckdb.lock").exists()


def test_repricing_everything_where_no_database_is_makes_none(tmp_path: Path) -> None:
    result = run(tmp_path, "reprice", "--all", "--db", "typo.duckdb")
    assert result.returncode == 0, result
    assert "changed 0 estimated costs in 0 sessions" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_recording_with_create_still_makes_the_database(tmp_path: Path) -> None:
    result = run(tmp_path, "record-tokens", "-s", "S", "--input", "1", "--output", "2", "--create",
                 "--db", "new.duckdb")
    assert result.returncode == 0, result
    assert (tmp_path / "new.duckdb").is_file()


def test_the_api_start_and_record_without_create_make_no_database(tmp_path: Path) -> None:
    database = sessionstats.connect(tmp_path / "typo.duckdb", user="alice")
    with pytest.raises(SessionNotFound):
        database.session("S").start()
    with pytest.raises(SessionNotFound):
        database.session("S").record_tokens(1, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [
    ("import", "tokens", "BAD", "--create-sessions"),
    ("import", "llm", "NOT_LLM"),
    ("import", "stories", "BAD_STORIES", "--create-sessions"),
], ids=["tokens", "llm", "stories"])
def test_bad_input_to_a_write_that_may_create_leaves_no_database_behind(tmp_path: Path, command) -> None:
    (tmp_path / "BAD").write_text('{"session_id": "s", "input_tokens": 1.5, "output_tokens": 2}\n')
    (tmp_path / "BAD_STORIES").write_text('{"session_id": "s", "title": ""}\n')
    (tmp_path / "NOT_LLM").write_text("not a database\n")
    result = run(tmp_path, *command, "--db", "new.duckdb")
    assert result.returncode == 2, result
    assert not (tmp_path / "new.duckdb").exists() and not (tmp_path / "new.duckdb.wal").exists()


def test_a_failing_write_never_removes_a_database_that_holds_a_session(tmp_path: Path) -> None:
    assert run(tmp_path, "new", "--id", "kept", "--db", "d.duckdb").returncode == 0
    (tmp_path / "BAD").write_text('{"session_id": "s", "input_tokens": 1.5, "output_tokens": 2}\n')
    assert run(tmp_path, "import", "tokens", "BAD", "--create-sessions", "--db", "d.duckdb").returncode == 2
    assert run(tmp_path, "show", "kept", "--db", "d.duckdb").returncode == 0
