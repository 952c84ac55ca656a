"""Group commit: what many requests write is stored together by one writer thread, one open per batch.

Opening a DuckDB file to write costs more than storing a record, so a request per open could not keep up
with many clients; under load a batch grows instead (benchmarks/bench_serve.py). Single records still go
through the Python API (`SessionHandle.record_tokens` / `record_story`, their validation and pricing): only
the API's last step, `Database.keep`, is taken over, and each record keeps its own transaction as `keep`'s.
OTLP exports are batched the same way (otlp.py), their events stored in one transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Generic, TypeVar

from sessionstats.api import Database
from sessionstats.errors import DatabaseBusy, DatabaseUnusable, SessionStatsError
from sessionstats.journal import JournalEntry, append, store_entry
from sessionstats.records import Recorded, StoryInput, TokenUsageInput

MAX_BATCH = 1000
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class Batcher(Generic[Item, Outcome]):
    """A writer thread that hands everything queued meanwhile to `store_batch` (one outcome or error each)."""

    def __init__(self, store_batch: Callable[[list[Item]], list[Outcome | SessionStatsError]], name: str) -> None:
        self.store_batch = store_batch
        self._waiting: queue.Queue[tuple[Item, Future[Outcome]] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._run, name=name, daemon=True)
        self._writer.start()

    def submit(self, item: Item) -> Outcome:
        """Queue `item` and wait until its batch is stored; raise its error."""
        done: Future[Outcome] = Future()
        self._waiting.put((item, done))
        return done.result()

    def close(self) -> None:
        """Store what is queued, then stop the writer thread."""
        self._waiting.put(None)
        self._writer.join(timeout=30)

    def _run(self) -> None:
        while (first := self._waiting.get()) is not None:
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._waiting.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[tuple[Item, Future[Outcome]]]) -> None:
        try:
            outcomes = self.store_batch([item for item, _ in batch])
        except BaseException as error:  # never leave a request waiting for ever
            outcomes = [error] * len(batch)  # type: ignore[list-item]
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)


class BatchedDatabase(Database):
    """The API's Database whose `keep` stores records in batches from one writer thread."""

    def __init__(self, database: Database) -> None:
        super().__init__(database.target, database.user)
        self.batcher: Batcher[JournalEntry, Recorded] = Batcher(self._store, "sessionstats-records")

    def keep(self, kind: str, record: TokenUsageInput | StoryInput, record_id: str, *, create: bool) -> Recorded:
        return self.batcher.submit(JournalEntry(record_id, kind, self.user, record, create))

    def close(self) -> None:
        self.batcher.close()

    def _store(self, entries: list[JournalEntry]) -> list[Recorded | SessionStatsError]:
        outcomes: list[Recorded | SessionStatsError] = []
        unseen = isinstance(self.target, Path)  # as Database.keep: a file fails before its commit
        try:
            with self.writing(create=any(entry.create for entry in entries)) as store:  # none: make no database
                for entry in entries:
                    try:
                        outcomes.append(store_entry(store, entry, unseen=unseen))
                    except (DatabaseBusy, DatabaseUnusable):
                        raise
                    except SessionStatsError as error:
                        outcomes.append(error)
        except (DatabaseBusy, DatabaseUnusable) as error:
            outcomes += [self._journal(entry, error) for entry in entries[len(outcomes):]]
        return outcomes

    def _journal(self, entry: JournalEntry, error: SessionStatsError) -> Recorded | SessionStatsError:
        """As Database.keep: a busy database (or unreachable server) journals; a broken file is said."""
        if isinstance(error, DatabaseUnusable) and isinstance(self.target, Path):
            return error
        try:
            path = append(self.target, entry)
        except SessionStatsError as failed:
            return failed
        return Recorded(entry.id, created=True,
                        warning=f"{error}; the record is kept in {path} and the next write stores it")
