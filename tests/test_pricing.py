"""Costs estimated from the model: hand-computed from genai-prices' bundled price data (0.2.x).

claude-sonnet-4-5 per million tokens: input $3, output $15, cache read $0.30, cache write $3.75 (5-minute)
or $6 (1-hour); when the call's whole input (uncached + cache read + cache write) is above 200,000 tokens
every token costs the higher tier: $6, $22.50, $0.60, $7.50, $12.
o3: $10 / $40 until 2025-06-09, $2 / $8 from 2025-06-10 (UTC).
"""

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from conftest import db_argument, table_of

CASES = [
    # 1,200 x $3/M + 350 x $15/M = 0.0036 + 0.00525
    ("plain", ["--input", "1200", "--output", "350"], "0.00885"),
    # 1,000 x $3/M + 10,000 x $0.30/M + 500 x $15/M = 0.003 + 0.003 + 0.0075
    ("cache read", ["--input", "1000", "--cache-read", "10000", "--output", "500"], "0.0135"),
    # 200 x $3/M + 5,000 x $3.75/M + 100 x $15/M = 0.0006 + 0.01875 + 0.0015
    ("cache write", ["--input", "200", "--cache-write", "5000", "--output", "100"], "0.02085"),
    # whole input 150,000 + 60,000 = 210,000 > 200,000, so all at the tier price:
    # 150,000 x $6/M + 60,000 x $0.60/M + 1,000 x $22.50/M = 0.9 + 0.036 + 0.0225
    ("above the tier", ["--input", "150000", "--cache-read", "60000", "--output", "1000"], "0.9585"),
    # of 5,000 cache writes 2,000 were 1-hour: 200 x $3/M + 3,000 x $3.75/M + 2,000 x $6/M + 100 x $15/M
    # = 0.0006 + 0.01125 + 0.012 + 0.0015
    ("1-hour cache write", ["--input", "200", "--cache-write", "5000", "--cache-write-1h", "2000", "--output", "100"],
     "0.02535"),
    # whole input 150,000 + 60,000 = 210,000, all of the writes 1-hour, at the tier price:
    # 150,000 x $6/M + 60,000 x $12/M + 1,000 x $22.50/M = 0.9 + 0.72 + 0.0225
    ("1-hour above the tier", ["--input", "150000", "--cache-write", "60000", "--cache-write-1h", "60000",
                               "--output", "1000"], "1.6425"),
]


def cost_of(cli, record_id):
    return table_of(cli.db, f"SELECT estimated_cost, cost_source FROM token_usage WHERE id = '{record_id}'")[0]


@pytest.mark.parametrize(("case", "counts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_model_without_a_cost_is_priced_exactly(cli, case, counts, expected):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--model", "claude-sonnet-4-5", *counts).strip()
    assert cost_of(cli, record_id) == (Decimal(expected), "estimated")


def test_a_model_without_a_1_hour_price_charges_its_5_minute_rate(cli):
    # Bedrock's global Claude Sonnet 4 has only cache_write_mtok, $3.75/M: 1,000 x $3.75/M + 10 x $15/M
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--model", "global.anthropic.claude-sonnet-4-20250514-v1:0",
                       "--provider", "aws", "--input", "0", "--cache-write", "1000", "--cache-write-1h", "1000",
                       "--output", "10").strip()
    assert cost_of(cli, record_id) == (Decimal("0.0039"), "estimated")


def test_the_tier_goes_by_the_whole_input_cache_included(cli):
    # The uncached 150,000 alone is under the threshold: priced as genai-prices' "input" without the cache
    # tokens, this call would wrongly cost 0.45 + 0.018 + 0.015 = 0.483.
    cli.ok("new", "--id", "s")
    below = cli.ok("record-tokens", "-s", "s", "--model", "claude-sonnet-4-5", "--input", "150000",
                   "--cache-read", "50000", "--output", "1000").strip()
    # 200,000 exactly is not above the threshold: 0.45 + 50,000 x $0.30/M + 0.015 = 0.45 + 0.015 + 0.015
    assert cost_of(cli, below) == (Decimal("0.48"), "estimated")


@pytest.mark.parametrize("model", ["claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5",
                                   "Claude-Sonnet-4-5", "claude-sonnet-4.5"])
def test_model_ids_as_people_write_them(cli, model):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--model", model, "--input", "1200", "--output", "350").strip()
    assert cost_of(cli, record_id) == (Decimal("0.00885"), "estimated")
    assert table_of(cli.db, "SELECT model FROM token_usage") == [(model.lower(),)]  # one spelling per model


def test_openai_models_with_and_without_a_prefix(cli):
    cli.ok("new", "--id", "s")
    # gpt-4o: $2.50/M input, $10/M output, $1.25/M cached input: 1,000 x 2.5 + 2,000 x 1.25 + 100 x 10 (per M)
    for model in ("gpt-4o", "openai/gpt-4o", "gpt-4o-2024-08-06"):
        record_id = cli.ok("record-tokens", "-s", "s", "--model", model, "--input", "1000", "--cache-read", "2000",
                           "--output", "100").strip()
        assert cost_of(cli, record_id) == (Decimal("0.0060"), "estimated"), model


