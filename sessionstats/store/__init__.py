"""The database behind every command: a local DuckDB file, or a shared PostgreSQL server.

`open_store(db)` picks by what `--db` names and hands the command a `Store` for its own length, with
one contract on both: a statement is DuckDB SQL unless the core marks it `PlainSQL` (SQL both engines
run as written). On PostgreSQL, plain SQL and every write go straight to the server, and DuckDB SQL
reads the server through DuckDB's postgres extension (see `store/postgres.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput, NestedTransaction
from sessionstats.store.runs import SORTED_TABLES, insert_in_session_order
from sessionstats.store.target import PostgresTarget, default_db_path, resolve_target

__all__ = ["PlainSQL", "PostgresTarget", "Store", "lock_timeout", "open_store", "resolve_target"]

DEFAULT_LOCK_TIMEOUT = 10.0
LONGEST_LOCK_TIMEOUT = 86_400.0  # "wait as long as it takes": a day, which timers and PostgreSQL can both hold
Params = Sequence[Any] | Mapping[str, Any]


class PlainSQL(str):
    """A statement both engines run as written (no DuckDB functions or temp tables; `?` or `$name` parameters).

    On PostgreSQL it runs on the server alone, so a command made only of plain SQL never starts DuckDB
    (tests/test_store_contract.py checks every one on both engines).
    """

    __slots__ = ()


@dataclass
class Store:
    """An open DuckDB connection for the length of one command.

    The write helpers take a DuckDB SELECT (`$name` parameters) and change the user's rows of a
    table from it; on PostgreSQL they ship its result to the server instead.
    """

    con: Any  # duckdb.DuckDBPyConnection
    location: str
    writable: bool
    in_transaction: bool = field(default=False, init=False)
    dialect = "duckdb"

    def execute(self, sql: str, params: Params = ()) -> Any:
        return self.con.execute(sql, params)

    def fetchone(self, sql: str, params: Params = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All or nothing: commit on success, roll back on any exception; one at a time."""
        if self.in_transaction:
            raise NestedTransaction()
        self.con.execute("BEGIN TRANSACTION")
        self.in_transaction = True
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.in_transaction = False
        self.con.execute("COMMIT")

    def insert_select(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> int:
        """Insert the SELECT's rows into `columns` of `table`; return how many."""
        if table in SORTED_TABLES:
            return insert_in_session_order(self, table, columns, select, params)
        names = ", ".join(columns)
        return int(self.fetchone(f"INSERT INTO {table} ({names}) {select}", params)[0])  # type: ignore[index]

    def update_from(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> int:
        """Set `columns` of the user's (`$user`) rows whose id the SELECT names (it yields id, *columns)."""
        assignments = ", ".join(f"{name} = s.{name}" for name in columns)
        return int(self.fetchone(  # type: ignore[index]
            f"UPDATE {table} AS t SET {assignments} FROM ({select}) AS s WHERE t.user_id = $user AND t.id = s.id",
            params)[0])

    def replace_rows(self, table: str, keys: Sequence[str], columns: Sequence[str], select: str,
                     params: Mapping[str, Any]) -> None:
        """Insert the SELECT's rows in place of the rows with the same `keys`."""
        match = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        with self._atomic():
            self.execute(f"DELETE FROM {table} AS t USING ({select}) AS s WHERE {match}", params)
            self.insert_select(table, columns, select, params)

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """A write helper's steps are all or nothing: in the caller's transaction, else in their own."""
        if self.in_transaction:
            yield
            return
        with self.transaction():
            yield

    def track_progress(self) -> None:
        """Let `query_progress` report on the statements that follow (the bar is never printed: see file.py)."""
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET progress_bar_time = 0")

    def query_progress(self) -> float:
        """Percent done of the statement running now (another thread may ask); -1 when none."""
        return float(self.con.query_progress())


def lock_timeout() -> float:
    """Seconds to wait for the lock: `$SESSIONSTATS_LOCK_TIMEOUT`, default 10, at most a day."""
    raw = os.environ.get("SESSIONSTATS_LOCK_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise InvalidInput(f"SESSIONSTATS_LOCK_TIMEOUT must be a number of seconds >= 0, got {raw!r}")
    return min(seconds, LONGEST_LOCK_TIMEOUT)


@contextmanager
def open_store(db: str | Path | PostgresTarget | None = None, *, write: bool = False,
               create: bool = True) -> Iterator[Store]:
    """Open the database for one command (`write`: under the writer's lock), creating or migrating it when needed.

    `create=False`: a write that needs a session or record already there (delete, rename, a record without
    --create) creates no database file; where there is none it finds nothing, as a read does.
    """
    target = db if isinstance(db, Path | PostgresTarget) else resolve_target(db)
    if isinstance(target, PostgresTarget):
        from sessionstats.store.postgres import open_postgres

        with open_postgres(target, write=write) as store:
            yield _with_journal_folded(store, target)
    else:
        from sessionstats.store.file import open_file

        if write and create and not target.parent.exists() and target == default_db_path():
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only, made by the first write
        with open_file(target, write=write, create=create) as store:
            yield _with_journal_folded(store, target)


def _with_journal_folded(store: Store, target: Path | PostgresTarget) -> Store:
    """A writer first stores the records kept in the journal while the database was busy (journal.py)."""
    if store.writable:
        from sessionstats.journal import fold

        fold(store, target)
    return store
