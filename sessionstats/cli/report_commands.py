"""Commands that report: show, list."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sessionstats.breakdowns import Dimension
from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_FILTERS,
    DbOption,
    Filters,
    FormatOption,
    SessionArgument,
    TableStyleOption,
    TzOption,
    UserOption,
    WideOption,
    finite,
    given_session,
    resolve_bucket_zone,
    resolve_format,
    resolve_user,
    table_width,
    with_filters,
)
from sessionstats.cli.show_view import ShowRequest, load, render, watch_session
from sessionstats.cli.stats_view import render_many
from sessionstats.render import Format
from sessionstats.sessions import short_ids
from sessionstats.stats import SORTABLE, list_stats
from sessionstats.store import open_store
from sessionstats.times import resolve_zone


@app.command()
@with_filters
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
        float, typer.Option(min=0.05, max=3600, metavar="SECONDS", callback=finite,
                            help="How often --watch looks for changes.")
    ] = 2.0,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    wide: WideOption = False,
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
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
    zone, name = resolve_bucket_zone(tz) if by else (resolve_zone(tz), None)
    request = ShowRequest(
        db=db, session_id=given_session(session_id), user=resolve_user(user, db),
        scope=filters.scope(zone),
        by=list(by or []), zone=zone, zone_name=name, fmt=resolve_format(fmt), style=style, width=table_width(wide),
    )
    if watch:
        watch_session(request, interval)
        return
    sys.stdout.write(render(request, load(request)))
    _note_journal(db)


def _note_journal(db: str | None) -> None:
    """Say so when records kept while the database was busy still wait to be stored (journal.py)."""
    from sessionstats.journal import journal_path, pending
    from sessionstats.store import resolve_target

    target = resolve_target(db)
    waiting = pending(target)
    if waiting:
        print(f"sessionstats: note: {waiting:,} records kept while the database was busy wait in "
              f"{journal_path(target)}; the next write stores them (these figures leave them out)", file=sys.stderr)


@app.command("list")
@with_filters
def list_command(
    sort: Annotated[
        str, typer.Option(metavar="FIELD", help=f"Order by any figure: {', '.join(SORTABLE)}.")
    ] = "created_at",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first [default: largest/newest first].")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most N sessions.")] = None,
    filters: Filters = NO_FILTERS,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    wide: WideOption = False,
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """List your sessions with their figures, newest first.

    \b
    Example:
      sessionstats list --sort total_cost --limit 10
      sessionstats list --since 2026-11-01 --until 2026-12-01 --sort cost_per_story --asc
    """
    zone = resolve_zone(tz)
    scope = filters.scope(zone)
    owner = resolve_user(user, db)
    shown, width = resolve_format(fmt), table_width(wide)
    with open_store(db) as store:
        rows = list_stats(store, user=owner, sort=sort, descending=not ascending, limit=limit, scope=scope)
        ids = short_ids(store, [s.session_id for s in rows], user=owner) if shown is Format.table and width else None
    sys.stdout.write(render_many(rows, shown, zone, style, width=width, ids=ids))
