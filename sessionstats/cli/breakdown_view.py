"""How a breakdown looks: a table of groups with shares, or its rows for a machine."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sessionstats import Breakdown, BreakdownRow, SessionStats
from sessionstats.cli.emit import NOTHING_IN_SCOPE, Layout
from sessionstats.display.render import (
    EMPTY,
    cost_notes,
    fitted_table,
    fmt_known_cost,
    fmt_number,
    fmt_tokens,
)
from sessionstats.times import to_zone

NO_GROUP = "(none)"
_HEADERS = ["Stories", "Story %", "API calls", "Input", "Output", "Cache read", "Cache write", "Tokens",
            "Token %", "Cost", "Cost %"]
# What a narrow terminal loses first: the cache and input/output detail, then the lesser shares.
_DROPPED = ["Cache write", "Cache read", "Input", "Output", "Story %", "Token %", "API calls", "Cost %"]


def breakdown_table(breakdown: Breakdown, layout: Layout) -> str:
    """The groups, one line each, with a total line from the session's own figures."""
    title = "Breakdown by " + " and ".join(breakdown.dimensions)
    if not breakdown.rows:
        return f"{title}\n{NOTHING_IN_SCOPE}"
    body = [[*(_group_text(d, row.group[d], layout.zone) for d in breakdown.dimensions), *_figures(row)]
            for row in breakdown.rows]
    groups = [d.capitalize() for d in breakdown.dimensions]
    fitted = fitted_table(body, groups + _HEADERS, width=layout.width, left=set(groups), drop=_DROPPED,
                          shrink=groups[0], tablefmt=layout.style)
    text = f"{title}\n{fitted}\n"
    if breakdown.counts_stories_twice:
        text += "note: a story made with several models counts under each of them.\n"
    return text + cost_notes([(row.unpriced_records, row.api_calls) for row in breakdown.rows], "group")


def with_breakdown(stats: SessionStats, breakdown: Breakdown) -> dict[str, object]:
    return {**stats.as_dict(), "breakdown": breakdown.as_dict()}


def _figures(row: BreakdownRow) -> list[str]:
    return [
        fmt_tokens(row.story_count), _percent(row.story_share), fmt_tokens(row.api_calls),
        fmt_tokens(row.input_tokens), fmt_tokens(row.output_tokens), fmt_tokens(row.cache_read_tokens),
        fmt_tokens(row.cache_write_tokens), fmt_tokens(row.total_tokens), _percent(row.token_share),
        fmt_known_cost(row.total_cost, row.unpriced_records, row.api_calls, compact=True), _percent(row.cost_share),
    ]


def _group_text(dimension: str, value: str | datetime | None, zone: tzinfo | None) -> str:
    if value is None:
        return NO_GROUP
    if isinstance(value, datetime):
        return to_zone(value, zone).strftime("%Y-%m-%d %H:%M %z")  # type: ignore[union-attr]
    return value


def _percent(share: float | None) -> str:
    return EMPTY if share is None else fmt_number(share * 100, 1) + "%"

