"""compare (sessions side by side) and check (budgets for a generation loop)."""

import csv
import io
import os
import subprocess
import sys

import pytest
from conftest import snapshot
from insight_data import build_radio, copy_into, template


def build_two(cli):
    """Radio (see insight_data) and Small: 2 stories of 100 words, one call of 1,000 tokens for $1, 12:00-13:00Z."""
    build_radio(cli)
    cli.ok("new", "Small", "--id", "small")
    cli.ok("record-story", "-s", "small", "--title", "one", "--word-count", "100", "--at", "2026-11-24T12:00:00Z")
    cli.ok("record-story", "-s", "small", "--title", "two", "--word-count", "100", "--at", "2026-11-24T12:30:00Z")
    cli.ok("record-tokens", "-s", "small", "--input", "600", "--output", "400", "--cost", "1",
           "--at", "2026-11-24T13:00:00Z")


@pytest.fixture(scope="module")
def two_db(tmp_path_factory):
    return template(tmp_path_factory, build_two)


@pytest.fixture
def two(cli, two_db):
    return copy_into(two_db, cli)


def test_compare_puts_each_session_in_its_own_column(two):
    out = two.ok("compare", "radio", "small", "--format", "table")
    lines = {line[:24].strip(): line[24:].split() for line in out.splitlines()}
    assert out.splitlines()[0].split() == ["Radio", "(radio)", "Small", "(small)"]
    assert lines["Stories"] == ["2", "2"]
    assert lines["Total tokens"] == ["2,200", "1,000"]
    assert lines["Total cost"] == ["$0.0128*", "$1.0000"]
    assert lines["Cost per story"] == ["$0.0064", "$0.5000"]
    assert lines["Active span"] == ["02:00:00", "01:00:00"]
    assert lines["Tokens per hour"] == ["1,100", "1,000"]
    assert lines["Session duration"] == ["02:00:00", "-"]
    assert out.rstrip().endswith("radio: note: 1 of 4 API calls have no known cost; the total covers the priced "
                                 "ones only.")


def test_compare_has_the_figures_of_show_in_json_and_csv(two):
    rows = two.json("compare", "small", "radio")
    assert [r["session_id"] for r in rows] == ["small", "radio"]
    assert rows[1] == two.json("show", "radio")
    table = list(csv.DictReader(io.StringIO(two.ok("compare", "small", "radio", "--format", "csv"))))
    assert [(r["session_id"], r["total_cost"]) for r in table] == [("small", "1"), ("radio", "0.0128")]


def test_compare_applies_the_filters_to_every_session(two):
    rows = two.json("compare", "radio", "small", "--since", "2026-11-24T10:00:00Z", "--until", "2026-11-24T12:15:00Z")
    assert [(r["story_count"], r["api_calls"]) for r in rows] == [(1, 2), (1, 0)]
    out = two.ok("compare", "radio", "small", "--tone", "urgent", "--format", "table")
    assert "Counting: tone urgent" in out


@pytest.mark.parametrize(
    ("ids", "code", "message"),
    [(["radio"], 2, "sessionstats: compare: give at least two sessions\n"),
     (["radio", "radio"], 2, "sessionstats: compare: session 'radio' is given twice\n"),
     (["radio", "nope"], 1, "sessionstats: session 'nope' not found ('sessionstats list' shows yours)\n")],
)
def test_compare_refuses_fewer_than_two_repeats_and_strangers(two, ids, code, message):
    result = two("compare", *ids)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", message)


def test_another_users_session_cannot_be_compared(two):
    result = two.as_user("bob")("compare", "radio", "small")
    assert result.exit_code == 1


# ---- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limits",
    [["--max-cost", "2"], ["--max-tokens", "2000"], ["--max-stories", "5"],
     ["--max-cost", "1.26", "--max-tokens", "1251", "--max-stories", "3"]],
)
def test_within_budget_exits_0_silently(two, limits):
    result = two("check", "small", *limits)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("limits", "message"),
    [(["--max-cost", "1"], "total cost $1.0000 has reached 100% of --max-cost $1.0000"),
     (["--max-cost", "0.5"], "total cost $1.0000 has reached 200% of --max-cost $0.5000"),
     (["--max-tokens", "1000"], "total tokens 1,000 has reached 100% of --max-tokens 1,000"),
     (["--max-stories", "2"], "stories 2 has reached 100% of --max-stories 2"),
     (["--max-stories", "0"], "stories 2 has reached --max-stories 0"),
     (["--max-tokens", "999", "--max-stories", "2", "--max-cost", "9"],
      "total tokens 1,000 has reached 100% of --max-tokens 999; stories 2 has reached 100% of --max-stories 2")],
)
def test_over_budget_exits_3_with_one_line_naming_the_limit_and_figure(two, limits, message):
    before = snapshot(two.db)
    result = two("check", "small", *limits)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"sessionstats: session 'small' is over budget: {message}\n"
    assert snapshot(two.db) == before


