"""Commands that list one session's records: stories, calls."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Annotated, Any

import typer

from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_FILTERS,
    DbOption,
    Filters,
    FormatOption,
    SessionArgument,
    TableStyleOption,
    TzOption,
    UserOption,
    WideOption,
    given_session,
    resolve_format,
    resolve_user,
    table_width,
    with_filters,
)
from sessionstats.render import (
    EMPTY,
    Format,
    cost_notes,
    fitted_table,
    fmt_cost,
    fmt_duration,
    fmt_known_cost,
    fmt_time,
    fmt_tokens,
    to_machine,
)
from sessionstats.session_records import CALL_FIELDS, STORY_FIELDS, CallLine, StoryLine, session_calls, session_stories
from sessionstats.store import open_store
from sessionstats.times import resolve_zone
from sessionstats.validate import MAX_BIGINT

LastOption = Annotated[int | None, typer.Option("--last", min=1, max=MAX_BIGINT, metavar="N",
                                                 help="Only the newest N.")]


@app.command()
@with_filters
def stories(
    session_id: SessionArgument = None,
    last: LastOption = None,
    filters: Filters = NO_FILTERS,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    wide: WideOption = False,
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """List a session's stories, oldest first, with the API calls, tokens and cost made for each.

    \b
    Example:
      sessionstats stories "$SESSIONSTATS_SESSION"
      sessionstats stories morning --tone calm --last 5 --format json
    """
    zone = resolve_zone(tz)
    scope = filters.scope(zone)
    owner = resolve_user(user, db)
    with open_store(db) as store:
        lines = session_stories(store, given_session(session_id), user=owner, scope=scope, limit=last)
    _emit(lines, STORY_FIELDS, _story_table, resolve_format(fmt), zone, style, table_width(wide))


@app.command()
@with_filters
def calls(
    session_id: SessionArgument = None,
    last: LastOption = None,
    filters: Filters = NO_FILTERS,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    wide: WideOption = False,
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """List a session's API calls (token records), oldest first, with their model, tokens, cost and its source.

    \b
    Example:
      sessionstats calls "$SESSIONSTATS_SESSION" --last 20
      sessionstats calls morning --model claude-sonnet-4-5 --format csv > calls.csv
    """
    zone = resolve_zone(tz)
    scope = filters.scope(zone)
    owner = resolve_user(user, db)
    with open_store(db) as store:
        lines = session_calls(store, given_session(session_id), user=owner, scope=scope, limit=last)
    _emit(lines, CALL_FIELDS, _call_table, resolve_format(fmt), zone, style, table_width(wide))


TableMaker = Callable[[Sequence[Any], tzinfo | None, str, "int | None"], str]


def _emit(lines: Sequence[Any], fields: list[str], as_table: TableMaker, fmt: Format, zone: tzinfo | None,
          style: str, width: int | None) -> None:
    if fmt is not Format.table:
        sys.stdout.write(to_machine([line.as_dict() for line in lines], fields, fmt, zone))
    elif not lines:
        sys.stdout.write("no records in scope\n")
    else:
        sys.stdout.write(as_table(lines, zone, style, width))


def _story_table(lines: Sequence[StoryLine], zone: tzinfo | None, style: str, width: int | None) -> str:
    headers = ["Time", "Title", "Tone", "Priority", "Words", "Duration", "API calls", "Tokens", "Cost"]
    body = [[fmt_time(s.created_at, zone), s.title, s.tone or EMPTY, s.priority or EMPTY, fmt_tokens(s.word_count),
             fmt_duration(s.duration), fmt_tokens(s.api_calls), fmt_tokens(s.total_tokens),
             fmt_known_cost(s.total_cost, s.unpriced_records, s.api_calls, compact=True) if s.api_calls else EMPTY]
            for s in lines]
    notes = cost_notes([(s.unpriced_records, s.api_calls) for s in lines], "story")
    text = fitted_table(body, headers, width=width, left={"Time", "Title", "Tone", "Priority"},
                        drop=["Priority", "Duration", "Tone", "Words", "API calls"], shrink="Title", tablefmt=style)
    return text + "\n" + notes


def _call_table(lines: Sequence[CallLine], zone: tzinfo | None, style: str, width: int | None) -> str:
    headers = ["Time", "Model", "Input", "Output", "Cache read", "Cache write", "Total", "Cost", "Source", "Request"]
    body = [[fmt_time(c.created_at, zone), c.model or EMPTY, fmt_tokens(c.input_tokens), fmt_tokens(c.output_tokens),
             fmt_tokens(c.cache_read_tokens), fmt_tokens(c.cache_write_tokens), fmt_tokens(c.total_tokens),
             "unknown" if c.estimated_cost is None else fmt_cost(c.estimated_cost), c.cost_source,
             c.request_id or EMPTY] for c in lines]
    return fitted_table(body, headers, width=width, left={"Time", "Model", "Source", "Request"},
                        drop=["Request", "Cache write", "Cache read", "Source", "Input", "Output"], shrink="Model",
                        tablefmt=style) + "\n"
