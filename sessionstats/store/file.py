"""Open a local DuckDB database file for one command: lock, connect, migrate, close.

DuckDB lets one process write a file at a time and blocks others while it is
open, so every command takes a sidecar `fcntl.flock` (shared to read,
exclusive to write) for as long as it holds the connection, and no longer.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sessionstats.errors import DatabaseBusy, DatabaseUnusable
from sessionstats.migrations import apply_migrations, schema_is_current
from sessionstats.store import Store, lock_timeout
from sessionstats.store.runs import sort_new_rows


@contextmanager
def open_file(path: Path, *, write: bool = False) -> Iterator[Store]:
    """Lock and open the database file for one command, creating or migrating it when needed."""
    deadline = time.monotonic() + lock_timeout()
    if write:
        with _writable(path, deadline) as store:
            yield store
            sort_new_rows(store)
        return
    for _ in range(2):
        with _file_lock(path, exclusive=False, deadline=deadline):
            if not _is_missing(path):
                with _connection(path, True, deadline) as con:
                    store = Store(con, str(path), writable=False)
                    if schema_is_current(store):
                        yield store
                        return
        with _writable(path, deadline):  # a new or older database: create or upgrade it, then read
            pass
    raise DatabaseUnusable(f"cannot prepare the database at {path}")


@contextmanager
def _writable(path: Path, deadline: float) -> Iterator[Store]:
    """The writer's lock and a connection to the database at the latest schema; a new one is made whole first."""
    with _file_lock(path, exclusive=True, deadline=deadline):
        if _is_missing(path):
            _create(path, deadline)
        with _connection(path, False, deadline) as con:
            store = Store(con, str(path), writable=True)
            apply_migrations(store)
            yield store


def _is_missing(path: Path) -> bool:
    """No database there: no file, or an empty one (nothing a DuckDB file ever is)."""
    return not path.exists() or path.stat().st_size == 0


def _create(path: Path, deadline: float) -> None:
    """Make the database beside `path` and rename it into place, so a command killed while creating
    it leaves no file rather than one without its headers, which no later command could open."""
    draft = path.with_name(path.name + ".creating")
    for leftover in (draft, draft.with_name(draft.name + ".wal")):  # from a creator killed earlier
        leftover.unlink(missing_ok=True)
    with _connection(draft, False, deadline) as con:
        apply_migrations(Store(con, str(draft), writable=True))
        con.execute("CHECKPOINT")  # everything in the file itself, none of it in a .wal left behind
    os.replace(draft, path)


# DuckDB errors that mean the file itself is damaged or unreadable, whenever they surface.
_BROKEN_FILE = (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException,
                duckdb.FatalException)


@contextmanager
def _connection(path: Path, read_only: bool, deadline: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """Connect, retrying DuckDB's own lock error (a process outside our lock) until the deadline.

    The umask stays 077 while the connection is open: DuckDB creates the `.wal` file at the first
    write, long after connecting, and a crash leaves it behind holding records.
    """
    old_umask = os.umask(0o077)
    try:
        con = _connect(path, read_only, deadline)
        try:
            yield con
        except _BROKEN_FILE as error:  # e.g. a truncated file that opened but cannot be read
            raise _unusable(path, error) from None
        finally:
            con.close()
    finally:
        os.umask(old_umask)


def _connect(path: Path, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise _unusable(path, error) from None
            if time.monotonic() >= deadline:
                raise _busy(path) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as error:
            raise _unusable(path, error) from None


@contextmanager
def _file_lock(path: Path, *, exclusive: bool, deadline: float) -> Iterator[None]:
    """Hold a flock on `<db>.lock` (exclusive to write, shared to read) for the block's length."""
    if path.is_dir():
        raise DatabaseUnusable(f"cannot use the database at {path}: it is a folder, not a database file")
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:
        if path.parent.is_dir():  # e.g. under /proc, where no file can be made
            raise DatabaseUnusable(f"cannot open the database at {path}: no file can be created there") from None
        raise DatabaseUnusable(f"cannot open the database at {path}: its folder does not exist") from None
    except OSError as error:
        raise DatabaseUnusable(f"cannot open the database at {path}: {error.strerror.lower()}") from None
    try:
        _acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, path)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class _LockTimeout(Exception):
    pass


def _raise_lock_timeout(signum: int, frame: object) -> None:
    raise _LockTimeout


def _acquire(fd: int, operation: int, deadline: float, path: Path) -> None:
    """Block on flock until the deadline: a timer signal in the main thread, polling elsewhere."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _busy(path)
    if threading.current_thread() is not threading.main_thread():
        _poll(fd, operation, deadline, path)
        return
    previous = signal.signal(signal.SIGALRM, _raise_lock_timeout)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, remaining)
            fcntl.flock(fd, operation)  # blocking waiters are served in turn, unlike polling
        finally:  # the one-shot timer may fire as flock returns and raise in here
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _LockTimeout:
        raise _busy(path) from None  # the caller closes fd, which lets go of a lock taken at the last instant
    finally:
        signal.signal(signal.SIGALRM, previous)


def _poll(fd: int, operation: int, deadline: float, path: Path) -> None:
    while True:
        time.sleep(0.005)
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _busy(path) from None


def _busy(path: Path) -> DatabaseBusy:
    return DatabaseBusy(
        f"the database at {path} stayed busy past the lock timeout; "
        "try again, or raise SESSIONSTATS_LOCK_TIMEOUT"
    )


def _unusable(path: Path, error: Exception) -> DatabaseUnusable:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return DatabaseUnusable(f"cannot use the database at {path}: {reason}")
