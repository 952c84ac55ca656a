"""`doctor` says where the database is and in what state, and what there is to import; it changes nothing."""

import fcntl
import json
import os

import pytest

from sessionstats.store.migrations import LATEST_VERSION


def _findings(cli) -> dict[str, dict]:
    done = cli("doctor", "--format", "json")
    assert done.exit_code == 0, done.output
    return {finding["check"]: finding for finding in json.loads(done.stdout)}


def test_doctor_reports_the_database_schema_and_counts(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0.1")
    found = _findings(cli)
    assert found["database"]["ok"]
    assert found["schema"] == {"check": "schema", "ok": True, "remedy": "",
                               "detail": f"version {LATEST_VERSION}, current; 1 sessions, 1 token records in all"}
    assert found["price data"]["detail"].startswith("genai-prices 0.")
    assert found["user"]["detail"] == "alice"


@pytest.mark.file_only
def test_doctor_on_a_missing_database_says_so_and_makes_nothing(tmp_path, run_process):
    path = tmp_path / "never.duckdb"
    done = run_process("doctor", "--db", str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    found = {f["check"]: f for f in json.loads(done.stdout)}
    assert found["database"]["detail"] == f"no database at {path} yet; the first record makes it"
    assert "schema" not in found
    assert list(tmp_path.iterdir()) == []


@pytest.mark.file_only
def test_doctor_flags_a_database_others_can_read_with_the_command_to_mend_it(cli, db):
    cli.ok("new", "--id", "s")
    os.chmod(db, 0o644)
    found = _findings(cli)
    assert found["permissions"] == {"check": "permissions", "ok": False, "detail":
                                    f"{db} can be read by others (mode 644)", "remedy": f"chmod 600 {db}"}
    table = cli.ok("doctor", "--format", "table")
    assert f"PROBLEM  {db} can be read by others (mode 644); to mend: chmod 600 {db}" in table


@pytest.mark.file_only
@pytest.mark.parametrize(("operation", "expected"), [
    (fcntl.LOCK_EX, "a command is writing to it now (others wait up to SESSIONSTATS_LOCK_TIMEOUT seconds)"),
    (fcntl.LOCK_SH, "a command is reading it"),
])
def test_doctor_says_what_kind_of_command_holds_the_database(cli, db, operation, expected):
    cli.ok("new", "--id", "s")
    holder = os.open(f"{db}.lock", os.O_RDWR)
    try:
        fcntl.flock(holder, operation)
        assert _findings(cli)["lock"]["detail"] == expected
    finally:
        os.close(holder)
    assert _findings(cli)["lock"]["detail"] == "free"


def test_doctor_finds_claude_code_logs_on_this_machine(cli, tmp_path):
    project = tmp_path / "home" / ".claude" / "projects" / "radio"
    project.mkdir(parents=True)
    (project / "a.jsonl").write_text("{}\n")
    (project / "b.jsonl").write_text("{}\n")
    found = _findings(cli)
    assert found["history: claude-code"]["detail"] == "2 log files found; 'sessionstats import claude-code' reads them"
    assert found["history: codex"]["detail"] == "no logs found here"


@pytest.mark.file_only
def test_doctor_on_a_path_that_is_a_folder_is_a_problem_with_a_remedy(tmp_path, run_process):
    done = run_process("doctor", "--db", str(tmp_path), "--format", "json")
    found = {f["check"]: f for f in json.loads(done.stdout)}
    assert found["database"] == {"check": "database", "ok": False, "detail": f"{tmp_path} is not a regular file",
                                 "remedy": "point --db at a database file"}
