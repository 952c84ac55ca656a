"""Commands that list one session's records: stories, calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from sessionstats import CALL_FIELDS, STORY_FIELDS, CallLine, SessionHandle, StoryLine
from sessionstats.cli.api_args import scope_args
from sessionstats.cli.app import app
from sessionstats.cli.emit import NOTHING_IN_SCOPE, Layout, emit
from sessionstats.cli.options import (
    NO_FILTERS,
    NO_SHARED,
    Filters,
    SessionArgument,
    Shared,
    given_session,
    shared_options,
    whole_option,
    with_filters,
)
from sessionstats.display.render import (
    EMPTY,
    cost_notes,
    fitted_table,
    fmt_cost,
    fmt_duration,
    fmt_known_cost,
    fmt_time,
    fmt_tokens,
)
from sessionstats.validate import MAX_BIGINT

LastOption = Annotated[int | None, whole_option("--last", low=1, high=MAX_BIGINT, help="Only the newest N.")]


@app.command()
@with_filters
@shared_options("fmt", "style", "wide", "tz", "db", "user")
def stories(
    session_id: SessionArgument = None,
    last: LastOption = None,
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """List a session's stories, oldest first, with the API calls, tokens and cost made for each.

    \b
    Example:
      sessionstats stories "$SESSIONSTATS_SESSION"
      sessionstats stories morning --tone calm --last 5 --format json
    """
    _emit_lines(SessionHandle.stories, STORY_FIELDS, _story_table, session_id, last, filters, shared)


@app.command()
@with_filters
@shared_options("fmt", "style", "wide", "tz", "db", "user")
def calls(
    session_id: SessionArgument = None,
    last: LastOption = None,
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """List a session's API calls (token records), oldest first, with their model, tokens, cost and its source.

    \b
    Example:
      sessionstats calls "$SESSIONSTATS_SESSION" --last 20
      sessionstats calls morning --model claude-sonnet-4-5 --format csv > calls.csv
    """
    _emit_lines(SessionHandle.calls, CALL_FIELDS, _call_table, session_id, last, filters, shared)


def _emit_lines(read: Callable[..., Sequence[Any]], fields: list[str], as_table: Callable[[Any, Layout], str],
                session_id: str | None, last: int | None, filters: Filters, shared: Shared) -> None:
    """Read the session's lines in scope (the newest `last`) and write them as the layout asks."""
    scope, database = filters.scope(shared.zone), shared.database
    lines = read(database.session(given_session(session_id)), last=last, **scope_args(scope))
    emit([line.as_dict() for line in lines], fields, shared.layout, lambda: as_table(lines, shared.layout))


def _story_table(lines: Sequence[StoryLine], layout: Layout) -> str:
    if not lines:
        return NOTHING_IN_SCOPE
    zone = layout.zone
    headers = ["Time", "Title", "Tone", "Priority", "Words", "Duration", "API calls", "Tokens", "Cost"]
    body = [[fmt_time(s.created_at, zone), s.title, s.tone or EMPTY, s.priority or EMPTY, fmt_tokens(s.word_count),
             fmt_duration(s.duration), fmt_tokens(s.api_calls), fmt_tokens(s.total_tokens),
             fmt_known_cost(s.total_cost, s.unpriced_records, s.api_calls, compact=True) if s.api_calls else EMPTY]
            for s in lines]
    notes = cost_notes([(s.unpriced_records, s.api_calls) for s in lines], "story")
    text = fitted_table(body, headers, width=layout.width, left={"Time", "Title", "Tone", "Priority"},
                        drop=["Priority", "Duration", "Tone", "Words", "API calls"], shrink="Title",
                        tablefmt=layout.style)
    return text + "\n" + notes


def _call_table(lines: Sequence[CallLine], layout: Layout) -> str:
    if not lines:
        return NOTHING_IN_SCOPE
    zone = layout.zone
    headers = ["Time", "Model", "Input", "Output", "Cache read", "Cache write", "Total", "Cost", "Source", "Request"]
    body = [[fmt_time(c.created_at, zone), c.model or EMPTY, fmt_tokens(c.input_tokens), fmt_tokens(c.output_tokens),
             fmt_tokens(c.cache_read_tokens), fmt_tokens(c.cache_write_tokens), fmt_tokens(c.total_tokens),
             "unknown" if c.estimated_cost is None else fmt_cost(c.estimated_cost), c.cost_source,
             c.request_id or EMPTY] for c in lines]
    return fitted_table(body, headers, width=layout.width, left={"Time", "Model", "Source", "Request"},
                        drop=["Request", "Cache write", "Cache read", "Source", "Input", "Output"], shrink="Model",
                        tablefmt=layout.style) + "\n"
