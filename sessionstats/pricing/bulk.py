"""Price many token records at once: rates per (model, provider, price period), joined in SQL.

A model's prices change at most once a UTC day (new list prices) or, for time-of-day prices, by the
second; within one period and one input-size tier the cost is affine in the token counts (cache writes
split into 5-minute and 1-hour ones). So
Python prices each distinct period once and the database applies the rates to every row exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.pricing.overrides import service_tier_modifier, speed_modifier
from sessionstats.pricing.prices import find_model, price_data_version, price_granularity, rates_at, web_search_fee
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list

# The rows to price, aliased `r`, must have model, provider, created_at, the four token counts and
# cache_write_1h_tokens (the 1-hour part of cache_write_tokens).
_BUCKET = """CASE pm.granularity WHEN 'day' THEN date_trunc('day', r.created_at)
                  WHEN 'second' THEN date_trunc('second', r.created_at) ELSE TIMESTAMP '1970-01-01' END"""
_ALL_INPUT = "(r.input_tokens + r.cache_read_tokens + r.cache_write_tokens)"

# Rows that carry service_tier and speed (history imports, reprice) are priced with them: each distinct
# (tier, speed) gets its own multiplied rates; other rows take the list price ('|').
MODIFIER_KEY = "lower(trim(coalesce(r.service_tier, ''))) || '|' || lower(trim(coalesce(r.speed, '')))"
_LIST_PRICE_KEY = "'|'"


def _rates_join(modifier_key: str) -> str:
    return f"""
    LEFT JOIN price_models pm ON pm.model = r.model AND pm.provider_key = coalesce(r.provider, '')
    LEFT JOIN price_rates pr ON pr.model = r.model AND pr.provider_key = pm.provider_key
        AND pr.bucket = {_BUCKET} AND pr.modifier_key = {modifier_key}
        AND {_ALL_INPUT} > pr.above AND {_ALL_INPUT} <= pr.up_to
