"""Group commit: what many requests write is stored together by one writer thread, one transaction per batch.

A record stored on its own paid for an open (~50 ms) and a commit (~16 ms), which bounded one-record requests
to 54 a second. Here the writer thread takes everything queued meanwhile as one batch and stores it in one
transaction (`Database.batch_writer`, batch_recording.py: each record keeps its own outcome, so each request
its own status). While records keep coming it keeps the database open for the next batch, for at most
HOLD_SECONDS and never longer than LINGER_SECONDS without a record, so other processes and the page's watcher
get their turn. OTLP exports are batched the same way (otlp.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from sessionstats.api import Database
from sessionstats.errors import SessionStatsError
from sessionstats.ingest.batch_recording import checked_entry, entries_of
from sessionstats.ingest.journal import JournalEntry
from sessionstats.ingest.records import Recorded, StoryInput, TokenUsageInput

MAX_BATCH = 1000
HOLD_SECONDS = 1.0  # the longest the writer keeps the database open while records keep coming
LINGER_SECONDS = 0.1  # how long it waits for the next record before it closes the database
# After holding it that long, a pause before the next open: flock hands the lock to no one in particular, and a
# process woken from waiting for it would otherwise lose the race to this thread's next open.
TURN_SECONDS = 0.05
# A batch costs ~8 ms of CPU whether it holds 1 record or 16: waiting this long for the next record of a burst
# makes batches fuller. The wait ends sooner once as many records have come as the last batch answered: its
# clients are the ones likely to send again (16 clients in lockstep each waited ~10 ms a round for a record
# that could not come before they were answered).
GATHER_SECONDS = 0.010
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")
Write = Callable[[list[Item]], list[Outcome | SessionStatsError]]
Waiting = list[tuple[Item, Future[Outcome]]]


class Batcher(Generic[Item, Outcome]):
    """A writer thread that hands everything queued meanwhile to the writer `open_writer` gives (an outcome or an
    error each), keeping it open while more keeps coming."""

    def __init__(self, open_writer: Callable[[], AbstractContextManager[Write]], name: str) -> None:
        self.open_writer = open_writer
        self._waiting: queue.Queue[tuple[Item, Future[Outcome]] | None] = queue.Queue()
        self._stopping = False
        self._expected = 1  # how many records the last batch held: a gather that has as many ends at once
        _no_pandas_lookups()
        self._writer = threading.Thread(target=self._run, name=name, daemon=True)
        self._writer.start()

    def submit(self, item: Item) -> Outcome:
        """Queue `item` and wait until its batch is stored; raise its error."""
        return self.queue(item).result()

    def queue(self, item: Item) -> Future[Outcome]:
        """Queue `item`; the future is done once its batch is stored (an event loop awaits it without a thread)."""
        done: Future[Outcome] = Future()
        self._waiting.put((item, done))
        return done

    def close(self) -> None:
        """Store what is queued, then stop the writer thread."""
        self._waiting.put(None)
        self._writer.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping:
            batch = self._take(MAX_BATCH, wait=None)
            if batch and self._hold_open(batch):
                time.sleep(TURN_SECONDS)

    def _hold_open(self, batch: Waiting) -> bool:
        """Store `batch` and the batches that follow it closely, in one open of the database.

        A lone record (nothing else queued) is answered once the database is closed again, as a command's
        record is: whoever reads next finds it free. Under load, answers go out at once and the writer waits
        for the next batch. True when it held the database as long as it may (others may be waiting for it)."""
        outcomes: list[Outcome | BaseException] = []
        deadline = time.monotonic() + HOLD_SECONDS
        try:
            with self.open_writer() as write:
                while batch:
                    batch += self._take(MAX_BATCH - len(batch), wait=0, have=len(batch))
                    outcomes = _outcomes(write, batch)
                    self._expected = len(batch)
                    alone = len(batch) == 1 and self._waiting.empty()
                    if alone or self._stopping or time.monotonic() >= deadline:
                        break
                    _answer(batch, outcomes)
                    batch, outcomes = self._take(MAX_BATCH, wait=LINGER_SECONDS), []
        except BaseException as error:  # never leave a request waiting for ever
            if len(outcomes) != len(batch):  # else its batch was stored before the close failed
                outcomes = [error] * len(batch)
        _answer(batch, outcomes)
        return time.monotonic() >= deadline

    def _take(self, most: int, *, wait: float | None, have: int = 0) -> Waiting:
        """Up to `most` queued items: waiting `wait` seconds for the first (None: as long as it takes), then taking
        more while they come at most GATHER_SECONDS apart, until the batch (`have` already) holds as many as the
        last one did."""
        taken: Waiting = []
        while len(taken) < most and not self._stopping:
            try:
                item = self._waiting.get(timeout=GATHER_SECONDS if taken else wait) if taken or wait != 0 \
                    else self._waiting.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._stopping = True  # stop after this batch
                break
            taken.append(item)
            if have + len(taken) >= self._expected and self._waiting.empty():
                break
        return taken


def _no_pandas_lookups() -> None:
    """DuckDB tries to import pandas at each statement with parameters, a search of sys.path each time it is not
    installed (~14 a batch); in this long-running process, remember once that it is not there."""
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]  # what `import pandas` then refuses at once


def _outcomes(write: Write, batch: Waiting) -> list[Outcome | BaseException]:
    try:
        return write([item for item, _ in batch])  # type: ignore[return-value]
    except BaseException as error:  # never leave a request waiting for ever
        return [error] * len(batch)


def _answer(batch: Waiting, outcomes: list[Outcome | BaseException]) -> None:
    for (_, done), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


class BatchedDatabase(Database):
    """The API's Database whose `keep` stores records in batches from one writer thread."""

    def __init__(self, database: Database) -> None:
        super().__init__(database.target, database.user)
        self.batcher: Batcher[JournalEntry, Recorded] = Batcher(self.batch_writer, "sessionstats-records")

    def keep(self, kind: str, record: TokenUsageInput | StoryInput, record_id: str, *, create: bool) -> Recorded:
        return self.batcher.submit(JournalEntry(record_id, kind, self.user, record, create))

    async def record_soon(self, record: TokenUsageInput | StoryInput, *, create: bool) -> Recorded:
        """Record one story or call in the writer's next batch, awaited on the event loop.

        A worker thread per request waiting for its batch cost more than the batch: under load each of 16
        threads waited its turn for a CPU and the GIL to wake up (~40 ms a request)."""
        [entry] = entries_of([record], user=self.user, create=create)
        checked = checked_entry(entry)  # bad input is refused here, never waits for (or opens) the database
        return await asyncio.wrap_future(self.batcher.queue(checked))

    def close(self) -> None:
        self.batcher.close()
