"""Commands that create and change sessions: new, start, end, rename, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionstats.cli.api_args import as_utc
from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_SHARED,
    AtOption,
    Shared,
    complete_session,
    resolve_at,
    shared_options,
)
from sessionstats.cli.output import print_stored_id
from sessionstats.validate import parse_settings

SessionArgument = Annotated[
    str, typer.Argument(metavar="SESSION", autocompletion=complete_session,
                        help="The session: its id, its name or a unique id prefix."),
]


@app.command()
@shared_options("tz", "db", "user")
def new(
    name: Annotated[str | None, typer.Argument(help="A name to know the session by.")] = None,
    session_id: Annotated[str | None, typer.Option("--id", help="Choose the id [default: a new UUIDv7].")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", metavar="KEY=VALUE", help="A setting to keep with the session (repeatable)."),
    ] = None,
    at: AtOption = None,
    shared: Shared = NO_SHARED,
) -> None:
    """Create a session and print its id.

    \b
    Example:
      export SESSIONSTATS_SESSION=$(sessionstats new "Friday broadcast" --setting voice=alloy)
    """
    settings = parse_settings(setting or [])
    database = shared.database
    session = database.new_session(name, id=session_id, settings=settings, at=as_utc(resolve_at(at, shared.zone)))
    print_stored_id(session.id, "session")


@app.command()
@shared_options("tz", "db", "user")
def start(session_id: SessionArgument, at: AtOption = None, shared: Shared = NO_SHARED) -> None:
    """Go live: an idle session becomes live and its duration starts.

    \b
    Example:
      sessionstats start "$SESSIONSTATS_SESSION"
    """
    started = resolve_at(at, shared.zone)
    shared.database.session(session_id).start(at=as_utc(started))


@app.command()
@shared_options("tz", "db", "user")
def end(session_id: SessionArgument, at: AtOption = None, shared: Shared = NO_SHARED) -> None:
    """End a live session; its duration stops.

    \b
    Example:
      sessionstats end "$SESSIONSTATS_SESSION"
    """
    ended = resolve_at(at, shared.zone)
    shared.database.session(session_id).end(at=as_utc(ended))


@app.command()
@shared_options("db", "user")
def rename(session_id: SessionArgument, name: Annotated[str, typer.Argument(help="The new name.")],
           shared: Shared = NO_SHARED) -> None:
    """Give a session a new name.

    \b
    Example:
      sessionstats rename "$SESSIONSTATS_SESSION" "Friday broadcast (rerun)"
    """
    shared.database.session(session_id).rename(name)


@app.command()
@shared_options("db", "user")
def delete(
    session_id: SessionArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    shared: Shared = NO_SHARED,
) -> None:
    """Delete a session with all its stories and token records.

    \b
    Example:
      sessionstats delete old-session --yes
    """
    database = shared.database
    if not yes:
        session = database.session(session_id).info()  # the database is closed again while the person decides
        session_id = session.id  # the one the person agreed to, whatever a name or prefix names by then
        named = f" ({session.name})" if session.name else ""
        typer.confirm(f"Delete session {session_id!r}{named} with its stories and token records?", abort=True,
                      err=True)
    session, stories, tokens = database.session(session_id).delete()
    typer.echo(f"deleted session {session.id!r}: {stories:,} stories, {tokens:,} token records", err=True)


@app.command("delete-record")
@shared_options("db", "user")
def delete_record_command(
    record_id: Annotated[str, typer.Argument(metavar="RECORD_ID", help="The story's or token record's id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    shared: Shared = NO_SHARED,
) -> None:
    """Delete one wrong story or token record; the rest of its session stays.

    A story's token records stay too (they were billed); they then count under no story.
    'sessionstats calls' and 'sessionstats stories' show the ids.

    \b
    Example:
      sessionstats delete-record 01a20db6-eb22-70e6-a4a9-067ea969acbd
    """
    database = shared.database
    if not yes:
        record = database.find_record(record_id)  # the database is closed again while the person decides
        typer.confirm(f"Delete {record.kind} {record.id!r} ({record.label}) of session {record.session_id!r}?",
                      abort=True, err=True)
    record = database.delete_record(record_id)
    typer.echo(f"deleted {record.kind} {record.id!r} ({record.label}) of session {record.session_id!r}", err=True)
