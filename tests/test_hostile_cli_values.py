"""Odd values on the command line, run as a real process: one line naming the option, exit 2, nothing written."""

from __future__ import annotations

import pytest
from conftest import snapshot

import sessionstats

pytestmark = pytest.mark.file_only


@pytest.mark.parametrize(("args", "option"), [
    (("show", "s", "--watch", "--interval", "nan"), "--interval"),
    (("show", "s", "--watch", "--interval", "NaN"), "--interval"),
])
def test_nan_for_a_float_option_is_refused_not_a_busy_loop(run_process, db, args, option):
    assert run_process("new", "--id", "s").returncode == 0
    before = snapshot(db)
    result = run_process(*args, timeout=20)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"sessionstats: Invalid value for '{option}': nan is not a number")
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(db) == before


def test_nan_for_warn_at_is_refused_by_the_budget_rule_naming_the_option(run_process, db):
    assert run_process("new", "--id", "s").returncode == 0
    before = snapshot(db)
    result = run_process("check", "s", "--max-tokens", "5", "--warn-at", "nan", timeout=20)
    assert result.returncode == 2, result.stderr
    assert result.stderr == "sessionstats: --warn-at: must be a percentage from 0 to 100, got 'nan'\n"
    assert snapshot(db) == before


@pytest.mark.parametrize("command", ["calls", "stories"])
def test_a_last_past_the_largest_count_is_bad_input_not_a_database_error(run_process, command):
    assert run_process("new", "--id", "s").returncode == 0
    result = run_process(command, "s", "--last", "99999999999999999999")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("sessionstats: Invalid value for '--last': 99999999999999999999 is not in the "
                                    "range 1<=x<=9223372036854775807")


@pytest.mark.parametrize("limit", [2**63, 0, "5", 1.5, True])
def test_the_core_takes_a_record_list_limit_by_the_same_rule_as_list(tmp_path, limit):
    from sessionstats.errors import InvalidInput
    from sessionstats.reports.session_records import session_calls, session_stories
    from sessionstats.store import open_store

    sessionstats.connect(tmp_path / "t.duckdb", user="alice").new_session(id="s")
    with open_store(tmp_path / "t.duckdb") as store:
        for lines in (session_calls, session_stories):
            with pytest.raises(InvalidInput) as refused:
                lines(store, "s", user="alice", limit=limit)
            assert refused.value.field == "limit"


BAD_RECORD_IDS = [("", "the id is empty"), ("a\x1bb", "the id contains a control character (U+001B)"),
                  ("x" * 201, "the id is 201 characters long")]


@pytest.mark.parametrize(("record_id", "reason"), BAD_RECORD_IDS)
def test_explain_takes_a_record_id_by_the_id_rule_as_delete_record_does(run_process, record_id, reason):
    assert run_process("new", "--id", "s").returncode == 0
    for args in (("explain", record_id), ("delete-record", record_id, "--yes")):
        result = run_process(*args)
        assert result.returncode == 2, (args[0], result.stderr)
        assert result.stderr.startswith(f"sessionstats: RECORD_ID: {reason}"), result.stderr


def test_explain_strips_the_spaces_around_a_pasted_record_id(run_process):
    made = run_process("record-tokens", "-s", "s", "--create", "--input", "1", "--output", "1", "--cost", "0.5")
    result = run_process("explain", f" {made.stdout.strip()} ")
    assert result.returncode == 0, result.stderr
