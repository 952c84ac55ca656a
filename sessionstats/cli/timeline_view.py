"""How a timeline looks: a terminal bar chart of tokens and cost per bucket (plotext), then the figures."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import timedelta, tzinfo
from decimal import Decimal

from sessionstats import Bucket
from sessionstats.cli.emit import NOTHING_IN_SCOPE, Layout
from sessionstats.display.render import (
    cost_notes,
    fmt_cost,
    fmt_known_cost,
    fmt_time,
    fmt_tokens,
    table,
)

CHART_HEIGHT = 12  # rows per chart
MAX_CHART_WIDTH = 120
Y_TICKS = 3


def timeline_chart(buckets: Sequence[Bucket], every: timedelta, layout: Layout) -> str:
    """Chart and figures for a person."""
    if not buckets:
        return NOTHING_IN_SCOPE
    zone = layout.zone
    labels = [_label(bucket, every, zone) for bucket in buckets]
    one_day = len({label[:10] for label in labels}) == 1
    ticks = [label[11:] if one_day and every < timedelta(days=1) else label[5:] for label in labels]
    body = [[label, fmt_tokens(b.story_count), fmt_tokens(b.api_calls), fmt_tokens(b.total_tokens),
             fmt_known_cost(b.total_cost, b.unpriced_records, b.api_calls, compact=True)]
            for label, b in zip(labels, buckets, strict=True)]
    figures = table(body, ["Bucket", "Stories", "API calls", "Tokens", "Cost"], tablefmt=layout.style)
    text = f"{chart(buckets, ticks)}\n\n{figures}\n"
    return text + cost_notes([(b.unpriced_records, b.api_calls) for b in buckets], "bucket")


def chart(buckets: Sequence[Bucket], labels: Sequence[str]) -> str:
    """Two bar charts, tokens above cost, as plain text (no colour codes); some buckets' labels on the axis."""
    import plotext  # only a person looking at a timeline pays for the import

    figure = plotext.figure
    figure.clear()
    width = min(shutil.get_terminal_size((100, 24)).columns, MAX_CHART_WIDTH)
    figure.plot_size(width, 2 * CHART_HEIGHT)
    figure.subplots(2, 1)
    positions = list(range(1, len(buckets) + 1))
    room = max(2, width // (max(len(label) for label in labels) + 6))
    step = max(1, -(-len(buckets) // room))
    tick_positions = positions[::step]
    tick_labels = [labels[p - 1] for p in tick_positions]
    series = (
        ("Tokens", [b.total_tokens for b in buckets], lambda v: fmt_tokens(round(v))),
        ("Cost", [float(b.total_cost) for b in buckets], lambda v: fmt_cost(Decimal(repr(v)))),
    )
    for row, (title, values, shown) in enumerate(series, start=1):
        plot = figure.subplot(row, 1)
        plot.draw(plot.bar(positions, values))
        plot.ruler("x").ticks(tick_positions, labels=tick_labels)
        top = max(values) or 1
        levels = [top * i / Y_TICKS for i in range(Y_TICKS + 1)]
        plot.ruler("y").ticks(levels, labels=[shown(level) for level in levels])
        plot.title(title)
    built = figure.build().string(colorless=True)
    figure.clear()
    return "\n".join(line.rstrip() for line in built.splitlines()).strip("\n")


def _label(bucket: Bucket, every: timedelta, zone: tzinfo | None) -> str:
    shown = fmt_time(bucket.start, zone)  # 2026-11-24 14:15:00 +0100
    return shown[:10] if every >= timedelta(days=1) else shown[:16]
