"""The edges of what is accepted: values at a limit work end to end, values past it are refused cleanly."""

import json

import pytest
from conftest import snapshot

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
