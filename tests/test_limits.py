"""The edges of what is accepted: values at a limit work end to end, values past it are refused cleanly."""

import json
from decimal import Decimal

import pytest
from conftest import Cli, snapshot, table_of
from typer.testing import CliRunner

from sessionstats.cli import app
from sessionstats.validate import MAX_COST

TOKENS = ("record-tokens", "-s", "s", "--input", "1", "--output", "1")


@pytest.mark.parametrize("at", ["99999999999d", "999999999999999999999999w", "9999-12-31T23:00:00Z",
                                "0001-01-01T05:00:00+06:00", "0001-01-01T00:00:00Z"])
def test_times_past_the_calendar_are_refused_not_a_traceback(cli, at):
    cli.ok("new", "--id", "s")
    before = snapshot(cli.db)
    result = cli(*TOKENS, "--at", at)
    assert result.exit_code == 2, result.exception
    assert result.stderr == f"sessionstats: --at: {at!r} is too far in the past or future to store\n"
    assert snapshot(cli.db) == before


def test_the_latest_time_accepted_shows_in_the_furthest_zones(cli):
    cli.ok("new", "--id", "s")
    cli.ok(*TOKENS, "--at", "9999-12-30T00:00:00Z")
    cli.ok(*TOKENS, "--at", "0001-01-02T00:00:00Z")
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        shown = cli.ok("show", "s", "--tz", zone, "--format", "table")
        assert "Session Overview" in shown
        rows = json.loads(cli.ok("list", "--tz", zone, "--format", "json"))
        assert rows[0]["api_calls"] == 2


def test_the_largest_costs_accepted_still_add_up_exactly(cli):
    largest = MAX_COST - Decimal("0.000000000000000001")
    cli.ok("new", "--id", "s")
    cli.ok("new", "--id", "t")
    for _ in range(3):
        cli.ok(*TOKENS, "--cost", str(largest))
    cli.ok("record-story", "-s", "s", "--title", "one word", "--narrative", "word")
    stats = json.loads(cli.ok("show", "s", "--format", "json"), parse_float=Decimal)
    assert stats["total_cost"] == largest * 3
    for sort in ("total_cost", "cost_per_1k_words", "cost_per_story"):
        rows = json.loads(cli.ok("list", "--sort", sort, "--format", "json"), parse_float=Decimal)
        assert [row["session_id"] for row in rows] == ["s", "t"]


def test_a_cost_at_the_cap_is_refused(cli):
    cli.ok("new", "--id", "s")
    result = cli(*TOKENS, "--cost", str(MAX_COST))
    assert result.exit_code == 2
    assert result.stderr == ("sessionstats: --cost: '1000000000' is too large "
                             "(a record must cost under 1,000,000,000 US dollars)\n")
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]


def test_a_list_limit_past_bigint_is_bad_input(cli):
    result = cli("list", "--limit", str(2**64))
    assert result.exit_code == 2
    assert result.stderr == (f"sessionstats: Invalid value for '--limit': {2**64} is not in the range "
                             f"1<=x<={2**63 - 1} (see 'sessionstats list --help')\n")


def test_an_empty_db_path_is_refused_rather_than_using_the_default(tmp_path):
    result = CliRunner().invoke(app, ["new", "x", "--db", "", "--user", "alice"])
    assert result.exit_code == 2
    assert result.stderr == "sessionstats: --db: the database path is empty\n"
    assert not (tmp_path / "xdg-data").exists()


def test_a_db_path_that_is_a_folder_is_refused_and_leaves_no_lock_file_beside_it(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = Cli(folder)("new", "x")
    assert result.exit_code == 4
    assert result.stderr == f"sessionstats: cannot use the database at {folder}: it is a folder, not a database file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
