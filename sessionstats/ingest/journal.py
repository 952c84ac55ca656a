"""Records kept while the database could not take them, stored exactly once by a later write.

When the database stays busy past the lock timeout (or a PostgreSQL server is unreachable), a record
from the API or `track` is appended to a journal beside the database file (for PostgreSQL, in the data
directory): one JSON line per record, written whole and fsynced before the caller hears "kept". The
next write from any process (the hook in `open_store`) stores every line and then empties the file.
Each line carries the id the record will be stored under, and storing an id that is already there is a
no-op, so a process killed between storing and emptying leaves lines that the next write skips.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sessionstats.errors import DatabaseBusy, DatabaseUnusable, SessionStatsError
from sessionstats.ingest.records import Recorded, StoryInput, TokenUsageInput
from sessionstats.store import PostgresTarget, Store, lock_timeout

KINDS = {"tokens": TokenUsageInput, "story": StoryInput}
_EXACT_TYPES = {"cost": Decimal, "created_at": datetime}  # the fields JSON cannot carry as they are


@dataclass(frozen=True)
class JournalEntry:
    """One record waiting for the database: what it is, whose, and whether to create its session."""

    id: str  # the id the record is stored under (a story's own id)
    kind: str
    user: str
    record: TokenUsageInput | StoryInput
    create: bool = False

    def to_line(self) -> str:
        values = {name: _plain(value) for name, value in asdict(self.record).items()}
        return json.dumps({"id": self.id, "kind": self.kind, "user": self.user, "create": self.create,
                           "record": values}, ensure_ascii=False, separators=(",", ":")) + "\n"


def journal_path(target: Path | PostgresTarget) -> Path:
    """`<db>.journal` beside a database file; for a server, a file per server and role in the data directory."""
    if isinstance(target, Path):
        return target.with_name(target.name + ".journal")
    from platformdirs import user_data_path

    digest = hashlib.sha256(str(target).encode()).hexdigest()[:16]
    return user_data_path("sessionstats", appauthor=False) / f"journal-{digest}.jsonl"


def append(target: Path | PostgresTarget, entry: JournalEntry) -> Path:
    """Append the entry as one line and fsync it; return the journal's path."""
    path = journal_path(target)
    line = entry.to_line().encode("utf-8")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(path) as fd:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a writer killed mid-line left a fragment: never glue a record onto it
            os.write(fd, line)
            os.fsync(fd)
    except OSError as error:
        raise DatabaseUnusable(f"cannot keep the record in the journal at {path}: {error.strerror}") from None
    return path


def pending(target: Path | PostgresTarget) -> int:
    """How many records wait in the journal (0 when there is none)."""
    path = journal_path(target)
    try:
        with path.open("rb") as journal:
            return sum(1 for line in _lines(journal.fileno()) if line.strip())
    except OSError:  # none, or one this user cannot read: nothing this process could fold either
        return 0


def fold(store: Store, target: Path | PostgresTarget) -> int:
    """Store every waiting record through `store` (open to write), then empty the journal; return how many."""
    path = journal_path(target)
    try:
        if not path.is_file() or path.stat().st_size == 0 or not os.access(path, os.R_OK | os.W_OK):
            return 0  # nothing waits, or a journal this user cannot fold: it never blocks this write
    except OSError:
        return 0
    with _locked(path) as fd:
        stored = sum(_fold_line(store, path, line) for line in _lines(fd) if line.strip())
        os.ftruncate(fd, 0)
        os.fsync(fd)
    return stored


def store_entry(store: Store, entry: JournalEntry, *, unseen: bool = False) -> Recorded:
    """Store one record; its id already there is a no-op. `unseen`: the id cannot be there yet (never
    journaled), so the lookup by id, a scan of the token ids (~10 ms CPU at 1M records), is left out."""
    from sessionstats.ingest.records import record_story, record_tokens

    if isinstance(entry.record, TokenUsageInput):
        return record_tokens(store, entry.record, user=entry.user, create=entry.create,
                             record_id=None if unseen else entry.id)
    return record_story(store, entry.record, user=entry.user, create=entry.create)


def _fold_line(store: Store, path: Path, line: bytes) -> int:
    """Store one line; a line that cannot be stored is set aside in `<journal>.rejected`, never retried forever."""
    try:
        entry = _entry(line)
        return int(store_entry(store, entry).created)
    except (ValueError, TypeError, KeyError) as error:
        _set_aside(path, line, f"not a journal record: {error}")
    except RecursionError:  # a line nested 100,000 deep failed every later write with a traceback
        _set_aside(path, line, "not a journal record: its JSON nests too deeply")
    except (DatabaseBusy, DatabaseUnusable):
        raise
    except SessionStatsError as error:
        _set_aside(path, line, str(error))
    return 0


def _entry(line: bytes) -> JournalEntry:
    data = json.loads(line)
    kind = KINDS[data["kind"]]
    names = {f.name for f in fields(kind)}
    values = {name: _exact(name, value) for name, value in data["record"].items() if name in names}
    return JournalEntry(str(data["id"]), data["kind"], data["user"], kind(**values), bool(data.get("create")))


def _set_aside(path: Path, line: bytes, reason: str) -> None:
    rejected = path.with_name(path.name + ".rejected")
    note = json.dumps({"reason": reason, "line": line.decode("utf-8", "replace")}, ensure_ascii=False) + "\n"
    fd = os.open(rejected, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, note.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _exact(name: str, value: Any) -> Any:
    kind = _EXACT_TYPES.get(name)
    if value is None or kind is None:
        return value
    return Decimal(value) if kind is Decimal else datetime.fromisoformat(value)


_MAX_LINE = 64 << 20  # a record's line: its 16 MiB narrative with every character escaped is 32 MiB


def _lines(fd: int) -> Iterator[bytes]:
    """The journal's lines from its start, one at a time (a journal kept through a long outage is not read whole);
    a line past _MAX_LINE comes cut to it, and then fails as JSON and is set aside."""
    os.lseek(fd, 0, os.SEEK_SET)
    with os.fdopen(os.dup(fd), "rb", buffering=1 << 20) as journal:
        while line := journal.readline(_MAX_LINE):
            if line.endswith(b"\n"):
                yield line[:-1]
                continue
            while (rest := journal.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass  # the rest of a line too long to be a record
            yield line


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """The journal open to append, under its own flock (writers append whole lines; a fold empties it)."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + lock_timeout()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(f"the journal at {path} stayed busy past the lock timeout; "
                                       "try again, or raise SESSIONSTATS_LOCK_TIMEOUT") from None
                time.sleep(0.005)
        yield fd
    finally:
        os.close(fd)