"""


RATES_JOIN = _rates_join(_LIST_PRICE_KEY)
BILLED_RATES_JOIN = _rates_join(MODIFIER_KEY)
# Whole picodollars in BIGINT are ~100 times faster than DECIMAL(38, 24) arithmetic and exact when every
# rate is a whole number of them and the counts are small enough not to overflow (`fast_below`).
ESTIMATED_COST = """CASE WHEN pr.model IS NULL THEN NULL
    WHEN greatest(r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens) < pr.fast_below
    THEN CAST(CAST(pr.pico_call + pr.pico_input * r.input_tokens + pr.pico_output * r.output_tokens
                   + pr.pico_cache_read * r.cache_read_tokens
                   + pr.pico_cache_write * (r.cache_write_tokens - r.cache_write_1h_tokens)
                   + pr.pico_cache_write_1h * r.cache_write_1h_tokens
                   AS DECIMAL(18, 0)) * 0.000000000001 AS DECIMAL(38, 18))
    ELSE CAST(pr.per_call + pr.per_input * r.input_tokens + pr.per_output * r.output_tokens
              + pr.per_cache_read * r.cache_read_tokens
              + pr.per_cache_write * (r.cache_write_tokens - r.cache_write_1h_tokens)
              + pr.per_cache_write_1h * r.cache_write_1h_tokens
              AS DECIMAL(38, 18)) END"""
# With BILLED_RATES_JOIN: the tokens' cost plus the server tool fees (r.tool_calls, unpriced without a fee).
BILLED_COST = f"""CASE WHEN pr.model IS NULL OR (r.tool_calls > 0 AND pr.search_fee IS NULL) THEN NULL
    ELSE CAST(({ESTIMATED_COST}) + r.tool_calls * coalesce(pr.search_fee, 0) AS DECIMAL(38, 18)) END"""
# The rates applied per token kind, as a record's price_detail (the same keys call_pricing writes).
RATE_KINDS = {"input": "per_input", "output": "per_output", "cache_read": "per_cache_read",
              "cache_write": "per_cache_write", "cache_write_1h": "per_cache_write_1h"}
# Made once per rate in price_rates (`detail`): made per record it cost 0.18 CPU s per 100k records.
_DETAIL = ("json_object('source', source, 'rates', json_object("
           + ", ".join(f"'{kind}', {column}::VARCHAR" for kind, column in RATE_KINDS.items()) + "))::VARCHAR")
RATES_DETAIL = "pr.detail"
TOOL_COST = "CASE WHEN r.tool_calls > 0 THEN CAST(r.tool_calls * pr.search_fee AS DECIMAL(38, 18)) END"
_PICO = 10**12
_MAX_PICO_SUM = 10**18 - 1  # DECIMAL(18, 0) holds up to this


def load_rates(store: Store, rows_sql: str, params: Sequence[Any] | dict[str, Any] = (), *,
               billed: bool = False, costed: str = "false") -> dict[str, int]:
    """Fill temp tables price_models and price_rates for the rows `rows_sql` selects (aliased r).

    With `billed`, the rows have service_tier and speed, and rates are made for each (BILLED_RATES_JOIN).
    Returns the models the price data does not know, with how many records each leaves unpriced (rows where
    `costed`, a condition on r, carry a cost of their own and are not counted).
    """
    models = store.fetchall(
        f"""SELECT r.model, coalesce(r.provider, ''), count(*) FILTER (WHERE NOT coalesce({costed}, false))
            FROM ({rows_sql}) r WHERE r.model IS NOT NULL GROUP BY ALL ORDER BY ALL""", params  # no model: no price
    )
    found = {(model, provider): _find(model, provider) for model, provider, _ in models}
    _create_models_table(store, found)
    unknown = {_label(model, provider): count for model, provider, count in models
               if found[model, provider] is None and count}
    buckets = store.fetchall(
        f"""SELECT DISTINCT r.model, pm.provider_key, {_BUCKET}, {MODIFIER_KEY if billed else _LIST_PRICE_KEY}
            FROM ({rows_sql}) r
            JOIN price_models pm ON pm.model = r.model AND pm.provider_key = coalesce(r.provider, '')
            WHERE pm.granularity IS NOT NULL""",
        params,
    )
    _create_rates_table(store, [(model, provider, bucket, key, found[model, provider])
                                for model, provider, bucket, key in buckets])
    return unknown


def _find(model: str, provider: str) -> Any:
    try:
        return find_model(model, provider or None)
    except InvalidInput:  # a stored provider the price data no longer knows: unpriced, like an unknown model
        return None


def _label(model: str, provider: str) -> str:
    return f"{model} (provider {provider})" if provider else model


def _create_models_table(store: Store, found: dict[tuple[str, str], Any]) -> None:
    keys = list(found)
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE price_models AS
           SELECT {unnest_list("models", "VARCHAR")} AS model, {unnest_list("providers", "VARCHAR")} AS provider_key,
                  {unnest_list("granularities", "VARCHAR")} AS granularity""",
        {"models": json_list(m for m, _ in keys), "providers": json_list(p for _, p in keys),
         "granularities": json_list(price_granularity(found[k]) if found[k] is not None else None for k in keys)},
    )


_RATE_NAMES = ("call", "input", "output", "cache_read", "cache_write", "cache_write_1h")


def _multiple(priced: Any, modifier_key: str) -> Decimal | None:
    """The multiple of the list price for a (service tier | speed) key; None when it has no published price."""
    tier, _, speed = modifier_key.partition("|")
    multiple = Decimal(1)
    for modifier in (service_tier_modifier(priced.provider_id, tier), speed_modifier(priced.model_id, speed)):
        if modifier is not None:
            if modifier.multiplier is None:
                return None
            multiple *= modifier.multiplier
    return multiple