def test_provider_chooses_between_ambiguous_names(cli):
    cli.ok("new", "--id", "s")
    # OpenRouter lists "openai/gpt-4o" itself; before 2026-10-19 its price was the same $2.50/M input.
    routed = cli.ok("record-tokens", "-s", "s", "--model", "openai/gpt-4o", "--provider", "openrouter",
                    "--input", "1000000", "--output", "0", "--at", "2026-01-01T00:00:00Z").strip()
    assert cost_of(cli, routed) == (Decimal("2.5"), "estimated")
    assert table_of(cli.db, "SELECT provider FROM token_usage") == [("openrouter",)]


def test_an_unknown_provider_is_refused_and_nothing_is_written(cli):
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--model", "gpt-4o", "--provider", "nowhere", "--input", "1",
                 "--output", "1")
    assert result.exit_code == 2
    assert "--provider: unknown provider 'nowhere'" in result.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]


def test_historical_prices_apply_at_the_records_own_time(cli):
    cli.ok("new", "--id", "s")
    # 1,000 x $10/M + 1,000 x $40/M before the cut; 1,000 x $2/M + 1,000 x $8/M after it
    before = cli.ok("record-tokens", "-s", "s", "--model", "o3", "--input", "1000", "--output", "1000",
                    "--at", "2025-06-09T23:59:59Z").strip()
    after = cli.ok("record-tokens", "-s", "s", "--model", "o3", "--input", "1000", "--output", "1000",
                   "--at", "2025-06-10T00:00:00Z").strip()
    assert cost_of(cli, before) == (Decimal("0.05"), "estimated")
    assert cost_of(cli, after) == (Decimal("0.01"), "estimated")


def test_an_unknown_model_is_recorded_unpriced_with_a_warning(cli):
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--model", "mystery-model-9", "--input", "10", "--output", "5")
    assert result.exit_code == 0
    assert len(result.stdout.strip()) == 36
    assert result.stderr.startswith("sessionstats: warning: model 'mystery-model-9' is not in the price data")
    assert table_of(cli.db, "SELECT estimated_cost, cost_source FROM token_usage") == [(None, "unknown")]
    stats = cli.json("show", "s")
    assert (stats["unpriced_records"], stats["total_cost"]) == (1, 0)


def test_a_given_cost_wins_over_the_estimate(cli):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--model", "claude-sonnet-4-5", "--input", "1200",
                       "--output", "350", "--cost", "0.01").strip()
    assert cost_of(cli, record_id) == (Decimal("0.01"), "given")


def test_pricing_is_loaded_only_by_commands_that_price(run_process, db):
    """genai-prices takes a third of a second to import; recording a given cost or reporting must not pay it."""
    assert run_process("new", "--id", "s").returncode == 0
    commands = {
        ("record-tokens", "-s", "s", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1", "--cost",
         "0.01"): False,
        ("show", "s"): False,
        ("list",): False,
        ("record-tokens", "-s", "s", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1"): True,
    }
    for args, prices in commands.items():
        env = {**os.environ, "SESSIONSTATS_DB": db_argument(db), "SESSIONSTATS_USER": "alice"}
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sessionstats", *args, "--format", "json"]
                              if args[0] in ("show", "list") else
                              [sys.executable, "-X", "importtime", "-m", "sessionstats", *args],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        imported = any(line.split("|")[-1].strip() == "genai_prices" for line in done.stderr.splitlines())
        assert imported is prices, args


def test_bulk_rates_agree_with_single_records_on_both_paths(cli):
    """Reprice (the set-based path) finds nothing to change in costs the single-record path computed."""
    cli.ok("new", "--id", "s")
    for model, counts in [
        ("claude-sonnet-4-5", ["--input", "1200", "--output", "350", "--cache-read", "7", "--cache-write", "9"]),
        ("claude-sonnet-4-5", ["--input", "12", "--output", "35", "--cache-write", "900", "--cache-write-1h", "700"]),
        ("claude-sonnet-4-5", ["--input", "1", "--output", "1", "--cache-write", "300000", "--cache-write-1h", "7"]),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", ["--provider", "aws", "--input", "1", "--output", "1",
                                                            "--cache-write", "50", "--cache-write-1h", "20"]),
        ("claude-sonnet-4-5", ["--input", "150000", "--cache-read", "60000", "--output", "1000"]),
        ("claude-sonnet-4-5", ["--input", "100000000000", "--output", "3"]),  # past the picodollar fast path
        ("gpt-4o", ["--input", "1000", "--cache-read", "2000", "--output", "100"]),
        ("o3", ["--input", "1000", "--output", "1000", "--at", "2025-06-09T12:00:00Z"]),
        ("deepseek-chat", ["--input", "1000", "--output", "1000", "--at", "2026-01-01T03:00:00Z"]),
        ("deepseek-chat", ["--input", "1000", "--output", "1000", "--at", "2026-01-01T18:00:00Z"]),
    ]:
        cli.ok("record-tokens", "-s", "s", "--model", model, *counts)
    # 100,000,000,000 tokens are above the tier: x $6/M = $600,000, plus 3 x $22.50/M
    assert table_of(cli.db, "SELECT estimated_cost FROM token_usage WHERE input_tokens = 100000000000") == [
        (Decimal("600000.0000675"),)]
    report = cli.json("reprice", "s", "--dry-run")
    assert [(r["records"], r["changed"], r["difference"]) for r in report] == [(10, 0, 0)]
