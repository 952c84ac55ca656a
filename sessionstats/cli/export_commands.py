"""`sessionstats export`: your stories, token records or figures to Parquet, CSV, TSV or JSON Lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_FILTERS,
    DbOption,
    Filters,
    TzOption,
    UserOption,
    resolve_user,
    with_filters,
)
from sessionstats.escaping import visible
from sessionstats.export import ExportWhat, export
from sessionstats.store import open_store
from sessionstats.times import resolve_zone


@app.command("export")
@with_filters
def export_command(
    to: Annotated[str, typer.Option("--to", metavar="PATH",
                                    help="File to write: .parquet, .csv, .tsv, .jsonl (or .ndjson, .json).")],
    session_ids: Annotated[list[str] | None, typer.Argument(metavar="[ID ...]", show_default=False,
                                                           help="Sessions to export [default: all yours].")] = None,
    what: Annotated[ExportWhat, typer.Option("--what", case_sensitive=False,
                                             help="stories, tokens or stats (one row per session).")
                    ] = ExportWhat.tokens,
    filters: Filters = NO_FILTERS,
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Export your stories, token records or per-session figures; the format follows the extension.

    Token and story files have the columns `import tokens|stories` reads, times in UTC.

    \b
    Example:
      sessionstats export --to usage.parquet --since 30d
      sessionstats export "$SESSIONSTATS_SESSION" --what stories --to stories.csv
    """
    scope = filters.scope(resolve_zone(tz))
    owner = resolve_user(user, db)
    with open_store(db) as store:
        rows = export(store, Path(to).expanduser(), what, user=owner, session_ids=session_ids or [], scope=scope)
    print(f"sessionstats: wrote {rows:,} rows of {what.value} to {visible(to)}", file=sys.stderr)
