"""Group commit: single records from many requests are stored together, one database open per batch.

Each request still goes through the Python API (`SessionHandle.record_tokens` / `record_story`, with their
validation and pricing); only the API's last step, `Database.keep`, is taken over here: it queues the record
and waits for a writer thread, which stores everything queued meanwhile under one open of the database
(each record in its own transaction, as `keep` would). Opening a DuckDB file to write costs more than
storing a record, so under load a batch grows and the server keeps up (benchmarks/bench_serve.py).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from sessionstats.api import Database
from sessionstats.errors import DatabaseBusy, DatabaseUnusable, SessionStatsError
from sessionstats.journal import JournalEntry, append, store_entry
from sessionstats.records import Recorded, StoryInput, TokenUsageInput

MAX_BATCH = 1000


@dataclass
class Pending:
    entry: JournalEntry
    done: Future[Recorded] = field(default_factory=Future)


class BatchedDatabase(Database):
    """The API's Database whose `keep` stores records in batches from one writer thread."""

    def __init__(self, database: Database) -> None:
        super().__init__(database.target, database.user)
        self._waiting: queue.Queue[Pending | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_batches, name="sessionstats-writer", daemon=True)
        self._writer.start()

    def keep(self, kind: str, record: TokenUsageInput | StoryInput, record_id: str, *, create: bool) -> Recorded:
        pending = Pending(JournalEntry(record_id, kind, self.user, record, create))
        self._waiting.put(pending)
        return pending.done.result()

    def close(self) -> None:
        """Store what is queued, then stop the writer thread."""
        self._waiting.put(None)
        self._writer.join(timeout=30)

    def _write_batches(self) -> None:
        while (first := self._waiting.get()) is not None:
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._store(batch)
                    return
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[Pending]) -> None:
        try:
            self._store_all(batch)
        except (DatabaseBusy, DatabaseUnusable) as error:
            self._journal(batch, error)
        except BaseException as error:  # never leave a request waiting for ever
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(error)

    def _store_all(self, batch: list[Pending]) -> None:
        unseen = isinstance(self.target, Path)  # as Database.keep: a file fails before its commit
        with self.writing() as store:
            for pending in batch:
                try:
                    pending.done.set_result(store_entry(store, pending.entry, unseen=unseen))
                except (DatabaseBusy, DatabaseUnusable):
                    raise
                except SessionStatsError as error:
                    pending.done.set_exception(error)

    def _journal(self, batch: list[Pending], error: SessionStatsError) -> None:
        """As Database.keep: a busy database (or unreachable server) journals; a broken file is said."""
        for pending in batch:
            if pending.done.done():
                continue
            if isinstance(error, DatabaseUnusable) and isinstance(self.target, Path):
                pending.done.set_exception(error)
                continue
            try:
                path = append(self.target, pending.entry)
            except SessionStatsError as failed:
                pending.done.set_exception(failed)
                continue
            pending.done.set_result(Recorded(pending.entry.id, created=True, warning=(
                f"{error}; the record is kept in {path} and the next write stores it")))
