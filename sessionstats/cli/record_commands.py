"""Commands that record what a generator produced and spent: record-story, record-tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from sessionstats import Recorded, ResponseUsage, read_response
from sessionstats.cli.api_args import as_utc
from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_SHARED,
    AtOption,
    CreateOption,
    SessionOption,
    Shared,
    count_option,
    fields_as_options,
    given_session,
    number_option,
    resolve_at,
    shared_options,
)
from sessionstats.cli.output import OutputFailed, print_stored_id
from sessionstats.cli.reading import NARRATIVE_MAX_BYTES, RESPONSE_MAX_BYTES, read_bounded
from sessionstats.display.escaping import visible
from sessionstats.errors import InvalidInput, SessionNotFound
from sessionstats.validate import parse_cost


@app.command("record-story")
@shared_options("tz", "db", "user")
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
        int | None, count_option(help="Words [default: counted from the narrative].")
    ] = None,
    duration: Annotated[
        float | None, number_option(metavar="SECONDS", help="Narration length in seconds.")
    ] = None,
    story_id: Annotated[str | None, typer.Option("--id", help="Choose the id; recording it again is a no-op.")] = None,
    at: AtOption = None,
    create: CreateOption = False,
    shared: Shared = NO_SHARED,
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
    session_id = given_session(session, can_create=True)
    when = as_utc(resolve_at(at, shared.zone))
    database = shared.database
    with _create_hint():  # journal=False: a busy database is exit 4 here, as the shell can retry
        recorded = database.session(session_id, create=create).record_story(
            title, narrative=narrative, tone=tone, priority=priority, word_count=word_count, duration=duration,
            id=story_id, at=when, journal=False)
    _print_recorded(recorded, "story")


@app.command("record-tokens")
@shared_options("tz", "db", "user")
def record_tokens_command(
    input_tokens: Annotated[
        int | None, count_option("--input", help="Uncached input tokens.")
    ] = None,
    output_tokens: Annotated[int | None, count_option("--output", help="Output tokens.")] = None,
    session: SessionOption = None,
    cache_read: Annotated[
        int | None, count_option(help="Tokens read from the prompt cache [default: 0].")
    ] = None,
    cache_write: Annotated[
        int | None, count_option(help="Tokens written to the prompt cache [default: 0].")
    ] = None,
    cache_write_1h: Annotated[
        int | None,
        count_option("--cache-write-1h", help="Of --cache-write, how many were 1-hour cache writes (priced "
                                              "higher than 5-minute ones) [default: 0]."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model id, e.g. claude-sonnet-4-5 or openai/gpt-4o; prices the call.")
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="Whose prices apply when the model name is ambiguous, e.g. openrouter.")
    ] = None,
    cost: Annotated[
        str | None,
        typer.Option(metavar="USD", help="What the call cost, exactly [default: estimated from --model, "
                                         "else unknown]."),
    ] = None,
    story: Annotated[
        str | None, typer.Option("--story", metavar="STORY_ID", help="The story these tokens made.")
    ] = None,
    request_id: Annotated[
        str | None, typer.Option(help="The API's request id; recording it again in the session is a no-op.")
    ] = None,
    from_response: Annotated[
        str | None,
        typer.Option("--from-response", metavar="FILE|-",
                     help="Take the model, token counts and request id from a saved API response (- for stdin)."),
    ] = None,
    pass_through: Annotated[
        bool,
        typer.Option("--pass-through",
                     help="With --from-response: copy the response to stdout unchanged; the id goes to stderr."),
    ] = False,
    service_tier: Annotated[
        str | None,
        typer.Option("--service-tier", metavar="TIER",
                     help="How the call was served when the response does not say: flex or batch (half price), "
                          "priority (unpriced), default."),
    ] = None,
    at: AtOption = None,
    create: CreateOption = False,
    shared: Shared = NO_SHARED,
) -> None:
    """Record one API call's token usage and print the record's id.

    total_tokens is the sum of input, output, cache read and cache write tokens. Without --cost, the
    cost is estimated from --model with genai-prices' bundled prices at the call's time (the response's
    own time, else --at, else now), with the service tier, fast mode, web search fees and the dated,
    sourced long-context rows of sessionstats/pricing/overrides.py; `sessionstats explain ID` shows how.

    --from-response understands Anthropic Messages JSON and event streams, OpenAI Chat Completions
    JSON and streams (with a usage chunk), OpenAI Responses JSON and streams (incomplete and failed ones
    with usage too), OpenRouter (its usage.cost is kept as reported) and Gemini's OpenAI-compatible
    endpoint. An Anthropic advisor or compaction iteration is stored as its own record under the same
    request id. With --pass-through the response
    is copied to stdout even when recording fails; the exit code tells.

    \b
    Example:
      sessionstats record-tokens -s "$S" --model claude-sonnet-4-5 --input 1200 --output 350 --cost 0.0089
      curl -sN https://api.anthropic.com/v1/messages ... \\
        | sessionstats record-tokens --from-response - --pass-through | jq -r '.content[0].text'
    """
    copy_failed: OSError | OutputFailed | None = None
    counts = {"--input": input_tokens, "--output": output_tokens, "--cache-read": cache_read,
              "--cache-write": cache_write, "--cache-write-1h": cache_write_1h, "--request-id": request_id}
    if from_response is None:
        if pass_through:
            raise InvalidInput("--pass-through: only with --from-response")
        missing = [name for name in ("--input", "--output") if counts[name] is None]
        if missing:
            raise InvalidInput(f"{missing[0]}: required (or read the counts from a response with --from-response)")
        taken = ResponseUsage("options", model, request_id, input_tokens or 0, output_tokens or 0,
                              cache_read or 0, cache_write or 0, cache_write_1h or 0)
    else:
        given = [name for name, value in counts.items() if value is not None]
        if given:
            raise InvalidInput(f"{given[0]}: comes from the response with --from-response; leave it out")
        raw = read_bounded(from_response, "--from-response", RESPONSE_MAX_BYTES)
        if pass_through:
            copy_failed = _pass_through(raw)
        taken = read_response(raw)
    session_id, given_cost = given_session(session, can_create=True), parse_cost(cost, "--cost")
    when = as_utc(resolve_at(at, shared.zone))
    database = shared.database
    with _create_hint():
        recorded = database.session(session_id, create=create).record_call(
            taken, model=model, provider=provider, cost=given_cost, story_id=story, service_tier=service_tier,
            at=when)
    _print_recorded(recorded, "token record", id_to_stderr=pass_through)
    if copy_failed is not None:  # the call was made and paid for: it is recorded even when the copy failed
        raise copy_failed.after_storing(f"token record {recorded.id}") if isinstance(
            copy_failed, OutputFailed) else copy_failed


def _pass_through(raw: bytes) -> OSError | OutputFailed | None:
    """Copy the response to stdout; a failure is returned, to be raised once the record is stored."""
    try:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    except (BrokenPipeError, OutputFailed) as error:
        return error
    return None


def _read_text(source: str, option: str) -> str:
    """A UTF-8 text file, or stdin for '-'; a clear error for anything else."""
    data = read_bounded(source, option, NARRATIVE_MAX_BYTES)
    try:
        return data.decode("utf-8-sig")  # a leading BOM (Windows editors) is no text, as imports and responses read it
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{option}: {source!r} is not UTF-8 text (bad byte at offset {error.start})") from None


def _print_recorded(recorded: Recorded, what: str, *, id_to_stderr: bool = False) -> None:
    if id_to_stderr:
        print(recorded.id, file=sys.stderr)
    else:
        print_stored_id(recorded.id, what)
    for warning in (recorded.warning or "").splitlines():
        print(f"sessionstats: warning: {visible(fields_as_options(warning))}", file=sys.stderr)
    if not recorded.created:
        print(f"sessionstats: {what} {recorded.id} was recorded already; nothing new stored", file=sys.stderr)


@contextmanager
def _create_hint() -> Iterator[None]:
    """A session a record command cannot find may be one to make: say how."""
    try:
        yield
    except SessionNotFound as error:
        raise error.with_remedy("add --create to make it") from None
