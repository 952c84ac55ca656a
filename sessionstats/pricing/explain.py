"""How a record's cost was made, term by term, and how a session's total splits by where its costs came from.

A record's arithmetic is worked out again from what the record keeps (its tokens, model, provider, service
tier, speed, tool calls and the time its price was taken for) with the price data installed now; `matches`
says whether that gives the stored cost (it does not after a price-data upgrade until `reprice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sessionstats.errors import SessionStatsError
from sessionstats.sessions import require_session
from sessionstats.store import Store
from sessionstats.validate import check_id

COST_SOURCES = ("given", "reported", "estimated", "unknown")
_RECORD_COLUMNS = ("id", "session_id", "model", "provider", "input_tokens", "output_tokens", "cache_read_tokens",
                   "cache_write_tokens", "cache_write_1h_tokens", "estimated_cost", "cost_source", "reported_cost",
                   "service_tier", "speed", "tool_calls", "tool_cost", "price_source", "priced_at",
                   "priced_at_source", "created_at", "request_id", "call_part")


class RecordNotFound(SessionStatsError):
    """The token record does not exist, or belongs to another user (indistinguishable)."""

    exit_code = 1

    def __init__(self, record_id: str) -> None:
        super().__init__(f"token record {record_id!r} not found (a record id is what record-tokens printed)")


@dataclass(frozen=True)
class CostLine:
    """One term: `quantity` of `kind` at `rate` dollars each."""

    kind: str
    quantity: int
    rate: Decimal
    cost: Decimal

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as `explain --format json` prints them."""
        return {"kind": self.kind, "quantity": self.quantity, "rate": self.rate, "cost": self.cost}


@dataclass(frozen=True)
class RecordExplanation:
    """A record's stored cost, where it came from, and the arithmetic of its estimate."""

    record: dict[str, Any]
    lines: tuple[CostLine, ...] = ()
    estimate: Decimal | None = None
    price_tier: str | None = None
    modifiers: tuple[str, ...] = field(default_factory=tuple)
    note: str | None = None

    @property
    def matches(self) -> bool | None:
        """Whether the estimate worked out now is the stored cost (None when the cost is not an estimate)."""
        if self.record["cost_source"] != "estimated":
            return None
        return self.estimate == self.record["estimated_cost"]

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as `explain --format json` prints them."""
        return {**self.record, "price_tier": self.price_tier, "modifiers": list(self.modifiers),
                "lines": [line.as_dict() for line in self.lines], "estimate": self.estimate,
                "matches_stored_cost": self.matches, "note": self.note}


@dataclass(frozen=True)
class SessionCostSplit:
    """A session's total cost by where each record's cost came from."""

    session_id: str
    records: dict[str, int]
    costs: dict[str, Decimal]
    total_cost: Decimal

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as `explain --format json` prints them."""
        return {"session_id": self.session_id, "total_cost": self.total_cost,
                **{f"{source}_records": self.records[source] for source in COST_SOURCES},
                **{f"{source}_cost": self.costs[source] for source in COST_SOURCES}}


def explain_record(store: Store, record_id: str, *, user: str) -> RecordExplanation:
    """The record's cost worked out again, term by term; RecordNotFound if it is not the user's."""
    record_id = check_id(record_id, "record_id")  # the id rule, as delete-record applies it
    row = store.fetchone(f"SELECT {', '.join(_RECORD_COLUMNS)} FROM token_usage WHERE user_id = ? AND id = ?",
                         [user, record_id])
    if row is None:
        raise RecordNotFound(record_id)
    record = dict(zip(_RECORD_COLUMNS, row, strict=True))
    if record["model"] is None:
        return RecordExplanation(record, note="no model: the cost can only be given")
    return _worked_out(record)


def _worked_out(record: dict[str, Any]) -> RecordExplanation:
    from sessionstats.pricing.calls import CallTerms, Priced, price_call
    from sessionstats.pricing.prices import TokenCounts

    counts = TokenCounts(record["input_tokens"], record["output_tokens"], record["cache_read_tokens"],
                         record["cache_write_tokens"], record["cache_write_1h_tokens"])
    at: datetime = record["priced_at"] or record["created_at"]
    priced = price_call(record["model"], record["provider"], counts, at,
                        CallTerms(record["service_tier"], record["speed"], record["tool_calls"] or 0))
    if not isinstance(priced, Priced):
        return RecordExplanation(record, note=priced.reason)
    lines = tuple(CostLine(line.kind, line.quantity, line.rate, line.cost) for line in priced.lines)
    return RecordExplanation(record, lines, priced.cost, priced.tier, priced.modifiers)


def explain_session(store: Store, session_id: str, *, user: str) -> SessionCostSplit:
    """The session's total split into given, reported, estimated and unknown costs."""
    session = require_session(store, session_id, user=user)
    rows = store.fetchall(
        """SELECT cost_source, count(*), coalesce(sum(estimated_cost), 0) FROM token_usage
           WHERE user_id = ? AND session_id = ? GROUP BY cost_source""",
        [user, session.id])
    records = dict.fromkeys(COST_SOURCES, 0)
    costs = dict.fromkeys(COST_SOURCES, Decimal(0))
    for source, count, cost in rows:
        records[source], costs[source] = int(count), Decimal(cost)
    return SessionCostSplit(session.id, records, costs, sum(costs.values(), Decimal(0)))
