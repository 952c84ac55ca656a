"""Open a local DuckDB database file for one command: lock, attach, migrate, detach (store/duckdb_home.py).

DuckDB lets one process write a file at a time and blocks others while it is
open, so every command takes a sidecar `fcntl.flock` (shared to read,
exclusive to write) for as long as it holds the connection, and no longer.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sessionstats.errors import DatabaseBusy, DatabaseUnusable
from sessionstats.store.base import Store, lock_timeout
from sessionstats.store.duckdb_errors import translated
from sessionstats.store.duckdb_home import attach, detach, quiet
from sessionstats.store.empty import no_database_yet
from sessionstats.store.migrations import LATEST_VERSION, apply_migrations, check_not_foreign, check_readable_schema
from sessionstats.store.paths import database_state, real_path, refused, sidecar, warn_if_shared
from sessionstats.store.runs import sort_new_rows


@contextmanager
def open_file(path: Path, *, write: bool = False, create: bool = True) -> Iterator[Store]:
    """Lock and open the database file for one command; a write creates (unless not `create`) or upgrades it,
    a read changes nothing.

    A DuckDB error that escapes the command's work leaves as the project's error (duckdb_errors.py)."""
    try:
        with _opened(path, write, create) as store:
            yield store
    except Exception as error:
        mapped = translated(error)
        if mapped is error:
            raise
        raise mapped from None


@contextmanager
def _opened(path: Path, write: bool, create: bool) -> Iterator[Store]:
    deadline = time.monotonic() + lock_timeout()
    path = real_path(path)
    if write and (create or database_state(path) == "duckdb"):
        with _writable(path, deadline) as store:
            yield store
            if store.succeeded():
                sort_new_rows(store)
        return
    if database_state(path) != "duckdb":
        with no_database_yet(str(path)) as store:
            yield store
        return
    with _file_lock(path, exclusive=False, deadline=deadline), _connection(path, True, deadline) as con:
        store = Store(con, str(path), writable=False)
        check_readable_schema(store)
        warn_if_shared([path, sidecar(path, ".wal")], tighten=False)
        yield store


@contextmanager
def _writable(path: Path, deadline: float) -> Iterator[Store]:
    """The writer's lock and a connection to the database at the latest schema; a new one is made whole first,
    an older one is upgraded in a copy that replaces it only when the command succeeds."""
    database_state(path)  # refuse what is not a database before making its lock file
    with _file_lock(path, exclusive=True, deadline=deadline):
        state = database_state(path)
        if state != "duckdb":
            _create(path, deadline, replace=state == "abandoned")
        try:
            with _current(path, deadline, created=state != "duckdb") as store:
                yield store
        except _OlderSchema:
            with _upgraded(path, deadline) as store:
                yield store


class _OlderSchema(Exception):
    """The file's schema is behind ours: raised before the command starts, never by its work."""


@contextmanager
def _current(path: Path, deadline: float, *, created: bool) -> Iterator[Store]:
    """The file itself, at the latest schema (raise _OlderSchema before anything is changed when it is not)."""
    if not created and os.path.lexists(sidecar(path, ".wal")) and _version_read_only(path, deadline) < LATEST_VERSION:
        raise _OlderSchema  # opening it to write would fold the WAL into the file before the command ran
    unwanted = False
    try:
        with _connection(path, False, deadline) as con:
            store = Store(con, str(path), writable=True)
            version = check_not_foreign(store)  # before anything about it is changed
            if version < LATEST_VERSION:
                raise _OlderSchema
            apply_migrations(store, version)  # refuses a newer schema than ours
            warn_if_shared([path, sidecar(path, ".wal")], tighten=True)
            try:
                yield store
            except BaseException:  # bad input writes nothing: not even the database it made
                unwanted = created and _holds_no_session(con)
                raise
    finally:
        if unwanted:
            _remove_database(path)


def _version_read_only(path: Path, deadline: float) -> int:
    """The file's schema version, read without changing it (its WAL is replayed in memory only)."""
    with _connection(path, True, deadline) as con:
        return check_not_foreign(Store(con, str(path), writable=False))


@contextmanager
def _upgraded(path: Path, deadline: float) -> Iterator[Store]:
    """A copy of an older file, migrated, for the command to write; it takes the file's place only when the
    command succeeds (a writer of many units: once one stored a row), so a failing one leaves the file byte for
    byte as it was."""
    draft = sidecar(path, ".upgrading")
    try:
        _remove_database(draft)  # from an upgrader killed earlier
    except OSError as error:  # a folder someone made there
        raise refused(path, f"{draft} is in the way of upgrading it ({_reason(error)}); move it away first") \
            from None
    failure: Exception | None = None
    try:
        _copy_owner_only(path, draft)
        with _connection(draft, False, deadline) as con:
            apply_migrations(Store(con, str(path), writable=True))
            store = Store(con, str(path), writable=True)  # what it commits is the command's own
            try:
                yield store
            except Exception as error:
                if not store.holds_journal:
                    raise
                failure = error  # the journal's records are in the copy alone: it takes the file's place all the same
            kept = store.succeeded()
            con.execute("CHECKPOINT")  # everything in the draft itself, none of it in a .wal left behind
    except BaseException as error:
        _remove_database(draft)
        if isinstance(error, DatabaseUnusable):  # about the file the person named, not our copy of it
            raise DatabaseUnusable(str(error).replace(str(draft), str(path))) from None
        raise
    if not kept:
        _remove_database(draft)
        return
    os.replace(draft, path)
    sidecar(path, ".wal").unlink(missing_ok=True)  # its records were replayed into the copy
    if failure is not None:
        raise failure


