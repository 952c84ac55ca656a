"""The command that brings estimated costs up to date with the price data: reprice."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import DbOption, FormatOption, TableStyleOption, UserOption, resolve_format, resolve_user
from sessionstats.cli.output import flush_stdout
from sessionstats.errors import InvalidInput
from sessionstats.pricing import price_data_version
from sessionstats.render import Format, fmt_cost, fmt_tokens, table, to_delimited, to_json
from sessionstats.reprice import REPRICE_FIGURES, RepriceResult, reprice
from sessionstats.store import open_store


@app.command("reprice")
def reprice_command(
    session_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[SESSION_ID]...", help="Sessions to reprice.")
    ] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="Reprice every session of yours.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the differences; change nothing.")] = False,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Recompute estimated costs with the current price data and show each session's difference.

    Costs given with --cost (or in an import's cost column) are never changed; records whose model
    had no price are priced when the price data now knows it.

    \b
    Example:
      sessionstats reprice --all --dry-run
      sessionstats reprice "$SESSIONSTATS_SESSION" --format json
    """
    if all_sessions == bool(session_ids):
        raise InvalidInput("name the sessions to reprice, or pass --all (not both)")
    owner = resolve_user(user, db)
    with open_store(db, write=not dry_run) as store:
        result = reprice(store, user=owner, session_ids=None if all_sessions else session_ids, dry_run=dry_run)
    sys.stdout.write(render_reprice(result, resolve_format(fmt), style))
    flush_stdout()  # a failed write is the one line, before the summary
    for model, records in result.unknown_models.items():
        print(f"sessionstats: warning: model {model!r} is not in the price data (genai-prices "
              f"{price_data_version()}); {records:,} records keep an unknown cost", file=sys.stderr)
    what = "would change" if dry_run else "changed"
    print(f"sessionstats: {what} {result.changed:,} estimated costs in {len(result.sessions):,} sessions"
          + (" (dry run: nothing written)" if dry_run else ""), file=sys.stderr)


def render_reprice(result: RepriceResult, fmt: Format, style: str) -> str:
    """One line per session: records, costs before and after, the difference."""
    rows = [s.as_dict() for s in result.sessions]
    if fmt is Format.json:
        return to_json(rows) + "\n"
    if fmt is not Format.table:
        return to_delimited(rows, REPRICE_FIGURES, "," if fmt is Format.csv else "\t")
    if not rows:
        return "no estimated costs to reprice\n"
    headers = ["Session", "Records", "Changed", "Before", "After", "Difference", "Unpriced before", "Unpriced after"]
    body = [[s.session_id, fmt_tokens(s.records), fmt_tokens(s.changed), fmt_cost(s.cost_before),
             fmt_cost(s.cost_after), _signed(s.difference), fmt_tokens(s.unpriced_before),
             fmt_tokens(s.unpriced_after)] for s in result.sessions]
    return table(body, headers, tablefmt=style) + "\n"


def _signed(difference: Decimal) -> str:
    shown = fmt_cost(difference)
    return "+" + shown if difference > 0 and shown != "$0.0000" else shown
