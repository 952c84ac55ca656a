"""The command that shows how a cost was made: explain RECORD_ID, or explain --session ID."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from sessionstats import COST_SOURCES, SessionCostSplit
from sessionstats.cli.app import app
from sessionstats.cli.emit import Layout, emit
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.display.render import fmt_tokens
from sessionstats.errors import InvalidInput

if TYPE_CHECKING:
    from sessionstats import RecordExplanation

_PER_MILLION = Decimal(1_000_000)
_PRICED_AT = {"response": "the response's own time", "at": "the time given with --at", "now": "when recorded"}


@app.command("explain")
@shared_options("fmt", "db", "user")
def explain_command(
    record_id: Annotated[str | None, typer.Argument(metavar="[RECORD_ID]",
                                                    help="The token record (the id record-tokens printed).")] = None,
    session: Annotated[str | None, typer.Option("--session", "-s", metavar="SESSION_ID",
                                                help="Split a session's total by where its costs came from.")] = None,
    shared: Shared = NO_SHARED,
) -> None:
    """Show the arithmetic of a record's cost, line by line, or how a session's total splits.

    A record's estimate is worked out again from its tokens, model, service tier, speed and server tool
    calls at the time its price was taken for, so every figure can be checked by hand. A session's total
    splits into given (--cost), reported (stated by the response or log), estimated and unknown costs.

    \b
    Example:
      sessionstats explain "$(sessionstats record-tokens -s S --from-response r.json)"
      sessionstats explain --session S --format json
    """
    if (record_id is None) == (session is None):
        raise InvalidInput("name one record, or a session with --session (not both)")
    database = shared.database
    found = (database.explain_record(record_id) if record_id is not None
             else database.session(session).explain())
    emit_explanation(found, shared.layout)


def emit_explanation(found: RecordExplanation | SessionCostSplit, layout: Layout) -> None:
    """JSON carries every field; CSV/TSV one line per term (or cost source); a table reads as arithmetic."""
    if isinstance(found, SessionCostSplit):
        rows = [{"cost_source": s, "records": found.records[s], "cost": found.costs[s]} for s in COST_SOURCES]
        emit(rows, ["cost_source", "records", "cost"], layout, lambda: _session_text(found), whole=found.as_dict())
    else:
        emit([line.as_dict() for line in found.lines], ["kind", "quantity", "rate", "cost"], layout,
             lambda: _record_text(found), whole=found.as_dict())


def _record_text(found: RecordExplanation) -> str:
    record = found.record
    head = [f"record {record['id']} in session {record['session_id']}: {record['model'] or 'no model'}"]
    if record["priced_at"] is not None:
        when = _PRICED_AT.get(record["priced_at_source"], record["priced_at_source"])
        head.append(f"priced at {record['priced_at']:%Y-%m-%d %H:%M:%S} UTC ({when})")
    if found.lines:
        head.append(f"price: {record['price_source'] or 'the price data'}, {found.price_tier} rates"
                    + (f"; {', '.join(found.modifiers)}" if found.modifiers else ""))
    width = max((len(fmt_tokens(line.quantity)) for line in found.lines), default=0)
    body = [f"  {fmt_tokens(line.quantity):>{width}} {_kind(line.kind):<14} x {_rate(line.kind, line.rate):<14} "
            f"= {exact_dollars(line.cost)}" for line in found.lines]
    return "\n".join([*head, *body, *_totals(found)]) + "\n"


def _totals(found: RecordExplanation) -> list[str]:
    record = found.record
    source, stored = record["cost_source"], record["estimated_cost"]
    lines = [f"total {exact_dollars(found.estimate)}"] if found.estimate is not None else []
    if found.note:
        lines.append(f"not priced: {found.note}")
    if source == "estimated" and not found.matches:
        lines.append(f"stored cost {exact_dollars(stored)} was priced with other price data; `sessionstats reprice` "
                     "brings it up to date")
    elif source in ("given", "reported"):
        lines.append(f"stored cost {exact_dollars(stored)} ({source}; the estimate above is for comparison)"
                     if found.estimate is not None else f"stored cost {exact_dollars(stored)} ({source})")
    elif source == "unknown":
        lines.append("stored cost unknown")
    return lines


def _session_text(split: SessionCostSplit) -> str:
    lines = [f"session {split.session_id}: total {exact_dollars(split.total_cost)}"]
    lines += [f"  {source:<9} {fmt_tokens(split.records[source]):>9} records  {exact_dollars(split.costs[source])}"
              for source in COST_SOURCES]
    return "\n".join(lines) + "\n"


def _kind(kind: str) -> str:
    return {"cache_read": "cache read", "cache_write": "cache write", "cache_write_1h": "1h cache write",
            "web_search": "web searches", "per_call": "call"}.get(kind, kind)


def _rate(kind: str, rate: Decimal) -> str:
    if kind in ("web_search", "per_call"):
        return f"{exact_dollars(rate, 2)} each"
    return f"{exact_dollars(rate * _PER_MILLION, 2)}/M"


def exact_dollars(value: Decimal | None, places: int = 6) -> str:
    """Exact: at least `places` decimals, more when the value has them (never rounded)."""
    if value is None:
        return "unknown"
    exact = Decimal(value).normalize()
    shown = max(places, -exact.as_tuple().exponent) if isinstance(exact.as_tuple().exponent, int) else places
    return f"${exact:,.{shown}f}"
