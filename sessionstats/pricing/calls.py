"""Price one call as its provider bills it, and keep the arithmetic so a person can check it.

The list rates come from `pricing.rates_at` (genai-prices' bundled data, plus the sourced long-context rows of
`price_overrides`); the tier is chosen by all input (cache included), as providers do. A service tier
(flex, batch) or fast mode multiplies every token rate; server tool requests (web searches) add a fee per
request at the price data's `web_searches_kcount`. A modifier without a published price leaves the call
unpriced, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from sessionstats.pricing.overrides import Modifier, service_tier_modifier, speed_modifier
from sessionstats.pricing.prices import (
    PricedModel,
    Rate,
    TokenCounts,
    exact_cost,
    find_model,
    price_data_version,
    rates_at,
    unknown_model_warning,
    web_search_fee,
)

TOKEN_KINDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")


@dataclass(frozen=True)
class CallTerms:
    """What, beyond the token counts, changes a call's price."""

    service_tier: str | None = None
    speed: str | None = None
    tool_calls: int = 0  # server tool requests billed per request (web searches)


@dataclass(frozen=True)
class PriceLine:
    """One term of the sum: `quantity` x `rate` (dollars per token, or per request for a tool)."""

    kind: str
    quantity: int
    rate: Decimal
    cost: Decimal


@dataclass(frozen=True)
class Priced:
    """A call's cost (tool fees included), the lines that add up to it, and where its prices came from."""

    cost: Decimal
    tool_cost: Decimal | None
    lines: tuple[PriceLine, ...]
    source: str
    tier: str
    modifiers: tuple[str, ...] = field(default_factory=tuple)

    def detail(self) -> str:
        """The provenance as JSON text: rates per kind, tier, modifiers, the total."""
        return json.dumps({
            "source": self.source, "tier": self.tier, "modifiers": list(self.modifiers),
            "rates": {line.kind: str(line.rate) for line in self.lines}, "cost": str(self.cost),
        })


@dataclass(frozen=True)
class Unpriced:
    """Why a call has no estimate: a model the data lacks, or a modifier with no published price."""

    reason: str


def price_call(model: str, provider: str | None, counts: TokenCounts, at: datetime,
               terms: CallTerms = CallTerms()) -> Priced | Unpriced:
    """The call's cost at the prices in force at `at` (naive UTC)."""
    found = find_model(model, provider)
    if found is None:
        return Unpriced(unknown_model_warning(model, provider))
    modifiers = [m for m in (service_tier_modifier(found.provider_id, terms.service_tier),
                             speed_modifier(found.model_id, terms.speed)) if m is not None]
    missing = [m.label for m in modifiers if m.multiplier is None]
    if missing:
        return Unpriced(missing[0])
    fee = web_search_fee(found, at) if terms.tool_calls else Decimal(0)
    if fee is None:
        return Unpriced(f"{found.model_id} web searches have no price in the price data")
    rate = _tier(rates_at(found, at), counts.all_input_tokens)
    return _priced(found, rate, counts, modifiers, terms.tool_calls, fee)


def _tier(rates: tuple[Rate, ...], all_input: int) -> Rate:
    return next(r for r in rates if r.above < all_input and (r.up_to is None or all_input <= r.up_to))


def _priced(found: PricedModel, rate: Rate, counts: TokenCounts, modifiers: list[Modifier], tool_calls: int,
            fee: Decimal) -> Priced:
    multiple = Decimal(1)
    for modifier in modifiers:
        multiple *= modifier.multiplier  # type: ignore[operator]
    quantities = (counts.input_tokens, counts.output_tokens, counts.cache_read_tokens,
                  counts.cache_write_tokens - counts.cache_write_1h_tokens, counts.cache_write_1h_tokens)
    rates = (rate.per_input, rate.per_output, rate.per_cache_read, rate.per_cache_write, rate.per_cache_write_1h)
    with localcontext() as exact:
        exact.prec = 80
        lines = [PriceLine(kind, quantity, per * multiple, quantity * per * multiple)
                 for kind, quantity, per in zip(TOKEN_KINDS, quantities, rates, strict=True) if quantity]
        if rate.per_call:
            lines.append(PriceLine("per_call", 1, rate.per_call * multiple, rate.per_call * multiple))
        tool_cost = tool_calls * fee
        if tool_calls:
            lines.append(PriceLine("web_search", tool_calls, fee, tool_cost))
        total = sum((line.cost for line in lines), Decimal(0))
    labels = [m.label for m in modifiers]
    if rate.above >= 0:
        labels.insert(0, f"long context (input over {rate.above:,} tokens)")
    if counts.cache_write_1h_tokens:
        labels.append("1-hour cache writes")
    source = rate.source or f"genai-prices {price_data_version()}"
    tier = "long context" if rate.above >= 0 else "base"
    return Priced(exact_cost(total), exact_cost(tool_cost) if tool_calls else None, tuple(lines), source, tier,
                  tuple(labels))


def detail_of(text: str | None) -> dict[str, Any]:
    """A stored price_detail as a dict ({} when absent or not JSON)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
