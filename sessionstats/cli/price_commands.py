"""The command that brings estimated costs up to date with the price data: reprice."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from sessionstats import REPRICE_FIGURES
from sessionstats.cli.app import app
from sessionstats.cli.emit import Layout, emit
from sessionstats.cli.explain_commands import exact_dollars
from sessionstats.cli.messages import warn_unknown_models
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.cli.output import flush_stdout
from sessionstats.display.render import fmt_cost, fmt_tokens, table
from sessionstats.errors import InvalidInput

if TYPE_CHECKING:
    from sessionstats import RateChange, RepriceResult


@app.command("reprice")
@shared_options("fmt", "style", "db", "user")
def reprice_command(
    session_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[SESSION_ID]...", help="Sessions to reprice.")
    ] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="Reprice every session of yours.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the differences; change nothing.")] = False,
    shared: Shared = NO_SHARED,
) -> None:
    """Recompute estimated costs with the current price data and show each session's difference.

    Costs given with --cost (or in an import's cost column) and costs a response or log reported are
    never changed; records whose model had no price are priced when the price data now knows it. Each
    record is priced at its own time, tier and speed, and every rate that changed is listed on stderr
    (model, token kind, rate before -> after, tokens, effect), so a price-data upgrade can be reviewed.

    \b
    Example:
      sessionstats reprice --all --dry-run
      sessionstats reprice "$SESSIONSTATS_SESSION" --format json
    """
    if all_sessions == bool(session_ids):
        raise InvalidInput("name the sessions to reprice, or pass --all (not both)")
    result = shared.database.reprice(None if all_sessions else session_ids, dry_run=dry_run)
    layout = shared.layout
    emit([s.as_dict() for s in result.sessions], REPRICE_FIGURES, layout, lambda: reprice_table(result, layout))
    flush_stdout()  # a failed write is the one line, before the summary
    warn_unknown_models(result.unknown_models, outcome="keep an unknown cost")
    for change in result.rate_changes:
        print(f"sessionstats: {_rate_change(change)}", file=sys.stderr)
    what = "would change" if dry_run else "changed"
    print(f"sessionstats: {what} {result.changed:,} estimated costs in {len(result.sessions):,} sessions"
          + (" (dry run: nothing written)" if dry_run else ""), file=sys.stderr)


def reprice_table(result: RepriceResult, layout: Layout) -> str:
    """One line per session: records, costs before and after, the difference."""
    if not result.sessions:
        return "no estimated costs to reprice\n"
    headers = ["Session", "Records", "Changed", "Before", "After", "Difference", "Unpriced before", "Unpriced after"]
    body = [[s.session_id, fmt_tokens(s.records), fmt_tokens(s.changed), fmt_cost(s.cost_before),
             fmt_cost(s.cost_after), _signed(s.difference), fmt_tokens(s.unpriced_before),
             fmt_tokens(s.unpriced_after)] for s in result.sessions]
    return table(body, headers, tablefmt=layout.style) + "\n"


def _rate_change(change: RateChange) -> str:
    """`gpt-4o input: $5.00/M -> $2.50/M on 1,000 tokens in 1 records: -$0.0025`, for a person to review."""
    def per_million(rate: Decimal | None) -> str:
        return "unrecorded" if rate is None else exact_dollars(rate * 1_000_000, 2) + "/M"

    effect = "" if change.difference is None else f": {_signed(change.difference)}"
    return (f"rate {change.model} {change.kind}: {per_million(change.rate_before)} -> "
            f"{per_million(change.rate_after)} on {fmt_tokens(change.tokens)} tokens in "
            f"{fmt_tokens(change.records)} records{effect}")


def _signed(difference: Decimal) -> str:
    shown = fmt_cost(difference)
    return "+" + shown if difference > 0 and shown != "$0.0000" else shown
