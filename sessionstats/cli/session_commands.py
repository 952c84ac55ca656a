"""Commands that create and change sessions: new, start, end, rename, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import AtOption, DbOption, TzOption, UserOption, resolve_at, resolve_user
from sessionstats.cli.output import print_stored_id
from sessionstats.sessions import (
    create_session,
    delete_session,
    end_session,
    rename_session,
    require_session,
    start_session,
)
from sessionstats.store import open_store
from sessionstats.times import resolve_zone
from sessionstats.validate import parse_settings

SessionArgument = Annotated[str, typer.Argument(metavar="SESSION_ID", help="The session's id.")]


@app.command()
def new(
    name: Annotated[str | None, typer.Argument(help="A name to know the session by.")] = None,
    session_id: Annotated[str | None, typer.Option("--id", help="Choose the id [default: a new UUIDv7].")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", metavar="KEY=VALUE", help="A setting to keep with the session (repeatable)."),
    ] = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Create a session and print its id.

    \b
    Example:
      export SESSIONSTATS_SESSION=$(sessionstats new "Friday broadcast" --setting voice=alloy)
    """
    settings = parse_settings(setting or [])
    owner = resolve_user(user, db)
    with open_store(db, write=True, direct=True) as store:
        session = create_session(store, user=owner, name=name, session_id=session_id, settings=settings)
    print_stored_id(session.id, "session")


@app.command()
def start(session_id: SessionArgument, at: AtOption = None, tz: TzOption = None,
          db: DbOption = None, user: UserOption = None) -> None:
    """Go live: an idle session becomes live and its duration starts.

    \b
    Example:
      sessionstats start "$SESSIONSTATS_SESSION"
    """
    started = resolve_at(at, resolve_zone(tz))
    owner = resolve_user(user, db)
    with open_store(db, write=True, direct=True) as store:
        start_session(store, session_id, user=owner, at=started)


@app.command()
def end(session_id: SessionArgument, at: AtOption = None, tz: TzOption = None,
        db: DbOption = None, user: UserOption = None) -> None:
    """End a live session; its duration stops.

    \b
    Example:
      sessionstats end "$SESSIONSTATS_SESSION"
    """
    ended = resolve_at(at, resolve_zone(tz))
    owner = resolve_user(user, db)
    with open_store(db, write=True, direct=True) as store:
        end_session(store, session_id, user=owner, at=ended)


@app.command()
def rename(session_id: SessionArgument, name: Annotated[str, typer.Argument(help="The new name.")],
           db: DbOption = None, user: UserOption = None) -> None:
    """Give a session a new name.

    \b
    Example:
      sessionstats rename "$SESSIONSTATS_SESSION" "Friday broadcast (rerun)"
    """
    owner = resolve_user(user, db)
    with open_store(db, write=True, direct=True) as store:
        rename_session(store, session_id, name, user=owner)


@app.command()
def delete(
    session_id: SessionArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Delete a session with all its stories and token records.

    \b
    Example:
      sessionstats delete old-session --yes
    """
    owner = resolve_user(user, db)
    if not yes:
        with open_store(db, direct=True) as store:  # closed again while the person decides
            require_session(store, session_id, user=owner)
        typer.confirm(f"Delete session {session_id!r} with its stories and token records?", abort=True, err=True)
    with open_store(db, write=True, direct=True) as store:
        stories, tokens = delete_session(store, session_id, user=owner)
    typer.echo(f"deleted session {session_id!r}: {stories:,} stories, {tokens:,} token records", err=True)
