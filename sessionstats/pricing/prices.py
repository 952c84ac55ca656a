"""Estimate what an API call cost from its model and token counts, with genai-prices' bundled price data.

genai-prices is imported inside the functions that price, so a command that records a given cost or
reports never pays for it, and its offline snapshot is used: nothing here touches the network.
We store `input_tokens` as uncached input (the Anthropic API's convention); genai-prices counts cache
reads and writes inside its input figure (and picks price tiers by that total), so they are added back.
Of the cache writes, `cache_write_1h_tokens` were 1-hour writes: genai-prices prices them at the model's
`cache_write_1h_mtok` and, for a model without one, at its plain (5-minute) `cache_write_mtok`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.pricing.overrides import LONG_CONTEXT_ROWS, long_context_row
from sessionstats.validate import COST_PLACES

_COST_QUANTUM = Decimal(1).scaleb(-COST_PLACES)
RATE_PLACES = 24  # per-token rates: a $0.0375 / M token price is 0.0000000375 a token


@dataclass(frozen=True)
class TokenCounts:
    """One call's tokens as we store them: `input_tokens` excludes cache reads and writes."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens

    @property
    def all_input_tokens(self) -> int:
        """Input as genai-prices counts it (and as price tiers are chosen): cache tokens included."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class PricedModel:
    """A model id resolved in the price data, with the provider whose prices apply."""

    model_id: str
    provider_id: str
    info: Any  # genai_prices.types.ModelInfo
    provider: Any  # genai_prices.types.Provider


@dataclass(frozen=True)
class Rate:
    """Cost of a call whose input (cache included) is above `above` and at most `up_to` tokens."""

    above: int
    up_to: int | None
    per_call: Decimal
    per_input: Decimal
    per_output: Decimal
    per_cache_read: Decimal
    per_cache_write: Decimal  # a 5-minute write
    per_cache_write_1h: Decimal  # a 1-hour write (the 5-minute rate for a model without a 1-hour price)
    source: str = ""  # an override row's id when the rate comes from price_overrides, else the bundled data


@cache  # it reads the package's metadata: ~1 ms a call, and a bulk import asks once per rate
def price_data_version() -> str:
    """The genai-prices release whose bundled snapshot prices our estimates."""
    from importlib.metadata import version

    return version("genai-prices")


def unpriced_model(model: str, provider: str | None = None) -> str:
    """`model 'x' is not in the price data (genai-prices 0.0.40)`: how every warning names a model without a price."""
    where = f" at provider {provider!r}" if provider else ""
    return f"model {model!r}{where} is not in the price data (genai-prices {price_data_version()})"


def unknown_model_warning(model: str, provider: str | None) -> str:
    """What to tell a person whose model has no price: costs stay unknown, never zero."""
    return (f"{unpriced_model(model, provider)}; "
            "its cost is recorded as unknown (give `cost`, or `provider` if the name is ambiguous)")


@cache
def find_model(model: str, provider: str | None = None) -> PricedModel | None:
    """Resolve a model id as people write it (dated, `provider/` prefixed); None when unpriced."""
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    if provider is not None:
        check_provider(provider, "provider")
    for ref, provider_id in _candidate_refs(model.strip(), provider):
        try:
            found_provider, info = snapshot.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        return PricedModel(info.id, found_provider.id, info, found_provider)
    return None


def check_provider(provider: str, field: str) -> str:
    """A provider the price data knows (`anthropic`, `openai`, `google`, `aws`...), else InvalidInput."""
    from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

    providers = get_snapshot().providers
    if find_provider_by_id(providers, provider) is None:
        known = ", ".join(p.id for p in providers[:12])
        raise InvalidInput(f"{field}: unknown provider {provider!r} (known include {known}...)", field=field)
    return provider


def _candidate_refs(model: str, provider: str | None) -> list[tuple[str, str | None]]:
    """(model ref, provider id) pairs to try in turn: a known `provider/` prefix names the provider."""
    from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

    prefix, slash, rest = model.partition("/")
    prefixed = bool(slash and rest and find_provider_by_id(get_snapshot().providers, prefix))
    if provider is not None:
        return [(model, provider)] + ([(rest, provider)] if prefixed else [])
    return ([(rest, prefix)] if prefixed else []) + [(model, None)]


def web_search_fee(found: PricedModel, at: datetime) -> Decimal | None:
    """The price data's fee per web search at `at` (`web_searches_kcount` is per 1,000); None when it has none."""
    per_thousand = getattr(found.info.get_prices(_aware_utc(at)), "web_searches_kcount", None)
    return None if per_thousand is None else Decimal(per_thousand) / 1000


