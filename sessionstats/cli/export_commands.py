"""`sessionstats export`: your stories, token records or figures to Parquet, CSV, TSV or JSON Lines."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from sessionstats import ExportWhat
from sessionstats.cli.api_args import scope_args
from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_FILTERS,
    NO_SHARED,
    Filters,
    Shared,
    complete_session,
    shared_options,
    with_filters,
)
from sessionstats.display.escaping import visible
from sessionstats.errors import InvalidInput


@app.command("export")
@with_filters
@shared_options("tz", "db", "user")
def export_command(
    to: Annotated[str, typer.Option("--to", metavar="PATH",
                                    help="File to write: .parquet, .csv, .tsv, .jsonl (or .ndjson, .json).")],
    session_ids: Annotated[list[str] | None, typer.Argument(
        metavar="[SESSION ...]", show_default=False, autocompletion=complete_session,
        help="Sessions to export (id, name or unique id prefix) [default: $SESSIONSTATS_SESSION when set, else all "
             "yours]."),
    ] = None,
    every_session: Annotated[bool, typer.Option("--all", help="Export all your sessions, even with "
                                                              "SESSIONSTATS_SESSION set.")] = False,
    what: Annotated[ExportWhat, typer.Option("--what", case_sensitive=False,
                                             help="stories, tokens or stats (one row per session).")
                    ] = ExportWhat.tokens,
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """Export your stories, token records or per-session figures; the format follows the extension.

    Token and story files have the columns `import tokens|stories` reads, times in UTC.

    \b
    Example:
      sessionstats export --to usage.parquet --since 30d
      sessionstats export "$SESSIONSTATS_SESSION" --what stories --to stories.csv
    """
    scope = filters.scope(shared.zone)
    database = shared.database
    current = os.environ.get("SESSIONSTATS_SESSION", "").strip()
    if session_ids and every_session:
        raise InvalidInput("`all`: give sessions or --all, not both", field="all")
    chosen = session_ids or ([] if every_session or not current else [current])
    rows = database.export(to, what, sessions=chosen, **scope_args(scope))
    if chosen and not session_ids:
        print(f"sessionstats: exported the current session {visible(current)} (SESSIONSTATS_SESSION); "
              "--all exports every session", file=sys.stderr)
    print(f"sessionstats: wrote {rows:,} rows of {what.value} to {visible(to)}", file=sys.stderr)