def _create_rates_table(store: Store, buckets: list[tuple[str, str, datetime, str, Any]]) -> None:
    columns: dict[str, list[Any]] = {name: [] for name in (
        "model", "provider_key", "bucket", "modifier_key", "above", "up_to", "fast_below", "source", "search_fee",
        *(f"per_{n}" for n in _RATE_NAMES), *(f"pico_{n}" for n in _RATE_NAMES))}
    for model, provider, bucket, key, priced in buckets:
        multiple = _multiple(priced, key)
        if multiple is None:
            continue  # no rate: the rows stay unpriced
        fee = web_search_fee(priced, bucket)
        for rate in rates_at(priced, bucket):
            exact = [getattr(rate, f"per_{name}") * multiple for name in _RATE_NAMES]
            picos = [_whole_picos(value) for value in exact]
            row = {"model": model, "provider_key": provider, "bucket": bucket, "modifier_key": key,
                   "above": rate.above, "up_to": rate.up_to, "fast_below": _fast_below(picos),
                   "source": rate.source or f"genai-prices {price_data_version()}",
                   "search_fee": None if fee is None else str(fee)}
            for name, value, pico in zip(_RATE_NAMES, exact, picos, strict=True):
                row[f"per_{name}"], row[f"pico_{name}"] = str(value), pico or 0
            for name, value in row.items():
                columns[name].append(value)
    # Rates travel as exact text and become DECIMAL(38, 24): a float would not be exact.
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE price_rates AS SELECT *, {_DETAIL} AS detail FROM (
           SELECT {unnest_list("model", "VARCHAR")} AS model,
                  {unnest_list("provider_key", "VARCHAR")} AS provider_key,
                  {unnest_list("bucket", "TIMESTAMP")} AS bucket,
                  {unnest_list("modifier_key", "VARCHAR")} AS modifier_key,
                  {unnest_list("source", "VARCHAR")} AS source,
                  {unnest_list("search_fee", "VARCHAR")}::DECIMAL(18, 6) AS search_fee,
                  {unnest_list("above", "BIGINT")} AS above,
                  coalesce({unnest_list("up_to", "BIGINT")}, 9223372036854775807) AS up_to,
                  {unnest_list("fast_below", "BIGINT")} AS fast_below,
                  {unnest_list("pico_call", "BIGINT")} AS pico_call,
                  {unnest_list("pico_input", "BIGINT")} AS pico_input,
                  {unnest_list("pico_output", "BIGINT")} AS pico_output,
                  {unnest_list("pico_cache_read", "BIGINT")} AS pico_cache_read,
                  {unnest_list("pico_cache_write", "BIGINT")} AS pico_cache_write,
                  {unnest_list("pico_cache_write_1h", "BIGINT")} AS pico_cache_write_1h,
                  {unnest_list("per_call", "VARCHAR")}::DECIMAL(38, 24) AS per_call,
                  {unnest_list("per_input", "VARCHAR")}::DECIMAL(38, 24) AS per_input,
                  {unnest_list("per_output", "VARCHAR")}::DECIMAL(38, 24) AS per_output,
                  {unnest_list("per_cache_read", "VARCHAR")}::DECIMAL(38, 24) AS per_cache_read,
                  {unnest_list("per_cache_write", "VARCHAR")}::DECIMAL(38, 24) AS per_cache_write,
                  {unnest_list("per_cache_write_1h", "VARCHAR")}::DECIMAL(38, 24) AS per_cache_write_1h)""",
        {name: json_list(values) for name, values in columns.items()},
    )


def _whole_picos(value: Decimal) -> int | None:
    """The rate in whole picodollars, or None when it has a finer fraction."""
    picos = value * _PICO
    return int(picos) if picos == picos.to_integral_value() else None


def _fast_below(picos: list[int | None]) -> int:
    """Counts below this cannot overflow the picodollar sum; 0 sends every row down the exact DECIMAL path."""
    if any(p is None for p in picos):
        return 0
    per_call, *per_token = picos
    return (_MAX_PICO_SUM - per_call) // max(sum(per_token), 1) + 1  # type: ignore[operator]
