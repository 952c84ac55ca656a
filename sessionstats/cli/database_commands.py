"""Set up a database before a team's first use: init-db."""

from __future__ import annotations

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import DbOption
from sessionstats.display.escaping import visible
from sessionstats.store import open_store
from sessionstats.store.migrations import LATEST_VERSION


@app.command("init-db")
def init_db(db: DbOption = None) -> None:
    """Create the tables (or bring them up to date) and say where they are.

    Every command does this on first use; run it once as a shared server's owner role, since
    members may not create tables (see 'Team setup' in the README).

    \b
    Example:
      sessionstats init-db --db postgresql://sessionstats_owner@db.studio.lan/sessionstats
    """
    with open_store(db, write=True) as store:
        where = store.location
    typer.echo(f"sessionstats: the database at {visible(str(where))} is ready (schema {LATEST_VERSION})", err=True)
