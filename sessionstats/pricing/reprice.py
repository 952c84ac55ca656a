"""Recompute estimated costs with the current price data, at each call's own time (priced_at) and with its
service tier, speed and server tool calls; a given or reported cost is never touched."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.pricing.bulk import (
    BILLED_COST,
    BILLED_RATES_JOIN,
    RATE_KINDS,
    RATES_DETAIL,
    TOOL_COST,
    load_rates,
)
from sessionstats.sessions import require_session
from sessionstats.store import Store


@dataclass(frozen=True)
class SessionReprice:
    """One session's estimated costs before and after repricing."""

    session_id: str
    records: int
    changed: int
    cost_before: Decimal
    cost_after: Decimal
    difference: Decimal
    unpriced_before: int
    unpriced_after: int

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


REPRICE_FIGURES = [f.name for f in fields(SessionReprice)]


@dataclass(frozen=True)
class RateChange:
    """One model's rate for one token kind, before (as the records kept it; None if they did not) and now."""

    model: str
    kind: str
    rate_before: Decimal | None
    rate_after: Decimal
    records: int
    tokens: int

    @property
    def difference(self) -> Decimal | None:
        """What the change does to these records' cost."""
        return None if self.rate_before is None else self.tokens * (self.rate_after - self.rate_before)


@dataclass(frozen=True)
class RepriceResult:
    sessions: list[SessionReprice]
    unknown_models: dict[str, int]
    applied: bool
    rate_changes: list[RateChange] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """How many records got a new cost, across the sessions."""
        return sum(s.changed for s in self.sessions)


def reprice(store: Store, *, user: str, session_ids: list[str] | None, dry_run: bool = False) -> RepriceResult:
    """Reprice the user's estimated and unpriced records with a model (all sessions when `session_ids` is None)."""
    if session_ids is not None and not session_ids:
        raise InvalidInput("name the sessions to reprice, or pass `all`")
    with store.transaction():
        wanted = [require_session(store, s, user=user).id for s in session_ids] if session_ids is not None else None
        _stage(store, user, wanted)
        unknown = load_rates(store, "SELECT * FROM reprice_rows", billed=True)
        store.execute(f"""CREATE OR REPLACE TEMP TABLE repriced AS
                          SELECT r.*, {BILLED_COST} AS new_cost, {TOOL_COST} AS tool_cost, pr.source AS new_source,
                                 {RATES_DETAIL} AS new_detail, {_NEW_RATES}
                          FROM reprice_rows r {BILLED_RATES_JOIN}""")
        sessions, changes = _summary(store, wanted), _rate_changes(store)
        if not dry_run:
            store.update_from(
                "token_usage", ("estimated_cost", "cost_source", "tool_cost", "price_source", "price_detail"),
                """SELECT id, new_cost AS estimated_cost,
                          CASE WHEN new_cost IS NULL THEN 'unknown' ELSE 'estimated' END AS cost_source,
                          tool_cost, new_source AS price_source, new_detail AS price_detail
                   FROM repriced WHERE old_cost IS DISTINCT FROM new_cost""",
                {"user": user},
            )
        store.execute("DROP TABLE repriced")
        store.execute("DROP TABLE reprice_rows")
    return RepriceResult(sessions, unknown, applied=not dry_run, rate_changes=changes)


_NEW_RATES = ", ".join(f"pr.{column} AS new_{kind}" for kind, column in RATE_KINDS.items())
_KIND_TOKENS = {"input": "input_tokens", "output": "output_tokens", "cache_read": "cache_read_tokens",
                "cache_write": "cache_write_tokens - cache_write_1h_tokens", "cache_write_1h": "cache_write_1h_tokens"}


def _rate_changes(store: Store) -> list[RateChange]:
    """Each (model, token kind, old rate, new rate) whose recorded rate differs, with the tokens it applies to."""
    per_kind = " UNION ALL ".join(
        f"""SELECT model, '{kind}' AS kind, {tokens} AS tokens, new_{kind} AS rate_after,
                   try_cast(json_extract_string(old_detail, '$.rates.{kind}') AS DECIMAL(38, 24)) AS rate_before
            FROM repriced WHERE new_{kind} IS NOT NULL AND {tokens} > 0"""
        for kind, tokens in _KIND_TOKENS.items())
    rows = store.fetchall(
        f"""SELECT model, kind, rate_before, rate_after, count(*), sum(tokens) FROM ({per_kind})
            WHERE rate_before IS NOT NULL AND rate_before <> rate_after  -- a rate never recorded is no change
            GROUP BY ALL ORDER BY model, kind, rate_before""")
    return [RateChange(model, kind, None if before is None else Decimal(before), Decimal(after), int(records),
                       int(tokens)) for model, kind, before, after, records, tokens in rows]


def _stage(store: Store, user: str, session_ids: list[str] | None) -> None:
    params: dict[str, Any] = {"user": user}
    session_filter = ""
    if session_ids is not None:
        params["sessions"] = session_ids
        session_filter = "AND list_contains($sessions, session_id)"
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE reprice_rows AS
            SELECT id, session_id, model, provider, coalesce(priced_at, created_at) AS created_at, input_tokens,
                   output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, service_tier, speed,
                   tool_calls, estimated_cost AS old_cost, price_detail AS old_detail
            FROM token_usage
            WHERE user_id = $user AND cost_source IN ('estimated', 'unknown') AND model IS NOT NULL
              {session_filter}""",
        params,
    )


def _summary(store: Store, session_ids: list[str] | None) -> list[SessionReprice]:
    rows = store.fetchall(
        """SELECT session_id, count(*), count(*) FILTER (WHERE old_cost IS DISTINCT FROM new_cost),
                  coalesce(sum(old_cost), 0), coalesce(sum(new_cost), 0),
                  count(*) FILTER (WHERE old_cost IS NULL), count(*) FILTER (WHERE new_cost IS NULL)
           FROM repriced GROUP BY session_id ORDER BY session_id"""
    )
    by_session = {row[0]: row for row in rows}
    order = session_ids if session_ids is not None else list(by_session)
    zero = Decimal(0)
    result = []
    for session_id in dict.fromkeys(order):
        _, records, changed, before, after, unpriced_before, unpriced_after = by_session.get(
            session_id, (session_id, 0, 0, zero, zero, 0, 0))
        result.append(SessionReprice(session_id, records, changed, _plain(before), _plain(after),
                                     _plain(after - before), unpriced_before, unpriced_after))
    return result


def _plain(value: Decimal) -> Decimal:
    return Decimal(value).normalize() + 0
