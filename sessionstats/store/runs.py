"""Keep a database file's records grouped by session: new rows are rewritten in session order, a run at a time.

Rows land in the order they are recorded, so a long session's rows spread over the whole file and a
report on it reads most of the file. Once a table holds RUN_ROWS unsorted rows, the write command that
crossed the mark rewrites them ordered by (user_id, session_id, created_at). Each row group of such a run
holds few sessions, so DuckDB skips the others by their min/max (`benchmarks/layout.py`).

The unsorted rows are counted, not tracked (a counter went wrong when `delete` removed sorted rows):
about 10-25 ms at 5M rows. `sorted_rows.settled_rows` holds the unsorted rows a failed sort set aside,
so the next try waits for another run's worth of rows instead of failing on every write.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from sessionstats.errors import SessionStatsWarning

if TYPE_CHECKING:
    from sessionstats.store.base import Store

SORTED_TABLES = ("token_usage", "story_history")
RUN_ROWS = 250_000  # ~1 s to rewrite at 10M rows; a session then spans one or two row groups per run
MAX_RUN_ROWS = 1_000_000  # the most one command rewrites: a file from before runs is sorted over several

_UNSORTED_SQL = " UNION ALL ".join(
    f"SELECT '{table}', count(*) FILTER (WHERE sorted IS NOT true), "
    f"(SELECT settled_rows FROM sorted_rows WHERE table_name = '{table}') FROM {table}"
    for table in SORTED_TABLES)


def sort_new_rows(store: Store) -> None:
    """Rewrite each table's unsorted rows in session order once there are RUN_ROWS of them (beyond any set aside).

    The command's own rows are committed already and the order only makes reports faster, so a failure
    is a warning, and its rows are set aside until another run's worth has come.
    """
    import duckdb

    try:
        counts = store.fetchall(_UNSORTED_SQL)
    except duckdb.Error as error:
        _warn("count", error)
        return
    for table, unsorted, set_aside in counts:
        set_aside = set_aside if 0 <= set_aside <= unsorted else 0  # rows since deleted; or an older file's count
        if unsorted - set_aside < RUN_ROWS:
            continue
        try:
            _sort_run(store, table)
        except duckdb.Error as error:
            _warn(f"sort the {table}", error)
            with suppress(duckdb.Error):  # a connection that failed may not take even this
                _set_aside(store, table, unsorted)


def _warn(what: str, error: Exception) -> None:
    warnings.warn(f"could not {what} records by session ({str(error).splitlines()[0]}); every record is kept, "
                  f"and the next try comes after {RUN_ROWS:,} more", SessionStatsWarning, stacklevel=3)


def _set_aside(store: Store, table: str, rows: int) -> None:
    store.execute("UPDATE sorted_rows SET settled_rows = $rows WHERE table_name = $table",
                  {"rows": rows, "table": table})


def insert_in_session_order(store: Store, table: str, columns: Sequence[str], select: str,
                            params: Mapping[str, Any], *, most_rows: int | None = None) -> int:
    """Insert the SELECT's rows ordered by session; as many as a run are a sorted run already (a bulk import).

    Counting first is a second pass over the SELECT (~0.1 s for a million imported rows); counting with a
    window in the insert itself took 1.1 s and 300 MiB more. A caller that knows the SELECT yields fewer
    than a run (`most_rows`) saves the count (~1 ms a statement: a fifth of a small batch's SQL)."""
    names = ", ".join(columns)
    is_run = False
    if most_rows is None or most_rows >= RUN_ROWS:
        counted = store.fetchone(f"SELECT count(*) >= $run_rows FROM ({select})", {**params, "run_rows": RUN_ROWS})
        is_run = bool(counted and counted[0])
    return int(store.fetchone(  # type: ignore[index]
        f"INSERT INTO {table} ({names}, sorted) SELECT {names}, $is_run "
        f"FROM ({select}) AS s({names}) ORDER BY user_id, session_id, created_at",
        {**params, "is_run": is_run})[0])


def _sort_run(store: Store, table: str) -> None:
    """Rewrite up to MAX_RUN_ROWS unsorted rows (oldest first) in session order; nothing is set aside after."""
    with store.transaction():
        first = store.fetchone(f"SELECT min(rowid) FROM {table} WHERE sorted IS NOT true")[0]  # type: ignore[index]
        picked, params = "sorted IS NOT true AND rowid < $end", {"end": first + MAX_RUN_ROWS}
        store.execute(f"CREATE TEMP TABLE ss_run AS SELECT * FROM {table} WHERE {picked}", params)
        store.execute(f"DELETE FROM {table} WHERE {picked}", params)
        store.execute(f"INSERT INTO {table} SELECT * REPLACE (true AS sorted) FROM ss_run "
                      "ORDER BY user_id, session_id, created_at")
        store.execute("DROP TABLE ss_run")
        _set_aside(store, table, 0)
