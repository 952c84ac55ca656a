"""Commands that look across time and sessions, and guard budgets: timeline, compare, check."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer

from sessionstats.budget import DEFAULT_WARN_AT, Budget, check_budget
from sessionstats.cli.app import app
from sessionstats.cli.options import (
    DbOption,
    FormatOption,
    ModelFilterOption,
    PriorityFilterOption,
    SinceOption,
    TableStyleOption,
    ToneFilterOption,
    TzOption,
    UntilOption,
    UserOption,
    count_option,
    fields_as_options,
    resolve_bucket_zone,
    resolve_format,
    resolve_scope,
    resolve_user,
)
from sessionstats.cli.stats_view import render_side_by_side
from sessionstats.cli.timeline_view import render_timeline
from sessionstats.stats import compare_stats, session_stats
from sessionstats.store import open_store
from sessionstats.timeline import parse_every, timeline
from sessionstats.times import resolve_zone
from sessionstats.validate import parse_cost

SessionArgument = Annotated[str, typer.Argument(metavar="SESSION_ID", help="Session to report on.")]


@app.command("timeline")
def timeline_command(
    session_id: SessionArgument,
    every: Annotated[
        str, typer.Option("--every", metavar="LENGTH", help="Bucket length: 15m, 30m, hour, 6h, day, week...")
    ] = "hour",
    since: SinceOption = None,
    until: UntilOption = None,
    model: ModelFilterOption = None,
    tone: ToneFilterOption = None,
    priority: PriorityFilterOption = None,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Chart a session's tokens and cost per bucket of time, then list the figures.

    Buckets follow the wall clock of the local zone (or --tz); empty buckets are shown as zeros.
    --format json, csv or tsv gives the series alone.

    \b
    Example:
      sessionstats timeline "$SESSIONSTATS_SESSION" --every 15m
      sessionstats timeline "$SESSIONSTATS_SESSION" --every day --format csv > per-day.csv
    """
    length = parse_every(every)
    zone, name = resolve_bucket_zone(tz)
    scope = resolve_scope(since, until, zone, model=model, tone=tone, priority=priority)
    owner = resolve_user(user, db)
    with open_store(db) as store:
        buckets = timeline(store, session_id, length, user=owner, zone=name, scope=scope)
    sys.stdout.write(render_timeline(buckets, length, resolve_format(fmt), zone, style))


@app.command()
def compare(
    session_ids: Annotated[
        list[str], typer.Argument(metavar="SESSION_ID SESSION_ID...", help="Two or more sessions.")
    ],
    since: SinceOption = None,
    until: UntilOption = None,
    model: ModelFilterOption = None,
    tone: ToneFilterOption = None,
    priority: PriorityFilterOption = None,
    fmt: FormatOption = None,
    style: TableStyleOption = "simple",
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Show sessions side by side, one column each, with the figures of `show`.

    \b
    Example:
      sessionstats compare monday tuesday wednesday
      sessionstats compare monday tuesday --format csv
    """
    zone = resolve_zone(tz)
    scope = resolve_scope(since, until, zone, model=model, tone=tone, priority=priority)
    owner = resolve_user(user, db)
    with open_store(db) as store:
        rows = compare_stats(store, session_ids, user=owner, scope=scope)
    sys.stdout.write(render_side_by_side(rows, resolve_format(fmt), zone, style, scope))


@app.command()
def check(
    session_id: SessionArgument,
    max_cost: Annotated[str | None, typer.Option(metavar="USD", help="Fail once the cost reaches USD.")] = None,
    max_tokens: Annotated[
        int | None, count_option(help="Fail once total tokens reach N.")
    ] = None,
    max_stories: Annotated[
        int | None, count_option(help="Fail once the stories reach N.")
    ] = None,
    warn_at: Annotated[
        float, typer.Option(min=0, max=100, metavar="PERCENT", help="Warn on stderr from this share of a limit.")
    ] = float(DEFAULT_WARN_AT),
    since: SinceOption = None,
    until: UntilOption = None,
    model: ModelFilterOption = None,
    tone: ToneFilterOption = None,
    priority: PriorityFilterOption = None,
    tz: TzOption = None,
    db: DbOption = None,
    user: UserOption = None,
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
                    max_tokens=max_tokens, max_stories=max_stories, warn_at=Decimal(str(warn_at)))
    zone = resolve_zone(tz)
    scope = resolve_scope(since, until, zone, model=model, tone=tone, priority=priority)
    owner = resolve_user(user, db)
    with open_store(db) as store:
        stats = session_stats(store, session_id, user=owner, scope=scope)
    for warning in check_budget(stats, budget):
        print(f"sessionstats: {fields_as_options(warning)}", file=sys.stderr)

