"""Bulk import: `sessionstats import tokens|stories [FILE|-]`."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from sessionstats import Database, ImportFormat, ImportResult, import_format
from sessionstats.cli.app import app
from sessionstats.cli.messages import warn_unknown_models
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.cli.progress import StepProgress
from sessionstats.cli.reading import spool, starts_with_bom, stdin_import_cap
from sessionstats.errors import InvalidInput
from sessionstats.times import zone_name
from sessionstats.validate import check_id

import_app = typer.Typer(
    help="Import token records or stories in bulk (JSON Lines, CSV or TSV: all rows or none), or your Claude Code "
         "and llm history.\n\n\b\nExample:\n"
         "  sessionstats import tokens calls.jsonl --create-sessions\n"
         "  sessionstats import stories stories.csv --session morning\n"
         "  sessionstats import claude-code",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

FileArgument = Annotated[str, typer.Argument(metavar="[FILE|-]", help="The file to import; - for stdin.")]
InputFormatOption = Annotated[
    ImportFormat | None,
    typer.Option("--format", "-f", case_sensitive=False, help="jsonl, csv or tsv [default: from the extension]."),
]
DefaultSessionOption = Annotated[
    str | None,
    typer.Option("--session", "-s", envvar="SESSIONSTATS_SESSION", show_envvar=True, metavar="ID",
                 help="Session for rows without a session_id."),
]
CreateSessionsOption = Annotated[
    bool, typer.Option("--create-sessions", help="Create the sessions the rows name that do not exist yet.")
]


@import_app.command("tokens")
@shared_options("tz", "db", "user")
def import_tokens_command(file: FileArgument = "-", fmt: InputFormatOption = None,
                          session: DefaultSessionOption = None, create_sessions: CreateSessionsOption = False,
                          shared: Shared = NO_SHARED) -> None:
    """Import token usage records.

    Columns: session_id, model, provider, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, cache_write_1h_tokens (of the cache writes, the 1-hour ones), cost,
    cost_source (as export writes it: given, reported or estimated with a cost, unknown without), request_id,
    story_id, created_at, service_tier, speed (fast mode), tool_calls (billed web searches).
    input_tokens and output_tokens are required; a row with a model and no cost gets an estimated cost
    (its tier, speed and searches priced as record-tokens prices them). A request id already in its
    session (or earlier in the file) is skipped, so importing a file twice changes nothing.

    \b
    Example:
      sessionstats import tokens usage.jsonl --create-sessions
      gunzip -c usage.csv.gz | sessionstats import tokens - --format csv --session "$S"
    """
    _run_import(Database.import_tokens, file, fmt, session, create_sessions, shared)


@import_app.command("stories")
@shared_options("tz", "db", "user")
def import_stories_command(file: FileArgument = "-", fmt: InputFormatOption = None,
                           session: DefaultSessionOption = None, create_sessions: CreateSessionsOption = False,
                           shared: Shared = NO_SHARED) -> None:
    """Import stories.

    Columns: session_id, id, title, narrative, tone, priority, word_count, duration, created_at.
    title is required; word_count is counted from the narrative when absent. A story id already in
    its session (or earlier in the file) is skipped.

    \b
    Example:
      sessionstats import stories stories.csv --session "$SESSIONSTATS_SESSION"
    """
    _run_import(Database.import_stories, file, fmt, session, create_sessions, shared)


def _run_import(importer, file: str, fmt: ImportFormat | None, session: str | None,  # type: ignore[no-untyped-def]
                create_sessions: bool, shared: Shared) -> None:
    started = time.monotonic()
    zone = zone_name(shared.zone)  # the IANA name DuckDB reads times in: the zone `--at` reads them in
    default_session = check_id(session, "--session") if session is not None else None
    database = shared.database
    with _readable_file(file, fmt) as (path, chosen):
        result = importer(database, path, format=chosen.value, session=default_session, zone=zone,
                          create_sessions=create_sessions, progress=StepProgress)
    _report(result, time.monotonic() - started)


@contextmanager
def _readable_file(file: str, fmt: ImportFormat | None) -> Iterator[tuple[Path, ImportFormat]]:
    """The file to read. Stdin is copied to a temporary file first (DuckDB reads it more than once), and so
    is a JSON Lines file that starts with a byte order mark (DuckDB refuses one; the CSV reader skips it)."""
    if file == "-" and sys.stdin.isatty():
        raise InvalidInput("FILE: give a file to import, or pipe the rows in (with --format)")
    path = None if file == "-" else Path(file)
    if path is not None and not path.is_file():
        pipe = " (for a pipe or a device, pass - and redirect it to stdin)" if path.exists() else ""
        raise InvalidInput(f"FILE: {file!r} is not a file you can read{pipe}")
    chosen = import_format(path, fmt)
    with ExitStack() as stack:
        if path is None:
            source, cap = sys.stdin.buffer, stdin_import_cap()
        else:
            source, cap = stack.enter_context(_open(path)), None
            if chosen is not ImportFormat.jsonl or not starts_with_bom(source):
                yield path, chosen
                return
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sessionstats-import-")))
        copy = folder / f"{'stdin' if path is None else 'file'}.{chosen.value}"
        spool(source, copy, cap=cap, strip_bom=chosen is ImportFormat.jsonl)
        yield copy, chosen


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as error:
        raise InvalidInput(f"FILE: cannot read {str(path)!r}: {error.strerror}") from None


def _report(result: ImportResult, seconds: float) -> None:
    warn_unknown_models(result.unknown_models)
    line = (f"sessionstats: imported {result.imported:,} {result.what} into {result.sessions:,} sessions "
            f"in {seconds:.1f} s")
    if result.skipped:
        line += f"; {result.skipped:,} were recorded already and skipped"
    if result.created_sessions:
        line += f"; created {result.created_sessions:,} sessions"
    print(line, file=sys.stderr)
    if result.unkeyed:
        print(f"sessionstats: note: {result.unkeyed:,} of them have no {result.key}; importing them again "
              "would store them again", file=sys.stderr)
