"""`show --watch`: re-read the session every few seconds, redraw when its data changed, mark what changed.

The database is opened for each refresh only (never held between them), so writers are never blocked
for longer than one read.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sessionstats import SessionStats
from sessionstats.display.render import fmt_cost, fmt_number
from sessionstats.errors import DatabaseBusy

CLEAR_SCREEN = "\x1b[H\x1b[2J"
# Figures that move with the clock rather than with the data: they do not count as a change.
_CLOCK_FIGURES = {"duration_seconds"}

Snapshot = tuple[SessionStats, Any]  # the stats and whatever else is drawn with them (a breakdown)


def watch(load: Callable[[], Snapshot], draw: Callable[[Snapshot, dict[str, str] | None], str],
          interval: float, *, clear_screen: bool) -> None:
    """Refresh every `interval` seconds until Ctrl-C, which ends the watch normally.

    `draw` gets the snapshot and the changed figures (None the first time) and returns the text to write;
    with `clear_screen` it replaces what was on the screen, else it is appended.
    """
    previous: Snapshot | None = None
    with _ctrl_c_as_flag() as ctrl_c:
        while not ctrl_c.pressed:
            current = _load_unless_busy(load)
            if current is not None and (previous is None or _data(current) != _data(previous)):
                changes = changed_figures(previous[0], current[0]) if previous is not None else None
                sys.stdout.write((CLEAR_SCREEN if clear_screen else "") + draw(current, changes))
                sys.stdout.flush()
                previous = current
            ctrl_c.sleep(interval)


class _CtrlC:
    """Ctrl-C as a flag that the handler sets without taking a lock.

    Raised inside a DuckDB query Ctrl-C became `RuntimeError: Query interrupted`; and a handler that
    sets a threading.Event can deadlock on the Event's own lock when the signal lands inside `wait`.
    """

    POLL_SECONDS = 0.1  # how soon a sleep notices Ctrl-C

    def __init__(self) -> None:
        self.pressed = False

    def press(self, signum: int, frame: object) -> None:
        self.pressed = True

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or less once Ctrl-C is pressed."""
        deadline = time.monotonic() + seconds
        while not self.pressed and (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(remaining, self.POLL_SECONDS))


@contextmanager
def _ctrl_c_as_flag() -> Iterator[_CtrlC]:
    ctrl_c = _CtrlC()
    previous = signal.signal(signal.SIGINT, ctrl_c.press)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)


def changed_figures(before: SessionStats, after: SessionStats) -> dict[str, str]:
    """Each figure that changed, with how much (`+1,550`, `+$0.0089`) or `changed` when it is not a number."""
    changes = {}
    for key, old in before.as_dict().items():
        new = getattr(after, key)
        if key not in _CLOCK_FIGURES and new != old:
            changes[key] = _delta(old, new)
    return changes


def _delta(old: Any, new: Any) -> str:
    if isinstance(new, Decimal) and isinstance(old, Decimal):
        difference = new - old
        return ("+" if difference > 0 else "-") + fmt_cost(abs(difference))
    if isinstance(new, int) and isinstance(old, int):
        return f"{new - old:+,}"
    if isinstance(new, float) and isinstance(old, float):
        return ("+" if new > old else "-") + fmt_number(abs(new - old))
    return "changed"


def _data(snapshot: Snapshot) -> tuple:
    stats, extra = snapshot
    figures = {key: value for key, value in stats.as_dict().items() if key not in _CLOCK_FIGURES}
    return tuple(figures.items()), extra


def _load_unless_busy(load: Callable[[], Snapshot]) -> Snapshot | None:
    try:
        return load()
    except DatabaseBusy as busy:
        print(f"sessionstats: {busy} (will try again)", file=sys.stderr, flush=True)
        return None

