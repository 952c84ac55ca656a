"""How session statistics look: the seed's overview and metrics tables, and machine rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from sessionstats.render import (
    Format,
    fmt_cost,
    fmt_duration,
    fmt_number,
    fmt_time,
    fmt_tokens,
    table,
    to_delimited,
    to_json,
)
from sessionstats.stats import FIGURES, SessionStats


def render_one(stats: SessionStats, fmt: Format, zone: tzinfo | None, style: str) -> str:
    """`show`: two tables for a person, one record for a machine."""
    if fmt is not Format.table:
        return _machine([stats], fmt, zone, single=True)
    overview = [
        ("Session", stats.name or "-"),
        ("Id", stats.session_id),
        ("State", stats.status),
        ("Created", fmt_time(stats.created_at, zone)),
        ("Started", fmt_time(stats.started_at, zone)),
        ("Ended", fmt_time(stats.ended_at, zone)),
        ("Session duration", fmt_duration(stats.duration_seconds)),
        ("Stories", fmt_tokens(stats.story_count)),
        ("Tokens", fmt_tokens(stats.total_tokens)),
        ("Cost", fmt_cost(stats.total_cost)),
    ]
    metrics = [
        ("Stories", fmt_tokens(stats.story_count)),
        ("API calls", fmt_tokens(stats.api_calls)),
        ("Input tokens", fmt_tokens(stats.input_tokens)),
        ("Output tokens", fmt_tokens(stats.output_tokens)),
        ("Cache read tokens", fmt_tokens(stats.cache_read_tokens)),
        ("Cache write tokens", fmt_tokens(stats.cache_write_tokens)),
        ("Total tokens", fmt_tokens(stats.total_tokens)),
        ("Total cost", fmt_cost(stats.total_cost)),
        ("Tokens per story", fmt_number(stats.tokens_per_story)),
        ("Cost per story", fmt_cost(stats.cost_per_story)),
        ("Words", fmt_tokens(stats.word_count)),
        ("Words per story", fmt_number(stats.words_per_story)),
        ("Cost per 1,000 words", fmt_cost(stats.cost_per_1k_words)),
        ("Tokens per word", fmt_number(stats.tokens_per_word, 2)),
        ("Average story duration", fmt_duration(stats.avg_story_duration)),
        ("Active span", fmt_duration(stats.active_hours * 3600 if stats.active_hours else None)),
        ("Stories per hour", fmt_number(stats.stories_per_hour)),
        ("Tokens per hour", fmt_number(stats.tokens_per_hour, 0)),
        ("Cost per hour", fmt_cost(stats.cost_per_hour)),
    ]
    parts = [
        "Session Overview", table(overview, tablefmt=style, text_columns=2), "",
        "Performance Metrics", table(metrics, tablefmt=style),
    ]
    note = unpriced_note(stats)
    if note:
        parts += ["", note]
    return "\n".join(parts) + "\n"


def render_many(rows: Sequence[SessionStats], fmt: Format, zone: tzinfo | None, style: str) -> str:
    """`list`: one line per session."""
    if fmt is not Format.table:
        return _machine(rows, fmt, zone, single=False)
    headers = ["Id", "Name", "State", "Stories", "API calls", "Input", "Output", "Cache", "Total tokens",
               "Cost", "Created"]
    body = [
        [s.session_id, s.name or "-", s.status, fmt_tokens(s.story_count), fmt_tokens(s.api_calls),
         fmt_tokens(s.input_tokens), fmt_tokens(s.output_tokens),
         fmt_tokens(s.cache_read_tokens + s.cache_write_tokens), fmt_tokens(s.total_tokens),
         fmt_cost(s.total_cost) + ("*" if s.unpriced_records else ""), fmt_time(s.created_at, zone)]
        for s in rows
    ]
    text = table(body, headers, tablefmt=style, text_columns=3) + "\n" if body else "no sessions\n"
    if any(s.unpriced_records for s in rows):
        text += "* some API calls have no known cost; the total covers the priced ones only.\n"
    return text


def unpriced_note(stats: SessionStats) -> str:
    if not stats.unpriced_records:
        return ""
    return (f"note: {stats.unpriced_records:,} of {stats.api_calls:,} API calls have no known cost; "
            "the total covers the priced ones only.")


def _machine(rows: Sequence[SessionStats], fmt: Format, zone: tzinfo | None, *, single: bool) -> str:
    dicts = [s.as_dict() for s in rows]
    if fmt is Format.json:
        return to_json(dicts[0] if single else dicts, zone) + "\n"
    return to_delimited(dicts, FIGURES, "," if fmt is Format.csv else "\t", zone)
