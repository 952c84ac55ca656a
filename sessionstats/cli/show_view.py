"""What `show` prints: a session's stats, with a breakdown when asked, once or on every change (--watch)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessionstats import FIGURES
from sessionstats.cli.api_args import scope_args
from sessionstats.cli.breakdown_view import breakdown_table, with_breakdown
from sessionstats.cli.emit import Layout, report_text
from sessionstats.cli.stats_view import stats_tables
from sessionstats.cli.watch import Snapshot, watch
from sessionstats.display.escaping import visible
from sessionstats.display.render import Format, fmt_time, to_json
from sessionstats.times import utc_now

if TYPE_CHECKING:
    from sessionstats import Database, Dimension, Scope


@dataclass(frozen=True)
class ShowRequest:
    """Everything `show` needs to read and draw one session."""

    database: Database
    session_id: str
    scope: Scope
    by: list[Dimension]
    zone_name: str | None  # the zone days and hours are cut in, with --by
    layout: Layout


def load(request: ShowRequest) -> Snapshot:
    """Open the database, read the stats (and breakdown), close it again."""
    return request.database.session(request.session_id).report(*request.by, zone=request.zone_name,
                                                               **scope_args(request.scope))


def render(request: ShowRequest, snapshot: Snapshot, changes: dict[str, str] | None = None) -> str:
    """The stats and breakdown in the requested format; `changes` marks figures in a table."""
    stats, split = snapshot
    layout = request.layout

    def tables() -> str:
        text = stats_tables(stats, layout, request.scope, changes)
        return text + "\n" + breakdown_table(split, layout) if split else text

    if split is None:
        return report_text(stats.as_dict(), FIGURES, layout, tables)
    return report_text([row.as_dict() for row in split.rows], split.columns, layout, tables,
                       whole=with_breakdown(stats, split))


def watch_session(request: ShowRequest, interval: float) -> None:
    """Redraw on every change until Ctrl-C: a table replaces the screen, other formats add one record each."""
    fmt, zone = request.layout.fmt, request.layout.zone
    on_terminal = fmt is Format.table and sys.stdout.isatty()

    def draw(snapshot: Snapshot, changes: dict[str, str] | None) -> str:
        if fmt is Format.json:  # one compact line per change (JSON Lines)
            stats, split = snapshot
            return to_json(with_breakdown(stats, split) if split else stats.as_dict(), zone, 0) + "\n"
        text = render(request, snapshot, changes if changes is not None else {})
        if fmt is not Format.table:
            return text if changes is None else text.split("\n", 1)[1]  # the header once
        return ("" if changes is None or on_terminal else "\n") + _heading(request, changes, interval) + text

    watch(lambda: load(request), draw, interval, clear_screen=on_terminal)


def _heading(request: ShowRequest, changes: dict[str, str] | None, interval: float) -> str:
    now = fmt_time(utc_now(), request.layout.zone)
    changed = "first look" if changes is None else f"{len(changes)} figures changed since the last refresh"
    return f"Watching {visible(request.session_id)} every {interval:g}s (Ctrl-C to stop) | {now} | {changed}\n\n"

