"""Commands that report: show, list."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import (
    DbOption,
    FormatOption,
    TableStyleOption,
    TzOption,
    UserOption,
    resolve_format,
    resolve_user,
)
from sessionstats.cli.stats_view import render_many, render_one
from sessionstats.stats import SORTABLE, list_stats, session_stats
from sessionstats.store import open_store
from sessionstats.times import resolve_zone


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(metavar="SESSION_ID", help="Session to report on.")],
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Show one session's stories, API calls, tokens, cost and efficiency.

    \b
    Example:
      sessionstats show "$SESSIONSTATS_SESSION"
      sessionstats show "$SESSIONSTATS_SESSION" --format json | jq .total_cost
    """
    zone = resolve_zone(tz)
    owner = resolve_user(user)
    with open_store(db) as store:
        stats = session_stats(store, session_id, user=owner)
    sys.stdout.write(render_one(stats, resolve_format(fmt), zone, style))


@app.command("list")
def list_command(
    sort: Annotated[
        str, typer.Option(metavar="FIELD", help=f"Order by any figure: {', '.join(SORTABLE)}.")
    ] = "created_at",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first [default: largest/newest first].")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most N sessions.")] = None,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """List your sessions with their figures, newest first.

    \b
    Example:
      sessionstats list --sort total_cost --limit 10
    """
    zone = resolve_zone(tz)
    owner = resolve_user(user)
    with open_store(db) as store:
        rows = list_stats(store, user=owner, sort=sort, descending=not ascending, limit=limit)
    sys.stdout.write(render_many(rows, resolve_format(fmt), zone, style))
