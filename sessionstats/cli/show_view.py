"""What `show` prints: a session's stats, with a breakdown when asked, once or on every change (--watch)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import tzinfo

from sessionstats.breakdowns import Dimension, breakdown
from sessionstats.cli.breakdown_view import render_breakdown_rows, render_breakdown_table, with_breakdown
from sessionstats.cli.stats_view import render_one
from sessionstats.cli.watch import Snapshot, watch
from sessionstats.escaping import visible
from sessionstats.render import Format, fmt_time, to_delimited, to_json
from sessionstats.scope import Scope
from sessionstats.stats import FIGURES, session_stats
from sessionstats.store import open_store
from sessionstats.times import utc_now


@dataclass(frozen=True)
class ShowRequest:
    """Everything `show` needs to read and draw one session."""

    db: str | None
    session_id: str
    user: str
    scope: Scope
    by: list[Dimension]
    zone: tzinfo | None
    zone_name: str | None  # the zone days and hours are cut in, with --by
    fmt: Format
    style: str
    width: int | None = None  # of a table: the terminal's, None for no limit


def load(request: ShowRequest) -> Snapshot:
    """Open the database, read the stats (and breakdown), close it again."""
    with open_store(request.db) as store:
        stats = session_stats(store, request.session_id, user=request.user, scope=request.scope)
        split = breakdown(store, stats, request.by, user=request.user, zone=request.zone_name or "UTC",
                          scope=request.scope) if request.by else None
    return stats, split


def render(request: ShowRequest, snapshot: Snapshot, changes: dict[str, str] | None = None) -> str:
    """The stats and breakdown in the requested format; `changes` marks figures in a table."""
    stats, split = snapshot
    fmt, zone = request.fmt, request.zone
    if fmt is Format.json:
        return to_json(with_breakdown(stats, split) if split else stats.as_dict(), zone) + "\n"
    if fmt is not Format.table:
        return render_breakdown_rows(split, fmt, zone) if split else to_delimited(
            [stats.as_dict()], FIGURES, fmt, zone)
    text = render_one(stats, fmt, zone, request.style, request.scope, changes)
    return text + ("\n" + render_breakdown_table(split, zone, request.style, request.width) if split else "")


def watch_session(request: ShowRequest, interval: float) -> None:
    """Redraw on every change until Ctrl-C: a table replaces the screen, other formats add one record each."""
    on_terminal = request.fmt is Format.table and sys.stdout.isatty()

    def draw(snapshot: Snapshot, changes: dict[str, str] | None) -> str:
        if request.fmt is Format.json:  # one compact line per change (JSON Lines)
            stats, split = snapshot
            return to_json(with_breakdown(stats, split) if split else stats.as_dict(), request.zone, 0) + "\n"
        text = render(request, snapshot, changes if changes is not None else {})
        if request.fmt is not Format.table:
            return text if changes is None else text.split("\n", 1)[1]  # the header once
        return ("" if changes is None or on_terminal else "\n") + _heading(request, changes, interval) + text

    watch(lambda: load(request), draw, interval, clear_screen=on_terminal)


def _heading(request: ShowRequest, changes: dict[str, str] | None, interval: float) -> str:
    now = fmt_time(utc_now(), request.zone)
    changed = "first look" if changes is None else f"{len(changes)} figures changed since the last refresh"
    return f"Watching {visible(request.session_id)} every {interval:g}s (Ctrl-C to stop) | {now} | {changed}\n\n"

