"""A progress line on stderr for long commands, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sessionstats.store import Store, open_store

if TYPE_CHECKING:
    from sessionstats.cli.options import Shared

Result = TypeVar("Result")

_REFRESH_SECONDS = 0.2


class StepProgress:
    """Call it with each step's name; a thread shows the step and DuckDB's percentage for it."""

    def __init__(self, store: Store) -> None:
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


def import_with_progress(shared: Shared, importer: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """`importer(store, *args, user=..., on_step=...)` in one write transaction, its steps shown on stderr."""
    owner = shared.owner  # resolved before the database opens: a bad --user writes nothing
    with open_store(shared.db, write=True) as store, StepProgress(store) as progress:
        return importer(store, *args, user=owner, on_step=progress, **kwargs)
