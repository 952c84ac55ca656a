"""Published prices the bundled genai-prices data lacks, and the billing modifiers applied on top of it.

Reviewed in one place: every row names the document it was read from and the date that price took effect,
and tests/test_price_overrides.py checks each row. A modifier that has no published figure here (OpenAI's
priority tier, Anthropic's priority tier) leaves the cost unknown rather than
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

_PER_MILLION = Decimal("0.000001")


@dataclass(frozen=True)
class LongContextRow:
    """A request whose input (cache reads and writes included) is above `above` is priced wholly at these rates."""

    row_id: str
    provider_id: str
    model_id: str  # the genai-prices model id it applies to
    above: int
    effective_from: datetime  # naive UTC
    input_mtok: Decimal
    output_mtok: Decimal
    cache_read_mtok: Decimal
    cache_write_mtok: Decimal
    cache_write_1h_mtok: Decimal
    source: str

    def per_token(self, mtok: Decimal) -> Decimal:
        return mtok * _PER_MILLION


LONG_CONTEXT_ROWS = (
    # Sonnet 4's 1M-token context (beta, 2025-08-12): "prompts over 200K tokens are charged $6 / MTok input and
    # $22.50 / MTok output"; cache prices follow the usual multipliers of that input price (read 0.1x, 5-minute
    # write 1.25x, 1-hour write 2x). Source: https://platform.claude.com/docs/en/about-claude/pricing
    # ("Long context pricing"), Anthropic's announcement https://www.anthropic.com/news/1m-context (2025-08-12).
    LongContextRow("anthropic-sonnet-4-long-context-2025-08-12", "anthropic", "claude-sonnet-4-0", 200_000,
                   datetime(2025, 8, 12), Decimal("6"), Decimal("22.50"), Decimal("0.60"), Decimal("7.50"),
                   Decimal("12"), "https://platform.claude.com/docs/en/about-claude/pricing#long-context-pricing"),
)


@dataclass(frozen=True)
class Modifier:
    """A multiple of the list price for every token of a call; `multiplier` None: no published price."""

    label: str
    multiplier: Decimal | None
    source: str


_HALF = Decimal("0.5")
_BATCH_ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing#batch-processing"
_FLEX_OPENAI = "https://developers.openai.com/api/docs/guides/flex-processing"
_BATCH_OPENAI = "https://developers.openai.com/api/docs/guides/batch"
# Tiers that cost the list price, as each provider's responses name them.
_STANDARD_TIERS = {"", "default", "auto", "standard", "standard_only", "on_demand"}
SERVICE_TIERS = {
    # "Tokens are priced at Batch API rates": half the list price, prompt caching discounts on top.
    ("openai", "flex"): Modifier("flex tier x0.5", _HALF, _FLEX_OPENAI),
    ("openai", "batch"): Modifier("Batch API x0.5", _HALF, _BATCH_OPENAI),
    ("anthropic", "batch"): Modifier("Message Batches x0.5", _HALF, _BATCH_ANTHROPIC),
    # Priority processing has its own per-model price list, not in the price data: left unknown.
    ("openai", "priority"): Modifier("priority tier (no published multiple)", None,
                                     "https://openai.com/api-priority-processing/"),
    ("anthropic", "priority"): Modifier("priority tier (priced by commitment)", None,
                                        "https://platform.claude.com/docs/en/api/service-tiers"),
}
# Fast mode: "6x standard rates" across the whole context window, cache multipliers on top, on the models
# that offer it. Source: https://platform.claude.com/docs/en/build-with-claude/fast-mode (Opus 4.6, 2026-02-07;
# $30 / $150 per MTok against $5 / $25).
FAST_MODE = {
    "claude-opus-4-6": Modifier("fast mode x6", Decimal(6),
                                "https://platform.claude.com/docs/en/build-with-claude/fast-mode"),
}
def service_tier_modifier(provider_id: str, tier: str | None) -> Modifier | None:
    """The modifier of a service tier; None for the list price; an unknown tier is unpriced."""
    name = (tier or "").strip().lower()
    if name in _STANDARD_TIERS:
        return None
    return SERVICE_TIERS.get((provider_id, name), Modifier(f"service tier {name!r} (no published price)", None, ""))


def speed_modifier(model_id: str, speed: str | None) -> Modifier | None:
    """Fast mode's multiple on a model that offers it; a fast call on another model is unpriced."""
    name = (speed or "").strip().lower()
    if name in ("", "standard", "normal"):
        return None
    if name == "fast":
        return FAST_MODE.get(model_id, Modifier(f"fast mode on {model_id} (no published price)", None, ""))
    return Modifier(f"speed {name!r} (no published price)", None, "")


def long_context_row(provider_id: str, model_id: str, at: datetime) -> LongContextRow | None:
    """The override tier for a model the bundled data prices flat, in force at `at` (naive UTC)."""
    for row in LONG_CONTEXT_ROWS:
        if (row.provider_id, row.model_id) == (provider_id, model_id) and at >= row.effective_from:
            return row
    return None
