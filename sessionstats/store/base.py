"""The store's contract: `Store`, what every backend's open database offers for the length of one command,
`PlainSQL` for statements both engines run as written, and how long a command waits for the lock."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sessionstats.errors import InvalidInput, NestedTransaction
from sessionstats.store.runs import SORTED_TABLES, insert_in_session_order
from sessionstats.validate import parse_number

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
    # Records folded in from the journal: acknowledged, so kept even when the command itself then fails.
    holds_journal: bool = field(default=False, init=False)
    # A writer of many units of work, each its own transaction (serve's batches), which never fails as a whole:
    # it succeeded once one of them stored a row. Rows the write helpers stored (taken back on a rollback).
    many_units: bool = field(default=False, init=False)
    rows_written: int = field(default=0, init=False)
    exists: bool = field(default=True, init=False)  # False: no database there yet, an empty one in memory answers
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
        written = self.rows_written
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            self.rows_written = written
            raise
        finally:
            self.in_transaction = False
        self.con.execute("COMMIT")

    def succeeded(self) -> bool:
        """Whether the work is to be kept: a command's (which fails by raising), many units' once one stored a row."""
        return not self.many_units or self.rows_written > 0 or self.holds_journal

    @contextmanager
    def one_thread(self) -> Iterator[None]:
        """DuckDB on one thread for the block. Its scans and temp tables took 25-45% more CPU on two for a first
        import (Codex 100k calls: 3.67 -> 2.81 CPU s), and serve's batches of 16 records ~14% more (0.87 -> 0.99 ms
        of server CPU a record, three runs each), for no shorter wall time."""
        self.execute("SET threads = 1")
        try:
            yield
        finally:
            self.execute("RESET threads")

    def insert_select(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any], *,
                      most_rows: int | None = None) -> int:
        """Insert the SELECT's rows into `columns` of `table`; return how many (`most_rows`: at most that many)."""
        if table in SORTED_TABLES:
            count = insert_in_session_order(self, table, columns, select, params, most_rows=most_rows)
        else:
            names = ", ".join(columns)
            count = int(self.fetchone(f"INSERT INTO {table} ({names}) {select}", params)[0])  # type: ignore[index]
        self.rows_written += count  # taken back should its transaction roll back
        return count

    def update_from(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> int:
        """Set `columns` of the user's (`$user`) rows whose id the SELECT names (it yields id, *columns)."""
        assignments = ", ".join(f"{name} = s.{name}" for name in columns)
        count = int(self.fetchone(  # type: ignore[index]
            f"UPDATE {table} AS t SET {assignments} FROM ({select}) AS s WHERE t.user_id = $user AND t.id = s.id",
            params)[0])
        self.rows_written += count
        return count

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
        seconds = parse_number(raw, "SESSIONSTATS_LOCK_TIMEOUT")
    except InvalidInput:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise InvalidInput(f"SESSIONSTATS_LOCK_TIMEOUT must be a number of seconds >= 0, got {raw!r}")
    return min(seconds, LONGEST_LOCK_TIMEOUT)
