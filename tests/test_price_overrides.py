"""Each row of sessionstats/pricing/overrides.py: the published figure, applied where and when it should be."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from sessionstats.pricing.calls import CallTerms, Priced, Unpriced, price_call
from sessionstats.pricing.overrides import FAST_MODE, LONG_CONTEXT_ROWS, SERVICE_TIERS
from sessionstats.pricing.prices import TokenCounts, find_model, rates_at

AFTER = datetime(2026, 10, 1)


def test_every_override_row_names_its_source_and_a_model_the_price_data_knows():
    for row in LONG_CONTEXT_ROWS:
        assert row.source.startswith("https://") and row.row_id.endswith(row.effective_from.strftime("%Y-%m-%d"))
        found = find_model(row.model_id, row.provider_id)
        assert found is not None and found.model_id == row.model_id
        # the override fills a gap: the bundled data prices the model flat
        assert not hasattr(found.info.get_prices(AFTER).input_mtok, "tiers")
    for modifier in (*SERVICE_TIERS.values(), *FAST_MODE.values()):
        assert modifier.source.startswith("https://")


def test_sonnet_4_long_context_row_prices_the_whole_request_above_200k():
    # Anthropic pricing page, "Long context pricing": over 200k input tokens, $6 / $22.50, cache read $0.60,
    # 5-minute write $7.50, 1-hour write $12 per MTok.
    found = find_model("claude-sonnet-4-20250514")
    base, long = rates_at(found, AFTER)
    assert (base.up_to, long.above, long.up_to) == (200_000, 200_000, None)
    assert [r * 1_000_000 for r in (long.per_input, long.per_output, long.per_cache_read, long.per_cache_write,
                                    long.per_cache_write_1h)] == [6, Decimal("22.5"), Decimal("0.6"),
                                                                  Decimal("7.5"), 12]
    # 200,000 input exactly stays at base: 200,000 x $3 = $0.60; one more token moves all to long context
    at_limit = price_call("claude-sonnet-4-20250514", None, TokenCounts(200_000, 0), AFTER)
    over = price_call("claude-sonnet-4-20250514", None, TokenCounts(199_001, 0, cache_read_tokens=1_000), AFTER)
    assert isinstance(at_limit, Priced) and at_limit.cost == Decimal("0.6")
    # (199,001 x 6 + 1,000 x 0.6) / 1M = (1,194,006 + 600) / 1M = $1.194606
    assert isinstance(over, Priced) and over.cost == Decimal("1.194606") and over.tier == "long context"
    assert over.source == "anthropic-sonnet-4-long-context-2025-08-12"


def test_the_long_context_row_is_not_applied_before_it_took_effect():
    found = find_model("claude-sonnet-4-20250514")
    assert len(rates_at(found, datetime(2025, 8, 11))) == 1


@pytest.mark.parametrize(("model", "tier", "multiple"), [
    ("gpt-5", "flex", Decimal("0.5")),  # OpenAI flex-processing guide: "priced at Batch API rates"
    ("gpt-5", "batch", Decimal("0.5")),  # OpenAI Batch API: 50% off
    ("claude-haiku-4-5", "batch", Decimal("0.5")),  # Anthropic Message Batches: 50% off
    ("gpt-5", "default", Decimal(1)),
    ("claude-haiku-4-5", "standard", Decimal(1)),
])
def test_each_service_tier_multiplies_the_list_price(model, tier, multiple):
    counts = TokenCounts(1_000, 100)
    plain = price_call(model, None, counts, AFTER)
    tiered = price_call(model, None, counts, AFTER, CallTerms(service_tier=tier))
    assert isinstance(plain, Priced) and isinstance(tiered, Priced)
    assert tiered.cost == plain.cost * multiple


@pytest.mark.parametrize(("model", "tier"), [("gpt-5", "priority"), ("claude-haiku-4-5", "priority"),
                                             ("gpt-5", "scale")])
def test_a_tier_without_a_published_price_is_unpriced(model, tier):
    assert isinstance(price_call(model, None, TokenCounts(1, 1), AFTER, CallTerms(service_tier=tier)), Unpriced)


def test_fast_mode_row_is_six_times_on_opus_4_6_and_unpriced_elsewhere():
    # Anthropic fast-mode docs: Opus 4.6 fast mode $30 / $150 per MTok against $5 / $25
    fast = price_call("claude-opus-4-6", None, TokenCounts(1_000_000, 1_000_000), AFTER, CallTerms(speed="fast"))
    assert isinstance(fast, Priced) and fast.cost == Decimal(180)
    assert isinstance(price_call("claude-sonnet-4-5", None, TokenCounts(1, 1), AFTER, CallTerms(speed="fast")),
                      Unpriced)
