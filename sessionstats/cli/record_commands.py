"""Commands that record what a generator produced and spent: record-story, record-tokens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import (
    AtOption,
    CreateOption,
    DbOption,
    SessionOption,
    TzOption,
    UserOption,
    resolve_at,
    resolve_user,
)
from sessionstats.errors import InvalidInput
from sessionstats.records import Recorded, StoryInput, TokenUsageInput, record_story, record_tokens
from sessionstats.store import open_store
from sessionstats.times import resolve_zone
from sessionstats.validate import MAX_BIGINT, check_text, parse_cost


@app.command("record-story")
def record_story_command(
    title: Annotated[str, typer.Option("--title", "-t", help="The story's title.")],
    session: SessionOption = None,
    narrative: Annotated[str | None, typer.Option(help="The story's text.")] = None,
    narrative_file: Annotated[
        str | None,
        typer.Option("--narrative-file", metavar="PATH|-", help="Read the text from a file, or - for stdin."),
    ] = None,
    tone: Annotated[str | None, typer.Option(help="Tone, e.g. calm, urgent.")] = None,
    priority: Annotated[str | None, typer.Option(help="Priority, e.g. high, normal.")] = None,
    word_count: Annotated[
        int | None, typer.Option(min=0, max=MAX_BIGINT, help="Words [default: counted from the narrative].")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="Narration length in seconds.")] = None,
    story_id: Annotated[str | None, typer.Option("--id", help="Choose the id; recording it again is a no-op.")] = None,
    at: AtOption = None,
    tz: TzOption = None,
    create: CreateOption = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Record a story and print its id.

    \b
    Example:
      sessionstats record-story -s "$S" --title "Harbour at dawn" --tone calm --narrative-file story.txt
    """
    if narrative is not None and narrative_file is not None:
        raise InvalidInput("--narrative and --narrative-file: give one or the other")
    if narrative_file is not None:
        narrative = _read_text(narrative_file, "--narrative-file")
    story = StoryInput(
        session_id=session, title=title, narrative=narrative, tone=tone, priority=priority,  # type: ignore[arg-type]
        word_count=word_count, duration=duration, id=story_id, created_at=resolve_at(at, resolve_zone(tz)),
    )
    owner = resolve_user(user)
    with open_store(db, write=True) as store:
        recorded = record_story(store, story, user=owner, create=create)
    _print_recorded(recorded, "story")


@app.command("record-tokens")
def record_tokens_command(
    input_tokens: Annotated[int, typer.Option("--input", min=0, max=MAX_BIGINT, help="Uncached input tokens.")],
    output_tokens: Annotated[int, typer.Option("--output", min=0, max=MAX_BIGINT, help="Output tokens.")],
    session: SessionOption = None,
    cache_read: Annotated[int, typer.Option(min=0, max=MAX_BIGINT, help="Tokens read from the prompt cache.")] = 0,
    cache_write: Annotated[int, typer.Option(min=0, max=MAX_BIGINT, help="Tokens written to the prompt cache.")] = 0,
    model: Annotated[str | None, typer.Option(help="Model id, e.g. claude-sonnet-4-5.")] = None,
    cost: Annotated[
        str | None, typer.Option(metavar="USD", help="What the call cost, exactly [default: unknown].")
    ] = None,
    story: Annotated[
        str | None, typer.Option("--story", metavar="STORY_ID", help="The story these tokens made.")
    ] = None,
    request_id: Annotated[
        str | None, typer.Option(help="The API's request id; recording it again in the session is a no-op.")
    ] = None,
    at: AtOption = None,
    tz: TzOption = None,
    create: CreateOption = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Record one API call's token usage and print the record's id.

    total_tokens is the sum of input, output, cache read and cache write tokens.

    \b
    Example:
      sessionstats record-tokens -s "$S" --model claude-sonnet-4-5 --input 1200 --output 350 --cost 0.0089
    """
    usage = TokenUsageInput(
        session_id=session,  # type: ignore[arg-type]
        input_tokens=input_tokens, output_tokens=output_tokens,
        cache_read_tokens=cache_read, cache_write_tokens=cache_write, model=model,
        cost=parse_cost(cost, "--cost"), story_id=story, request_id=request_id,
        created_at=resolve_at(at, resolve_zone(tz)),
    )
    owner = resolve_user(user)
    with open_store(db, write=True) as store:
        recorded = record_tokens(store, usage, user=owner, create=create)
    _print_recorded(recorded, "token record")


def _read_text(source: str, option: str) -> str:
    """A UTF-8 text file, or stdin for '-'; a clear error for anything else."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(check_text(source, option)).read_bytes()
    except OSError as error:
        raise InvalidInput(f"{option}: cannot read {source!r}: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{option}: {source!r} is not UTF-8 text (bad byte at offset {error.start})") from None


def _print_recorded(recorded: Recorded, what: str) -> None:
    print(recorded.id)
    if not recorded.created:
        print(f"sessionstats: {what} {recorded.id} was recorded already; nothing new stored", file=sys.stderr)
