"""Keep a database file's records grouped by session: new rows are rewritten in session order, a run at a time.

Rows land in the order they are recorded, so a long session's rows spread over the whole file and a
report on it reads most of the file. Once a table holds RUN_ROWS rows not yet sorted, the write command
that crossed the mark rewrites them ordered by (user_id, session_id, created_at). Each row group of such
a run holds few sessions, so DuckDB skips the others by their min/max (`benchmarks/layout.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessionstats.store import Store

SORTED_TABLES = ("token_usage", "story_history")
RUN_ROWS = 250_000  # ~1 s to rewrite at 10M rows; a session then spans one or two row groups per run
MAX_RUN_ROWS = 1_000_000  # the most one command rewrites: a file from before runs is sorted over several

_ROW_COUNTS = " UNION ALL ".join(f"SELECT '{table}' AS table_name, count(*) AS row_count FROM {table}"
                                 for table in SORTED_TABLES)
_NEW_ROWS_SQL = (f"SELECT s.table_name, c.row_count - s.settled_rows "
                 f"FROM sorted_rows s JOIN ({_ROW_COUNTS}) c USING (table_name)")


def sort_new_rows(store: Store) -> None:
    """Rewrite each table's unsorted rows in session order once there are RUN_ROWS of them.

    The command's own rows are committed already and the order only makes reports faster, so a
    failure here is left for the next write to retry rather than reported.
    """
    import duckdb

    try:
        for table, new_rows in store.fetchall(_NEW_ROWS_SQL):  # counts from metadata: ~1 ms at 10M rows
            if new_rows >= RUN_ROWS:
                _sort_run(store, table)
    except duckdb.Error:
        pass


def insert_in_session_order(store: Store, table: str, columns: Sequence[str], select: str,
                            params: Mapping[str, Any]) -> int:
    """Insert the SELECT's rows ordered by session; as many as a run are a sorted run already (a bulk import).

    Counting first is a second pass over the SELECT (~0.1 s for a million imported rows); counting with a
    window in the insert itself took 1.1 s and 300 MiB more."""
    names = ", ".join(columns)
    counted = store.fetchone(f"SELECT count(*) >= $run_rows FROM ({select})", {**params, "run_rows": RUN_ROWS})
    is_run = bool(counted and counted[0])
    return int(store.fetchone(  # type: ignore[index]
        f"INSERT INTO {table} ({names}, sorted) SELECT {names}, $is_run "
        f"FROM ({select}) AS s({names}) ORDER BY user_id, session_id, created_at",
        {**params, "is_run": is_run})[0])


def _sort_run(store: Store, table: str) -> None:
    """Rewrite up to MAX_RUN_ROWS unsorted rows (oldest first) in session order, and note what is settled."""
    with store.transaction():
        unsorted, first = store.fetchone(f"SELECT count(*), min(rowid) FROM {table} WHERE NOT sorted")  # type: ignore[misc]
        if unsorted >= RUN_ROWS:
            picked, params = "NOT sorted AND rowid < $end", {"end": first + MAX_RUN_ROWS}
            store.execute(f"CREATE TEMP TABLE ss_run AS SELECT * FROM {table} WHERE {picked}", params)
            store.execute(f"DELETE FROM {table} WHERE {picked}", params)
            store.execute(f"INSERT INTO {table} SELECT * REPLACE (true AS sorted) FROM ss_run "
                          "ORDER BY user_id, session_id, created_at")
            store.execute("DROP TABLE ss_run")
        store.execute(
            f"UPDATE sorted_rows SET settled_rows = (SELECT count(*) FILTER (WHERE sorted) FROM {table}) "
            "WHERE table_name = $table", {"table": table})
