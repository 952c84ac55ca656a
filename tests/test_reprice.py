"""sessionstats reprice: estimated costs follow the price data; given costs never move."""

import json
from decimal import Decimal

import pytest
from conftest import execute_in, snapshot, table_of


@pytest.fixture
def recorded(cli):
    cli.ok("new", "--id", "a")
    cli.ok("new", "--id", "b")
    # 1,200 x $3/M + 350 x $15/M = 0.00885 (estimated)
    cli.ok("record-tokens", "-s", "a", "--model", "claude-sonnet-4-5", "--input", "1200", "--output", "350")
    cli.ok("record-tokens", "-s", "a", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1",
           "--cost", "5")
    cli.ok("record-tokens", "-s", "b", "--model", "not-yet-priced", "--input", "1000", "--output", "100")
    cli.ok("record-tokens", "-s", "b", "--input", "7", "--output", "7")  # no model: nothing to price
    return cli


def test_nothing_changes_when_the_prices_are_current(recorded):
    before = snapshot(recorded.db)
    result = recorded("reprice", "--all", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"session_id": "a", "records": 1, "changed": 0, "cost_before": 0.00885, "cost_after": 0.00885,
         "difference": 0, "unpriced_before": 0, "unpriced_after": 0},
        {"session_id": "b", "records": 1, "changed": 0, "cost_before": 0, "cost_after": 0, "difference": 0,
         "unpriced_before": 1, "unpriced_after": 1},
    ]
    assert "model 'not-yet-priced' is not in the price data" in result.stderr
    assert snapshot(recorded.db) == before


def test_stale_estimates_are_recomputed_and_the_difference_shown(recorded):
    execute_in(recorded.db, "UPDATE token_usage SET estimated_cost = 0.02 WHERE cost_source = 'estimated'")
    # a model the old snapshot did not know, and the new one does: 1,000 x $2.50/M + 100 x $10/M = 0.0035
    execute_in(recorded.db, "UPDATE token_usage SET model = 'gpt-4o' WHERE model = 'not-yet-priced'")
    dry = recorded("reprice", "a", "b", "--dry-run", "--format", "csv")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines() == [
        "session_id,records,changed,cost_before,cost_after,difference,unpriced_before,unpriced_after",
        "a,1,1,0.02,0.00885,-0.01115,0,0",
        "b,1,1,0,0.0035,0.0035,1,0",
    ]
    assert "would change 2 estimated costs in 2 sessions (dry run: nothing written)" in dry.stderr
    assert table_of(recorded.db, "SELECT count(*) FROM token_usage WHERE estimated_cost = 0.02") == [(1,)]
    applied = recorded("reprice", "a", "b", "--format", "table")
    assert applied.exit_code == 0
    assert "-$0.0112" in applied.stdout and "+$0.0035" in applied.stdout
    rows = table_of(recorded.db, "SELECT session_id, model, estimated_cost, cost_source FROM token_usage "
                                 "ORDER BY session_id, input_tokens")
    assert rows == [("a", "claude-sonnet-4-5", Decimal("5"), "given"),
                    ("a", "claude-sonnet-4-5", Decimal("0.00885"), "estimated"),
                    ("b", None, None, "unknown"),
                    ("b", "gpt-4o", Decimal("0.0035"), "estimated")]


def test_a_given_cost_is_never_repriced(recorded):
    execute_in(recorded.db, "UPDATE token_usage SET estimated_cost = 123 WHERE cost_source = 'given'")
    recorded.ok("reprice", "--all")
    assert table_of(recorded.db, "SELECT estimated_cost FROM token_usage WHERE cost_source = 'given'") == [
        (Decimal("123"),)]


def test_reprice_needs_sessions_or_all_and_refuses_unknown_sessions(recorded):
    before = snapshot(recorded.db)
    assert recorded("reprice").exit_code == 2
    assert recorded("reprice", "a", "--all").exit_code == 2
    missing = recorded("reprice", "a", "nope")
    assert missing.exit_code == 1 and "session 'nope' not found" in missing.stderr
    assert recorded.as_user("bob")("reprice", "a").exit_code == 1
    assert snapshot(recorded.db) == before


def test_a_record_priced_before_the_1_hour_split_is_repriced_with_it(cli):
    # A cost worked out at the 5-minute rate for every write (as before the split was kept):
    # 12 x $3/M + 35 x $15/M + 900 x $3.75/M = 0.003936. With 700 of the writes 1-hour:
    # 12 x $3/M + 35 x $15/M + 200 x $3.75/M + 700 x $6/M = 0.000036 + 0.000525 + 0.00075 + 0.0042 = 0.005511
    cli.ok("new", "--id", "a")
    cli.ok("record-tokens", "-s", "a", "--model", "claude-sonnet-4-5", "--input", "12", "--output", "35",
           "--cache-write", "900", "--cache-write-1h", "700")
    execute_in(cli.db, "UPDATE token_usage SET estimated_cost = 0.003936")
    assert [(r["cost_before"], r["cost_after"], r["difference"]) for r in cli.json("reprice", "a")] == [
        (0.003936, 0.005511, 0.001575)]
    assert table_of(cli.db, "SELECT estimated_cost FROM token_usage") == [(Decimal("0.005511"),)]


def test_reprice_reports_each_rate_that_changed(cli):
    # A record priced (so its price_detail says) at $5 input / $20 output per MTok for gpt-4o; the data now
    # says $2.50 / $10: 1,000 input x -$2.50/M = -$0.0025, 100 output x -$10/M = -$0.001.
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--model", "gpt-4o", "--input", "1000", "--output", "100")
    execute_in(cli.db, """UPDATE token_usage SET estimated_cost = 0.007,
                          price_detail = '{"rates": {"input": "0.000005", "output": "0.00002"}}'""")
    result = cli("reprice", "s", "--dry-run")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert "sessionstats: rate gpt-4o input: $5.00/M -> $2.50/M on 1,000 tokens in 1 records: -$0.0025" in lines
    assert "sessionstats: rate gpt-4o output: $20.00/M -> $10.00/M on 100 tokens in 1 records: -$0.0010" in lines
