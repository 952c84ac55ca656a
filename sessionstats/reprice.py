"""Recompute estimated costs with the current price data; a given cost is never touched."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sessionstats.bulk_pricing import ESTIMATED_COST, RATES_JOIN, load_rates
from sessionstats.errors import InvalidInput
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
class RepriceResult:
    sessions: list[SessionReprice]
    unknown_models: dict[str, int]
    applied: bool

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.sessions)


def reprice(store: Store, *, user: str, session_ids: list[str] | None, dry_run: bool = False) -> RepriceResult:
    """Reprice the user's estimated and unpriced records with a model (all sessions when `session_ids` is None)."""
    if session_ids is not None and not session_ids:
        raise InvalidInput("name the sessions to reprice, or pass `all`")
    with store.transaction():
        wanted = [require_session(store, s, user=user).id for s in session_ids] if session_ids is not None else None
        _stage(store, user, wanted)
        unknown = load_rates(store, "SELECT * FROM reprice_rows")
        store.execute(f"""CREATE OR REPLACE TEMP TABLE repriced AS
                          SELECT r.id, r.session_id, r.old_cost, {ESTIMATED_COST} AS new_cost
                          FROM reprice_rows r {RATES_JOIN}""")
        sessions = _summary(store, wanted)
        if not dry_run:
            store.update_from(
                "token_usage", ("estimated_cost", "cost_source"),
                """SELECT id, new_cost AS estimated_cost,
                          CASE WHEN new_cost IS NULL THEN 'unknown' ELSE 'estimated' END AS cost_source
                   FROM repriced WHERE old_cost IS DISTINCT FROM new_cost""",
                {"user": user},
            )
        store.execute("DROP TABLE repriced")
        store.execute("DROP TABLE reprice_rows")
    return RepriceResult(sessions, unknown, applied=not dry_run)


def _stage(store: Store, user: str, session_ids: list[str] | None) -> None:
    params: dict[str, Any] = {"user": user}
    session_filter = ""
    if session_ids is not None:
        params["sessions"] = session_ids
        session_filter = "AND list_contains($sessions, session_id)"
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE reprice_rows AS
            SELECT id, session_id, model, provider, created_at, input_tokens, output_tokens, cache_read_tokens,
                   cache_write_tokens, cache_write_1h_tokens, estimated_cost AS old_cost
            FROM token_usage
            WHERE user_id = $user AND cost_source <> 'given' AND model IS NOT NULL {session_filter}""",
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
