"""Commands that report: show, list."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from sessionstats import FIGURES, SORTABLE, Dimension
from sessionstats.cli.api_args import scope_args
from sessionstats.cli.app import app
from sessionstats.cli.emit import emit
from sessionstats.cli.options import (
    NO_FILTERS,
    NO_SHARED,
    Filters,
    SessionArgument,
    Shared,
    given_session,
    number_option,
    resolve_bucket_zone,
    shared_options,
    whole_option,
    with_filters,
)
from sessionstats.cli.show_view import ShowRequest, load, render, watch_session
from sessionstats.cli.stats_view import sessions_table
from sessionstats.display.render import Format
from sessionstats.validate import MAX_BIGINT

if TYPE_CHECKING:
    from sessionstats import Database


@app.command()
@with_filters
@shared_options("fmt", "style", "wide", "tz", "db", "user")
def show(
    session_id: SessionArgument = None,
    by: Annotated[
        list[Dimension] | None,
        typer.Option("--by", case_sensitive=False, metavar="tone|priority|model|day|hour",
                     help="Add a breakdown by tone, priority, model, day or hour; repeat to combine (--by model "
                          "--by day)."),
    ] = None,
    filters: Filters = NO_FILTERS,
    watch: Annotated[bool, typer.Option("--watch", help="Redraw whenever the data changes, until Ctrl-C.")] = False,
    interval: Annotated[
        float, number_option(low=0.05, high=3600, metavar="SECONDS", help="How often --watch looks for changes.")
    ] = 2.0,
    shared: Shared = NO_SHARED,
) -> None:
    """Show one session's stories, API calls, tokens, cost and efficiency.

    Token records take their tone and priority from their story (--story when recorded); records without
    one fall in the "(none)" group. Days and hours are cut in the local zone, or --tz.

    \b
    Example:
      sessionstats show "$SESSIONSTATS_SESSION"
      sessionstats show "$SESSIONSTATS_SESSION" --by model --by day --since 7d
      sessionstats show "$SESSIONSTATS_SESSION" --format json | jq .total_cost
      sessionstats show "$SESSIONSTATS_SESSION" --watch
    """
    zone, name = resolve_bucket_zone(shared.tz) if by else (shared.zone, None)
    request = ShowRequest(database=shared.database, session_id=given_session(session_id),
                          scope=filters.scope(zone), by=list(by or []), zone_name=name,
                          layout=replace(shared.layout, zone=zone))
    if watch:
        watch_session(request, interval)
        return
    sys.stdout.write(render(request, load(request)))
    _note_journal(shared.database)


def _note_journal(database: Database) -> None:
    """Say so when records kept while the database was busy still wait to be stored (journal.py)."""
    waiting = database.pending_journal()
    if waiting:
        print(f"sessionstats: note: {waiting:,} records kept while the database was busy wait in "
              f"{database.journal_path()}; the next write stores them (these figures leave them out)",
              file=sys.stderr)


@app.command("list")
@with_filters
@shared_options("fmt", "style", "wide", "tz", "db", "user")
def list_command(
    sort: Annotated[
        str, typer.Option(metavar="FIELD", help=f"Order by any figure: {', '.join(SORTABLE)}.")
    ] = "created_at",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first [default: largest/newest first].")] = False,
    limit: Annotated[int | None, whole_option(low=1, high=MAX_BIGINT, help="Show at most N sessions.")] = None,
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """List your sessions with their figures, newest first.

    \b
    Example:
      sessionstats list --sort total_cost --limit 10
      sessionstats list --since 2026-11-01 --until 2026-12-01 --sort cost_per_story --asc
    """
    scope, database, layout = filters.scope(shared.zone), shared.database, shared.layout
    rows = database.list_sessions(sort=sort, descending=not ascending, limit=limit, **scope_args(scope))
    ids = database.short_ids([s.session_id for s in rows]) if layout.fmt is Format.table and layout.width else None
    emit([s.as_dict() for s in rows], FIGURES, layout, lambda: sessions_table(rows, layout, ids))