@pytest.mark.parametrize(
    ("limits", "warning"),
    [(["--max-cost", "1.25"], "total cost $1.0000 is at 80% of --max-cost $1.2500 (warning from 80%)"),
     (["--max-tokens", "1001"], "total tokens 1,000 is at 99% of --max-tokens 1,001 (warning from 80%)"),
     (["--max-stories", "3", "--warn-at", "50"], "stories 2 is at 66% of --max-stories 3 (warning from 50%)"),
     (["--max-stories", "4", "--warn-at", "12.5"], "stories 2 is at 50% of --max-stories 4 (warning from 12.5%)")],
)
def test_past_the_warning_threshold_warns_on_stderr_and_exits_0(two, limits, warning):
    result = two("check", "small", *limits)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", f"sessionstats: warning: {warning}\n")


def test_just_under_the_warning_threshold_is_silent(two):
    assert two("check", "small", "--max-cost", "1.2501").stderr == ""
    assert two("check", "small", "--max-stories", "3", "--warn-at", "67").stderr == ""


def test_check_warns_that_unpriced_calls_are_not_in_the_cost(two):
    result = two("check", "radio", "--max-cost", "5")
    assert (result.exit_code, result.stderr) == (0, "sessionstats: warning: 1 of 4 API calls have no known cost; "
                                                    "the cost checked against --max-cost covers the priced ones only\n")


def test_check_counts_only_the_window_given(two):
    assert two("check", "radio", "--max-stories", "2").exit_code == 3
    assert two("check", "radio", "--max-stories", "2", "--since", "2026-11-24T10:00:00Z").exit_code == 0


def test_check_on_an_empty_session(cli):
    cli.ok("new", "--id", "empty")
    assert cli("check", "empty", "--max-cost", "0.01").exit_code == 0
    assert cli("check", "empty", "--max-cost", "0").exit_code == 3


@pytest.mark.parametrize(
    ("args", "code", "start"),
    [([], 2, "sessionstats: check: give at least one limit: --max-cost, --max-tokens or --max-stories"),
     (["--max-cost", "-1"], 2, "sessionstats: --max-cost: must not be negative"),
     (["--max-cost", "lots"], 2, "sessionstats: --max-cost: must be a number of US dollars"),
     (["--max-tokens", "-5"], 2, "sessionstats: Invalid value for '--max-tokens'"),
     (["--max-stories", "3", "--warn-at", "101"], 2,
      "sessionstats: --warn-at: must be a percentage from 0 to 100, got '101'")],
)
def test_check_refuses_bad_limits(two, args, code, start):
    result = two("check", "small", *args)
    assert (result.exit_code, result.stdout) == (code, "")
    assert result.stderr.startswith(start) and result.stderr.count("\n") == 1


def test_check_warns_from_the_exact_share_given_as_the_api_reads_it(two, cli):
    """2 stories of a limit of 6 are 33.333...%: a float made --warn-at 33.33333333333333333 33.333333333333336,
    above that share, and no warning came, where the API (Decimal) warned."""
    result = two("check", "small", "--max-stories", "6", "--warn-at", "33.33333333333333333")
    assert result.exit_code == 0
    assert result.stderr == ("sessionstats: warning: stories 2 is at 33% of --max-stories 6 "
                             "(warning from 33.33333333333333333%)\n")
    assert two("check", "small", "--max-stories", "6", "--warn-at", "33.333333333333333334").stderr == ""


def test_check_of_a_missing_session_is_exit_1(two):
    assert two("check", "nope", "--max-cost", "1").exit_code == 1


def test_check_stops_a_generation_loop_at_the_limit(db, cli):
    cli.ok("new", "--id", "loop")
    command = f"{sys.executable} -m sessionstats"
    script = (f'while {command} check loop --max-stories 3; do '
              f'{command} record-story -s loop --title next >/dev/null; done; echo stopped')
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout == "stopped\n"
    assert cli.json("show", "loop")["story_count"] == 3
    assert done.stderr == ("sessionstats: session 'loop' is over budget: stories 3 has reached 100% of "
                           "--max-stories 3\n")
