"""Commands that look across time and sessions, and guard budgets: timeline, compare, check."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from decimal import Decimal
from typing import Annotated

import typer

from sessionstats import BUCKET_FIGURES, DEFAULT_WARN_AT, FIGURES, Budget, parse_every
from sessionstats.cli.api_args import scope_args
from sessionstats.cli.app import app
from sessionstats.cli.emit import emit
from sessionstats.cli.options import (
    NO_FILTERS,
    NO_SHARED,
    Filters,
    SessionArgument,
    Shared,
    count_option,
    fields_as_options,
    given_session,
    resolve_bucket_zone,
    shared_options,
    with_filters,
)
from sessionstats.cli.stats_view import side_by_side_table
from sessionstats.cli.timeline_view import timeline_chart
from sessionstats.display.render import fmt_cost, fmt_tokens
from sessionstats.validate import parse_cost


@app.command("timeline")
@with_filters
@shared_options("fmt", "style", "tz", "db", "user")
def timeline_command(
    session_id: SessionArgument = None,
    every: Annotated[
        str | None, typer.Option("--every", metavar="LENGTH", show_default=False,
                                 help="Bucket length: 15m, 30m, hour, 6h, day, week... [default: the shortest that "
                                      "shows the session in at most 48 buckets]")
    ] = None,
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """Chart a session's tokens and cost per bucket of time, then list the figures.

    Buckets follow the wall clock of the local zone (or --tz); empty buckets are shown as zeros.
    --format json, csv or tsv gives the series alone.

    \b
    Example:
      sessionstats timeline "$SESSIONSTATS_SESSION" --every 15m
      sessionstats timeline "$SESSIONSTATS_SESSION" --every day --format csv > per-day.csv
    """
    length = parse_every(every) if every is not None else None
    zone, name = resolve_bucket_zone(shared.tz)
    scope = filters.scope(zone)
    session = shared.database.session(given_session(session_id))
    length = length or session.default_every(**scope_args(scope))
    buckets = session.timeline(length, zone=name, **scope_args(scope))
    layout = replace(shared.layout, zone=zone)  # shown in the zone the buckets are cut in
    emit([b.as_dict() for b in buckets], BUCKET_FIGURES, layout, lambda: timeline_chart(buckets, length, layout))


@app.command()
@with_filters
@shared_options("fmt", "style", "tz", "db", "user")
def compare(
    session_ids: Annotated[
        list[str], typer.Argument(metavar="SESSION SESSION...", help="Two or more sessions (id, name or unique id "
                                  "prefix); with one, it is compared with $SESSIONSTATS_SESSION.")
    ],
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """Show sessions side by side, one column each, with the figures of `show`.

    \b
    Example:
      sessionstats compare monday tuesday wednesday
      sessionstats compare monday tuesday --format csv
      SESSIONSTATS_SESSION=today sessionstats compare yesterday
    """
    scope = filters.scope(shared.zone)
    rows = shared.database.compare(*_with_current(session_ids), **scope_args(scope))
    emit([s.as_dict() for s in rows], FIGURES, shared.layout, lambda: side_by_side_table(rows, shared.layout, scope))


def _with_current(session_ids: list[str]) -> list[str]:
    """One session alone is compared with the current one ($SESSIONSTATS_SESSION), as `show` falls back to it."""
    current = os.environ.get("SESSIONSTATS_SESSION", "").strip()
    return [current, *session_ids] if len(session_ids) == 1 and current else session_ids


@app.command()
@with_filters
@shared_options("tz", "db", "user")
def check(
    session_id: SessionArgument = None,
    max_cost: Annotated[str | None, typer.Option(metavar="USD", help="Fail once the cost reaches USD.")] = None,
    max_tokens: Annotated[
        int | None, count_option(help="Fail once total tokens reach N.")
    ] = None,
    max_stories: Annotated[
        int | None, count_option(help="Fail once the stories reach N.")
    ] = None,
    warn_at: Annotated[  # text, read exactly by the budget's rule: a float made 33.33333333333333333 33.333333333333336
        str, typer.Option(metavar="PERCENT", help="Warn on stderr from this share of a limit (0 to 100).")
    ] = str(DEFAULT_WARN_AT),
    filters: Filters = NO_FILTERS,
    shared: Shared = NO_SHARED,
) -> None:
    """Exit 0 while a session is within budget, 3 once a figure reaches its limit.

    Prints nothing when all is well; a warning on stderr once a figure passes --warn-at percent of its
    limit; one line on stderr naming the limit and the figure when it is reached.

    \b
    Example:
      while sessionstats check "$S" --max-cost 5; do generate-one-story; done
      sessionstats check "$S" --max-tokens 2000000 --since 24h --warn-at 90
    """
    budget = Budget(max_cost=parse_cost(max_cost, "--max-cost") if max_cost is not None else None,
                    max_tokens=max_tokens, max_stories=max_stories, warn_at=warn_at)  # type: ignore[arg-type]
    scope = filters.scope(shared.zone)
    report = shared.database.session(given_session(session_id)).budget(budget, **scope_args(scope))
    if report.reached:
        raise report.over_budget(_for_people)
    for warning in report.warnings(_for_people):
        print(f"sessionstats: {fields_as_options(warning)}", file=sys.stderr)


def _for_people(kind: str, value: int | Decimal) -> str:
    """A budget figure as tables show it: $1.0000, 1,000."""
    return fmt_cost(Decimal(value)) if kind == "cost" else fmt_tokens(int(value))

