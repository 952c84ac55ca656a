"""A progress line on stderr for long commands, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Protocol

_REFRESH_SECONDS = 0.2


class ProgressSource(Protocol):
    """What the progress line asks of the open database (the store the API hands a progress display)."""

    def track_progress(self) -> None: ...

    def query_progress(self) -> float: ...


class StepProgress:
    """Call it with each step's name; a thread shows the step and DuckDB's percentage for it."""

    def __init__(self, store: ProgressSource) -> None:
        self.store = store
        self.step = "starting"
        self.enabled = sys.stderr.isatty()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._draw, daemon=True)

    def __call__(self, step: str) -> None:
        self.step = step

    def __enter__(self) -> StepProgress:
        if self.enabled:
            self.store.track_progress()
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.enabled:
            self._done.set()
            self._thread.join()
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _draw(self) -> None:
        started = time.monotonic()
        while not self._done.wait(_REFRESH_SECONDS):
            percent = self.store.query_progress()
            shown = f" {percent:3.0f}%" if percent >= 0 else ""
            sys.stderr.write(f"\r\x1b[Ksessionstats: {self.step}...{shown} ({time.monotonic() - started:.0f} s)")
            sys.stderr.flush()

