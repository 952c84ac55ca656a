"""What a person or a script sees is safe: a full or closed stdout is one line (exit 5, never a silent
duplicate), control characters never reach a terminal, and no TSV field carries a raw tab or newline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import table_of
from typer.testing import CliRunner

from sessionstats.cli import app

SESSION = "s1"

# Every command, with arguments that succeed on the module's database; each writes to stdout or not.
COMMANDS = [
    ("new", "another"),
    ("record-story", "-s", SESSION, "--title", "t"),
    ("record-tokens", "-s", SESSION, "--input", "1", "--output", "2"),
    ("show", SESSION, "--format", "table"),
    ("show", SESSION, "--format", "json"),
    ("show", SESSION, "--by", "model", "--format", "tsv"),
    ("list", "--format", "csv"),
    ("list", "--format", "table"),
    ("timeline", SESSION, "--format", "tsv"),
    ("compare", SESSION, "s2", "--format", "table"),
    ("check", SESSION, "--max-cost", "100"),
    ("reprice", "--all", "--dry-run"),
    ("start", SESSION),
    ("rename", SESSION, "renamed"),
    ("--help",),
    ("show", "--help"),
    ("import", "--help"),
    ("--version",),
]
WRITES_NOTHING = {"start", "rename", "check"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with one session holding a story and a token record."""
    path = tmp_path_factory.mktemp("seeded") / "stats.duckdb"
    runner = CliRunner()
    for args in (("new", "first", "--id", SESSION), ("new", "second", "--id", "s2"),
                 ("record-story", "-s", SESSION, "--title", "a"),
                 ("record-tokens", "-s", SESSION, "--input", "5", "--output", "7", "--model", "claude-sonnet-4-5")):
        result = runner.invoke(app, [*args, "--db", str(path), "--user", "alice"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def database(seeded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "stats.duckdb"
    shutil.copy(seeded, copy)
    return copy


def run_shell(database: Path, redirect: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run the real CLI with stdout redirected by a shell (`>/dev/full`, `>&-`, `| head -c 1`)."""
    env = {**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice", "PYTHONUNBUFFERED": ""}
    script = f'"$@" {redirect}'
    return subprocess.run(["sh", "-c", script, "sh", sys.executable, "-m", "sessionstats", *args],
                          input=stdin, env=env, capture_output=True, timeout=60)


def token_rows(database: Path) -> int:
    return table_of(database, "SELECT count(*) FROM token_usage")[0][0]


def writes_to_stdout(args: tuple[str, ...]) -> bool:
    return args[0] not in WRITES_NOTHING


@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_full_or_closed_stdout_is_one_line_and_exit_5_on_every_command(database, redirect, args):
    result = run_shell(database, redirect, *args)
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    if not writes_to_stdout(args):
        assert result.returncode == 0, stderr
        return
    assert result.returncode == 5, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    reason = "No space left on device" if redirect == ">/dev/full" else "it is closed"
    assert lines[0].startswith(f"sessionstats: could not write to standard output ({reason})")


@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
def test_a_record_whose_id_cannot_be_printed_is_stored_once_and_the_line_gives_its_id(database, redirect):
    before = token_rows(database)
    result = run_shell(database, redirect, "record-tokens", "-s", SESSION, "--input", "3", "--output", "4")
    assert result.returncode == 5
    stored = table_of(database, "SELECT id FROM token_usage ORDER BY id DESC LIMIT 1")[0][0]
    assert token_rows(database) == before + 1
    assert result.stderr.decode().rstrip("\n").endswith(
        f"; token record {stored} IS stored: do not record it again")


@pytest.mark.parametrize("command, what, table", [
    (("new", "x"), "session", "sessions"),
    (("record-story", "-s", SESSION, "--title", "t"), "story", "story_history"),
])
def test_every_record_command_says_what_it_stored_when_stdout_is_full(database, command, what, table):
    result = run_shell(database, ">/dev/full", *command)
    assert result.returncode == 5
    newest = table_of(database, f"SELECT id FROM {table} ORDER BY created_at DESC, id DESC LIMIT 1")[0][0]
    assert f"; {what} {newest} IS stored" in result.stderr.decode()


def test_a_pass_through_copy_that_fails_still_records_the_paid_call_and_says_so(database):
    body = Path(__file__).parent / "fixtures" / "responses" / "anthropic_message.json"
    before = token_rows(database)
    result = run_shell(database, ">/dev/full", "record-tokens", "-s", SESSION, "--from-response", "-",
                       "--pass-through", stdin=body.read_bytes())
    assert result.returncode == 5, result.stderr
    assert token_rows(database) == before + 1
    assert "IS stored" in result.stderr.decode().splitlines()[-1]


@pytest.mark.parametrize("args", [a for a in COMMANDS if a[0] in {"show", "list", "--help", "timeline"}],
                         ids=" ".join)
def test_a_reader_that_goes_away_is_quiet_and_exit_0(database, args):
    result = run_shell(database, "| head -c 1 >/dev/null; exit ${PIPESTATUS:-0}", *args)
    assert result.returncode == 0
    assert result.stderr == b""


def test_a_broken_pipe_keeps_the_exit_status_0_of_the_command_itself(database):
    script = '"$@" | head -c 1 >/dev/null'
    env = {**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"}
    result = subprocess.run(["bash", "-c", f"{script}; exit ${{PIPESTATUS[0]}}", "bash", sys.executable, "-m",
                             "sessionstats", "show", SESSION, "--format", "json"],
                            env=env, capture_output=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, b"")


def test_a_closed_stderr_and_stdout_still_give_the_exit_code(database):
    result = run_shell(database, ">&- 2>&-", "show", "nope")
    assert result.returncode == 1


def test_a_closed_stdout_never_lets_the_database_take_its_place(database):
    """With fd 1 closed, the database file would be opened as fd 1 and `print` would write into it."""
    before = database.read_bytes()
    result = run_shell(database, ">&-", "list", "--format", "tsv")
    assert result.returncode == 5
    assert token_rows(database) == 1
    assert database.read_bytes() == before