def _copy_owner_only(path: Path, draft: Path) -> None:
    """Copy the database and its WAL (records a crash left there, replayed when the copy is opened)."""
    old_umask = os.umask(0o077)
    try:
        for source, target in ((path, draft), (sidecar(path, ".wal"), sidecar(draft, ".wal"))):
            if source.exists():
                shutil.copyfile(source, target)
    except OSError as error:  # a full disk: the upgrade needs room for a second copy of the file a moment
        raise DatabaseUnusable(f"cannot upgrade the database at {path} to this sessionstats' schema: copying "
                               f"it beside itself failed ({_reason(error)}); make room for a copy, then try again") \
            from None
    finally:
        os.umask(old_umask)


def _create(path: Path, deadline: float, *, replace: bool) -> None:
    """Make the database beside `path` and move it into place, so a command killed while creating it
    leaves no file rather than one without its headers, which no later command could open.

    Only an empty file a killed creator left is replaced; otherwise a file that appeared meanwhile stays."""
    draft = sidecar(path, ".creating")
    _remove_database(draft)  # from a creator killed earlier
    try:
        with _connection(draft, False, deadline) as con:
            apply_migrations(Store(con, str(draft), writable=True))
            con.execute("CHECKPOINT")  # everything in the file itself, none of it in a .wal left behind
    except BaseException as error:
        _remove_database(draft)  # a full disk must not stay fuller by a half-made database
        if isinstance(error, DatabaseUnusable):  # about the file the person named, not our draft of it
            raise DatabaseUnusable(str(error).replace(str(draft), str(path))) from None
        raise
    if replace:
        os.replace(draft, path)
        return
    try:
        os.link(draft, path)  # unlike a rename, never replaces what is there
    except FileExistsError:
        raise refused(path, "a file appeared there while the database was being made; try again") from None
    except OSError:  # a filesystem without hard links: nothing is there (we hold the writer's lock)
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _remove_database(path: Path) -> None:
    for leftover in (path, sidecar(path, ".wal")):
        leftover.unlink(missing_ok=True)


def _holds_no_session(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a database that holds no session, so nothing recorded or folded in is lost by removing it."""
    try:
        return con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    except duckdb.Error:  # a connection the failure left unusable: keep the file
        return False


_DUCKDB_LOCK_ERROR = "Could not set lock on file"  # another process has the file open (DuckDB 1.5.5's words)
# What DuckDB says of a damaged or truncated file, and of a WAL it cannot replay.
_CORRUPT_SIGNS = ("Corrupt database file", "Could not read enough bytes", "Failure while replaying WAL")
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
            detach(con)
    finally:
        os.umask(old_umask)


def _connect(path: Path, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    delay = 0.01
    while True:
        try:
            return quiet(attach(path, read_only=read_only))
        except duckdb.IOException as error:
            if _DUCKDB_LOCK_ERROR not in str(error):  # "in block at location" of a corrupt file is no lock
                raise _unusable(path, error) from None
            if time.monotonic() >= deadline:
                raise _busy(path) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as error:
            raise _unusable(path, error) from None


@contextmanager
def _file_lock(path: Path, *, exclusive: bool, deadline: float) -> Iterator[None]:
    """Hold a flock on `<db>.lock` (exclusive to write, shared to read) for the block's length.

    A reader only uses a lock file that is there (writers make it): it creates nothing, and can read a
    database on a read-only disk. Without one, DuckDB's own lock on the file still keeps writers out."""
    fd = _open_lock_file(path, create=exclusive)
    if fd is None:
        yield
        return
    try:
        _acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, path)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _open_lock_file(path: Path, *, create: bool) -> int | None:
    """The lock file's descriptor; None for a reader that finds none (or cannot open it)."""
    lock_path = sidecar(path, ".lock")
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # never through a symlink, never stuck on a FIFO
    try:
        fd = os.open(lock_path, flags | (os.O_RDWR | os.O_CREAT if create else os.O_RDONLY), 0o600)
    except OSError as error:
        if not create:
            return None
        if isinstance(error, FileNotFoundError):  # e.g. under /proc, where no file can be made
            raise DatabaseUnusable(f"cannot open the database at {path}: no file can be created there") from None
        raise DatabaseUnusable(f"cannot open the database at {path}: {_reason(error)}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refused(path, f"its lock file {lock_path} is not a regular file; move it away first")
    if create:
        warn_if_shared([lock_path], tighten=True)
    return fd


def _reason(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()


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
    if any(sign in reason for sign in _CORRUPT_SIGNS):
        return DatabaseUnusable(f"the database at {path} is corrupt ({reason}); restore it from a backup")
    return refused(path, reason)
