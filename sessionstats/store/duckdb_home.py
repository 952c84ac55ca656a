"""One in-memory DuckDB per thread that attaches the database file for each command's work, then detaches it.

Starting a DuckDB costs ~7 ms of CPU whatever it opens (10 ms with the 1m file, against 1 ms to attach
and detach it: benchmarks/bench_api.py), which a warm process that records call after call paid every
time. The file is held only between ATTACH and DETACH, as a connection held it; each unit of work gets
a cursor of its own, so its temporary tables and settings end with it. A thread of its own: DuckDB
connections are not shared between threads, and a forked child starts afresh.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from pathlib import Path

import duckdb

_local = threading.local()
_aliases = itertools.count(1)


def attach(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A cursor with the file attached and in use (raises DuckDB's error as connecting would)."""
    home = _home()
    alias = f"ss_db_{next(_aliases)}"
    mode = " (READ_ONLY)" if read_only else ""
    # ATTACH takes no parameters: the path is quoted as a literal.
    home.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias}{mode}")
    try:
        cursor = home.cursor()
        cursor.execute(f"USE {alias}")
    except BaseException:
        detach_alias(alias)
        raise
    _local.attached[id(cursor)] = alias
    return cursor


def detach(cursor: duckdb.DuckDBPyConnection) -> None:
    """End the unit of work: its cursor (and any transaction it left open), then the file itself."""
    alias = _local.attached.pop(id(cursor))
    cursor.close()
    detach_alias(alias)


def detach_alias(alias: str) -> None:
    """Detach (which checkpoints the WAL). A DuckDB that cannot is closed whole, so no file stays held; what
    was committed is in the WAL, which the next open replays, so the unit of work's own outcome stands."""
    try:
        _local.home.execute(f"DETACH {alias}")
    except duckdb.Error:
        forget_home()
    except BaseException:
        forget_home()
        raise


def forget_home() -> None:
    """Close this thread's DuckDB (e.g. after a fatal error invalidated it); the next unit of work starts another."""
    home = getattr(_local, "home", None)
    _local.home = None
    if home is not None:
        with contextlib.suppress(duckdb.Error):  # e.g. invalidated by a fatal error: closing frees it all the same
            home.close()


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """DuckDB draws its progress bar on stdout for any statement over 2 s: never into our output."""
    con.execute("SET enable_progress_bar_print = false")
    return con


def _home() -> duckdb.DuckDBPyConnection:
    if getattr(_local, "home", None) is None or _local.pid != os.getpid():
        _local.home = quiet(duckdb.connect(":memory:"))
        _local.pid = os.getpid()
        _local.attached = {}
    return _local.home
