"""Commands that create and change sessions: new, start, end, rename, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import (
    AtOption,
    DbOption,
    TzOption,
    UserOption,
    complete_session,
    resolve_at,
    resolve_user,
)
from sessionstats.cli.output import print_stored_id
from sessionstats.sessions import (
    create_session,
    delete_record,
    delete_session,
    end_session,
    find_record,
    rename_session,
    require_session,
    start_session,
)
from sessionstats.store import open_store
from sessionstats.times import resolve_zone
from sessionstats.validate import parse_settings

SessionArgument = Annotated[
    str, typer.Argument(metavar="SESSION", autocompletion=complete_session,
                        help="The session: its id, its name or a unique id prefix."),
]


@app.command()
def new(
    name: Annotated[str | None, typer.Argument(help="A name to know the session by.")] = None,
    session_id: Annotated[str | None, typer.Option("--id", help="Choose the id [default: a new UUIDv7].")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", metavar="KEY=VALUE", help="A setting to keep with the session (repeatable)."),
    ] = None,
    at: AtOption = None,
    tz: TzOption = None,
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
    with open_store(db, write=True) as store:
        session = create_session(store, user=owner, name=name, session_id=session_id, settings=settings,
                                 at=resolve_at(at, resolve_zone(tz)))
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
    with open_store(db, write=True, create=False) as store:
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
    with open_store(db, write=True, create=False) as store:
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
    with open_store(db, write=True, create=False) as store:
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
        with open_store(db) as store:  # closed again while the person decides
            session = require_session(store, session_id, user=owner)
        session_id = session.id  # the one the person agreed to, whatever a name or prefix names by then
        named = f" ({session.name})" if session.name else ""
        typer.confirm(f"Delete session {session_id!r}{named} with its stories and token records?", abort=True,
                      err=True)
    with open_store(db, write=True, create=False) as store:
        session, stories, tokens = delete_session(store, session_id, user=owner)
    typer.echo(f"deleted session {session.id!r}: {stories:,} stories, {tokens:,} token records", err=True)


@app.command("delete-record")
def delete_record_command(
    record_id: Annotated[str, typer.Argument(metavar="RECORD_ID", help="The story's or token record's id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Delete one wrong story or token record; the rest of its session stays.

    A story's token records stay too (they were billed); they then count under no story.
    'sessionstats calls' and 'sessionstats stories' show the ids.

    \b
    Example:
      sessionstats delete-record 01a20db6-eb22-70e6-a4a9-067ea969acbd
    """
    owner = resolve_user(user, db)
    if not yes:
        with open_store(db) as store:  # closed again while the person decides
            record = find_record(store, record_id, user=owner)
        typer.confirm(f"Delete {record.kind} {record.id!r} ({record.label}) of session {record.session_id!r}?",
                      abort=True, err=True)
    with open_store(db, write=True, create=False) as store:
        record = delete_record(store, record_id, user=owner)
    typer.echo(f"deleted {record.kind} {record.id!r} ({record.label}) of session {record.session_id!r}", err=True)
