"""How session statistics look: the seed's overview and metrics tables, side-by-side columns, machine rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from sessionstats import MIN_RATE_SECONDS, Scope, SessionStats
from sessionstats.cli.emit import Layout
from sessionstats.display.escaping import visible
from sessionstats.display.render import (
    EMPTY,
    cost_notes,
    fitted_table,
    fmt_cost,
    fmt_duration,
    fmt_known_cost,
    fmt_number,
    fmt_time,
    fmt_tokens,
    table,
)

Shown = Callable[[Any, "tzinfo | None"], str]


def _text(value: Any, zone: tzinfo | None) -> str:
    return EMPTY if value is None else str(value)


def _count(value: Any, zone: tzinfo | None) -> str:
    return fmt_tokens(value)


def _cost(value: Any, zone: tzinfo | None) -> str:
    return fmt_cost(value)


_COST_FIGURES = {"total_cost", "cost_per_story", "cost_per_1k_words", "cost_per_hour"}


def _figure(stats: SessionStats, key: str, shown: Shown, zone: tzinfo | None, *, compact: bool = False) -> str:
    """One figure for a person: a cost no call was priced for is 'unknown', a partly priced total says so."""
    if key == "total_cost":
        return fmt_known_cost(stats.total_cost, stats.unpriced_records, stats.api_calls, compact=compact)
    value = getattr(stats, key)
    if key == "tool_cost" and not stats.tool_calls:
        return EMPTY  # no server tool was called: no fee to show
    if key in _COST_FIGURES and value is not None and stats.api_calls and stats.unpriced_records >= stats.api_calls:
        return "unknown"
    return shown(value, zone)


def _places(places: int) -> Shown:
    return lambda value, zone: fmt_number(value, places)


def _duration(value: Any, zone: tzinfo | None) -> str:
    return fmt_duration(value)


OVERVIEW: list[tuple[str, str, Shown]] = [
    ("Session", "name", _text), ("Id", "session_id", _text), ("State", "status", _text),
    ("Created", "created_at", fmt_time), ("Started", "started_at", fmt_time), ("Ended", "ended_at", fmt_time),
    ("Session duration", "duration_seconds", _duration), ("Stories", "story_count", _count),
    ("Tokens", "total_tokens", _count), ("Cost", "total_cost", _cost),
]
METRICS: list[tuple[str, str, Shown]] = [
    ("Stories", "story_count", _count), ("API calls", "api_calls", _count),
    ("Input tokens", "input_tokens", _count), ("Output tokens", "output_tokens", _count),
    ("Cache read tokens", "cache_read_tokens", _count), ("Cache write tokens", "cache_write_tokens", _count),
    ("Total tokens", "total_tokens", _count), ("Total cost", "total_cost", _cost),
    ("Server tool calls", "tool_calls", _count), ("Server tool cost", "tool_cost", _cost),
    ("Tokens per story", "tokens_per_story", _places(1)), ("Cost per story", "cost_per_story", _cost),
    ("Words", "word_count", _count), ("Words per story", "words_per_story", _places(1)),
    ("Cost per 1,000 words", "cost_per_1k_words", _cost), ("Tokens per word", "tokens_per_word", _places(2)),
    ("Average story duration", "avg_story_duration", _duration),
    ("First record", "first_record_at", fmt_time), ("Last record", "last_record_at", fmt_time),
    ("Active from", "active_from", fmt_time), ("Active until", "active_until", fmt_time),
    ("Active span", "active_seconds", _duration), ("Stories per hour", "stories_per_hour", _places(1)),
    ("Tokens per hour", "tokens_per_hour", _places(0)), ("Cost per hour", "cost_per_hour", _cost),
]


def stats_tables(stats: SessionStats, layout: Layout, scope: Scope | None = None,
                 changes: Mapping[str, str] | None = None) -> str:
    """`show`: the overview and metrics tables (with a column of changes when watching)."""
    zone, style = layout.zone, layout.style
    overview = [(label, _figure(stats, key, shown, zone)) for label, key, shown in OVERVIEW]
    overview += [("Counting", text) for text in scope_lines(scope, zone)]
    metrics = [[label, _figure(stats, key, shown, zone)] for label, key, shown in METRICS]
    headers: list[str] = []
    if changes is not None:
        headers = ["Figure", "Value", "Since last refresh"]
        metrics = [[label, value, changes.get(key, "")] for (label, value), (_, key, _) in zip(
            metrics, METRICS, strict=True)]
    parts = [
        "Session Overview", table(overview, tablefmt=style, text_columns=2), "",
        "Performance Metrics", table(metrics, headers, tablefmt=style),
    ]
    notes = [note for note in (unpriced_note(stats), rates_note(stats)) if note]
    if notes:
        parts += ["", *notes]
    return "\n".join(parts) + "\n"


def side_by_side_table(rows: Sequence[SessionStats], layout: Layout, scope: Scope | None = None) -> str:
    """`compare`: one column per session, one line per figure of `show`."""
    zone, style = layout.zone, layout.style
    in_metrics = {key for _, key, _ in METRICS}
    figures = [row for row in OVERVIEW[2:] if row[1] not in in_metrics] + METRICS  # name and id head the columns
    lines = [[label, *(_figure(s, key, shown, zone, compact=True) for s in rows)] for label, key, shown in figures]
    headers = ["", *(s.session_id if not s.name else f"{s.name} ({s.session_id})" for s in rows)]
    parts = [table(lines, headers, tablefmt=style)]
    parts += [f"Counting: {text}" for text in scope_lines(scope, zone)]
    parts += [f"{visible(s.session_id)}: {unpriced_note(s)}" for s in rows if s.unpriced_records]
    return "\n".join(parts) + "\n"


_LIST_HEADERS = ["Id", "Name", "State", "Stories", "API calls", "Input", "Output", "Cache", "Total tokens", "Cost",
                 "Created"]
# What a narrow terminal loses first: the creation time, then the token detail, then the state.
_LIST_DROPPED = ["Created", "Cache", "Input", "Output", "API calls", "State"]


def sessions_table(rows: Sequence[SessionStats], layout: Layout, ids: Mapping[str, str] | None = None) -> str:
    """`list`: one line per session, fitted to the layout's width with the `ids` given (short ones) in place of
    the whole."""
    if not rows:
        return "no sessions\n"
    body = [
        [(ids or {}).get(s.session_id, s.session_id), s.name or "-", s.status, fmt_tokens(s.story_count),
         fmt_tokens(s.api_calls), fmt_tokens(s.input_tokens), fmt_tokens(s.output_tokens),
         fmt_tokens(s.cache_read_tokens + s.cache_write_tokens), fmt_tokens(s.total_tokens),
         fmt_known_cost(s.total_cost, s.unpriced_records, s.api_calls, compact=True),
         fmt_time(s.created_at, layout.zone)]
        for s in rows
    ]
    text = fitted_table(body, _LIST_HEADERS, width=layout.width, left={"Id", "Name", "State"}, drop=_LIST_DROPPED,
                        shrink="Name", tablefmt=layout.style)
    return text + "\n" + cost_notes([(s.unpriced_records, s.api_calls) for s in rows], "session")


def scope_lines(scope: Scope | None, zone: tzinfo | None) -> list[str]:
    """The filters in force, one line each, for a person reading a table."""
    if scope is None:
        return []
    lines = []
    if scope.since is not None:
        lines.append(f"records from {fmt_time(scope.since, zone)}")
    if scope.until is not None:
        lines.append(f"records before {fmt_time(scope.until, zone)}")
    lines += [f"{name} {visible(value)}" for name, value in
              (("model", scope.model), ("tone", scope.tone), ("priority", scope.priority)) if value is not None]
    return lines


def rates_note(stats: SessionStats) -> str:
    """Why the rates per hour are '-' although the session has an active span."""
    if stats.active_seconds is None or stats.active_seconds >= MIN_RATE_SECONDS:
        return ""
    return (f"note: the active span is {fmt_duration(stats.active_seconds)}; rates per hour are shown from "
            f"{MIN_RATE_SECONDS} seconds on.")


def unpriced_note(stats: SessionStats) -> str:
    if not stats.unpriced_records:
        return ""
    return (f"note: {stats.unpriced_records:,} of {stats.api_calls:,} API calls have no known cost; "
            "the total covers the priced ones only.")
