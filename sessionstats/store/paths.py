"""What is at a database path: nothing yet, or a DuckDB file; anything else is refused before DuckDB sees it.

DuckDB opens whatever it is given and makes a database of it: a device node became a 1 MB database, a lock
file or an empty file someone made became ours. So a path is looked at first, and only a regular file with
DuckDB's header (or nothing at all) goes on. The lock and WAL beside it must be plain files too: DuckDB
writes and removes the WAL through whatever symlink it finds there.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path

from sessionstats.errors import DatabaseUnusable, SessionStatsWarning
from sessionstats.store.target import default_db_path

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB file (after an 8-byte checksum)
OWNER_ONLY = 0o600
_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symlink"}


def real_path(path: Path) -> Path:
    """The file a path names after its symlinks, so every name of one database shares one lock and WAL."""
    return Path(os.path.realpath(path))


def sidecar(path: Path, suffix: str) -> Path:
    """`<db>.lock`, `<db>.wal`, `<db>.creating`: files DuckDB or we keep beside the database."""
    return path.with_name(path.name + suffix)


def database_state(path: Path) -> str:
    """'duckdb' (a DuckDB file), 'missing' (nothing there) or 'abandoned' (an empty file a killed creator left:
    its lock file is beside it); raise DatabaseUnusable for anything else."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _check_folder(path)
        _check_no_stray_wal(path)
        return "missing"
    except OSError as error:
        raise refused(path, _os_reason(error)) from None
    if not stat.S_ISREG(info.st_mode):
        raise refused(path, f"it is {_KINDS.get(stat.S_IFMT(info.st_mode), 'not a regular file')}, "
                            "not a database file")
    _check_sidecars_are_files(path)
    if info.st_size == 0:
        if os.path.lexists(sidecar(path, ".lock")):
            return "abandoned"
        raise refused(path, "it is an empty file that sessionstats did not make, not a database; "
                            "remove it, or choose a path where nothing is yet")
    if _header(path) != DUCKDB_MAGIC:
        raise refused(path, "it is not a DuckDB database file")
    return "duckdb"


def _header(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(12)[8:]
    except OSError as error:
        raise refused(path, _os_reason(error)) from None


def _check_folder(path: Path) -> None:
    """Refuse a path whose folder is missing or is not a folder (say which)."""
    folder = path.parent
    if not folder.exists():
        if path == real_path(default_db_path()):  # a new user's: the first write makes it, a read makes nothing
            return
        raise DatabaseUnusable(f"cannot open the database at {path}: its folder does not exist")
    if not folder.is_dir():
        raise DatabaseUnusable(f"cannot open the database at {path}: {folder} is not a folder")


def _check_no_stray_wal(path: Path) -> None:
    """A WAL with no database would be replayed into the new one: another database's records."""
    wal = sidecar(path, ".wal")
    if os.path.lexists(wal):
        raise refused(path, f"there is no database but there is a {wal.name} (from another file or a lost "
                            "database); move it away first")


def _check_sidecars_are_files(path: Path) -> None:
    for name in (".lock", ".wal"):
        try:
            info = os.lstat(sidecar(path, name))
        except FileNotFoundError:
            continue
        except OSError as error:
            raise refused(path, f"its {name} file: {_os_reason(error)}") from None
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise refused(path, f"its {name} file {sidecar(path, name)} is {kind}; move it away first")


def warn_if_shared(paths: list[Path], *, tighten: bool) -> None:
    """Make the database's files owner-only (when `tighten`), else warn: they hold what others should not read."""
    for path in paths:
        try:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        if tighten:
            try:
                os.chmod(path, OWNER_ONLY)
                continue
            except OSError as error:
                reason = f"cannot make it owner-only ({_os_reason(error)})"
        else:
            reason = "the next command that records makes it owner-only (0600)"
        warnings.warn(f"{path} is readable by other users (mode {mode:04o}); {reason}", SessionStatsWarning,
                      stacklevel=2)


def refused(path: Path, reason: str) -> DatabaseUnusable:
    return DatabaseUnusable(f"cannot use the database at {path}: {reason}")


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "its path is a loop of symlinks"
    if error.errno == errno.ENOTDIR:
        return "a part of its path is a file, not a folder"
    return (error.strerror or type(error).__name__).lower()
