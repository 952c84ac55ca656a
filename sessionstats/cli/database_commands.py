"""Set up a database before a team's first use: init-db."""

from __future__ import annotations

import typer

from sessionstats import init_db as make_ready
from sessionstats.cli.app import app
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.display.escaping import visible


@app.command("init-db")
@shared_options("db")
def init_db(shared: Shared = NO_SHARED) -> None:
    """Create the tables (or bring them up to date) and say where they are.

    Every command does this on first use; run it once as a shared server's owner role, since
    members may not create tables (see 'Team setup' in the README).

    \b
    Example:
      sessionstats init-db --db postgresql://sessionstats_owner@db.studio.lan/sessionstats
    """
    ready = make_ready(shared.db)
    typer.echo(f"sessionstats: the database at {visible(ready.location)} is ready (schema {ready.schema_version})",
               err=True)