def price_granularity(found: PricedModel) -> str:
    """How often the model's prices can change: 'fixed', per UTC 'day', or per 'second' (time-of-day prices)."""
    from genai_prices.types import TimeOfDateConstraint

    conditional = found.info.prices if isinstance(found.info.prices, list) else []
    if any(isinstance(price.constraint, TimeOfDateConstraint) for price in conditional):
        return "second"
    dated_override = any((row.provider_id, row.model_id) == (found.provider_id, found.model_id)
                         for row in LONG_CONTEXT_ROWS)
    return "day" if conditional or dated_override else "fixed"


def rates_at(found: PricedModel, at: datetime) -> tuple[Rate, ...]:
    """The model's prices in force at `at` as affine per-token rates, one per input-size tier.

    A long-context tier the bundled data lacks comes from price_overrides (a dated, sourced row).
    """
    model_price = found.info.get_prices(_aware_utc(at))
    held = _RATES.get(id(model_price))
    if held is None:
        held = _RATES[id(model_price)] = (model_price, _rates_of(model_price))  # holding it keeps its id unique
    row = long_context_row(found.provider_id, found.model_id, _naive_utc(at))
    if row is None or len(held[1]) > 1:
        return held[1]
    base = held[1][0]
    return (replace(base, up_to=row.above), Rate(
        above=row.above, up_to=None, per_call=base.per_call, per_input=_rate(row.per_token(row.input_mtok)),
        per_output=_rate(row.per_token(row.output_mtok)), per_cache_read=_rate(row.per_token(row.cache_read_mtok)),
        per_cache_write=_rate(row.per_token(row.cache_write_mtok)),
        per_cache_write_1h=_rate(row.per_token(row.cache_write_1h_mtok)), source=row.row_id))


_RATES: dict[int, tuple[Any, tuple[Rate, ...]]] = {}


def _rates_of(model_price: Any) -> tuple[Rate, ...]:
    """Probe the library's own calculation at a point in each tier: exact, since cost is affine within one."""
    from genai_prices.types import TieredPrices

    starts = sorted({tier.start for value in vars(model_price).values() if isinstance(value, TieredPrices)
                     for tier in value.tiers})
    bounds = list(zip([-1, *starts], [*starts, None], strict=True))
    return tuple(_rate_in(model_price, above, up_to) for above, up_to in bounds)


def _rate_in(model_price: Any, above: int, up_to: int | None) -> Rate:
    from genai_prices import Usage

    def cost(uncached: int, output: int = 0, read: int = 0, write: int = 0, write_1h: int = 0) -> Decimal:
        usage = Usage(input_tokens=uncached + read + write + write_1h, output_tokens=output, cache_read_tokens=read,
                      cache_write_tokens=write + write_1h, cache_write_1h_tokens=write_1h)
        return model_price.calc_price(usage)["total_price"]

    start = above + 1  # the smallest input inside this tier; start + 1 must be inside it too
    if up_to is not None and start + 1 > up_to:
        raise RuntimeError(f"price tier ({above}, {up_to}] is too narrow to probe")
    with localcontext() as exact:
        exact.prec = 80
        at_start = cost(start)
        per_input = cost(start + 1) - at_start
        return Rate(
            above=above, up_to=up_to, per_call=_rate(at_start - per_input * start), per_input=_rate(per_input),
            per_output=_rate(cost(start, output=1) - at_start),
            per_cache_read=_rate(cost(start, read=1) - at_start),
            per_cache_write=_rate(cost(start, write=1) - at_start),
            per_cache_write_1h=_rate(cost(start, write_1h=1) - at_start),
        )


def _rate(value: Decimal) -> Decimal:
    rounded = value.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_UP)
    if rounded != value:
        raise RuntimeError(f"a price of {value} per token needs more than {RATE_PLACES} decimal places")
    return rounded


def exact_cost(value: Decimal) -> Decimal:
    """A cost rounded half-up to the 18 places the database keeps."""
    with localcontext() as exact:
        exact.prec = 80
        return Decimal(value).quantize(_COST_QUANTUM, rounding=ROUND_HALF_UP) + 0


def _naive_utc(at: datetime) -> datetime:
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


def _aware_utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
