"""A shared PostgreSQL database: writes go straight to the server, aggregates run in DuckDB.

Every write is sent through libpq (store/libpq.py), in the command's one server transaction:
row-level security refuses the COPY that DuckDB's postgres extension writes with, and a fresh
process records in a fraction of the time the extension needs to load. Reports and imports run their DuckDB SQL
on an in-memory DuckDB that attaches the server read-only; what an import computes there is
shipped to the server through a temporary table (COPY into it, then INSERT or UPDATE from it,
which the policies check).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sessionstats.errors import DatabaseBusy, DatabaseUnusable
from sessionstats.migrations import apply_migrations, schema_is_current
from sessionstats.store import Params, Store, lock_timeout
from sessionstats.store.libpq import Connection, ServerError
from sessionstats.store.target import PostgresTarget

_LOCK_NOT_AVAILABLE, _INSUFFICIENT_PRIVILEGE = "55P03", "42501"  # SQLSTATEs
_SCHEMA_LOCK = "sessionstats schema"  # advisory lock names: schema changes, and one user's writes
_WRITER_LOCK = "sessionstats writer "


class PostgresStore(Store):
    """The server connection, and a DuckDB attached to the same database when SQL needs DuckDB."""

    dialect = "postgres"

    def __init__(self, pg: Connection, target: PostgresTarget, *, writable: bool, direct: bool) -> None:
        super().__init__(None, str(target), writable)
        self.pg = pg
        self.target = target
        self.direct = direct
        self.in_snapshot = not writable  # a report reads one snapshot, like the file's shared lock

    def execute(self, sql: str, params: Params = ()) -> Any:
        if self.direct:
            return self.pg.execute(*_for_server(sql, params))
        return self.duckdb().execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        with self.pg.transaction():
            yield self

    def insert_select(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> int:
        names = ", ".join(columns)
        with self.pg.transaction():
            self._ship(table, columns, select, params)
            return self.pg.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM ss_rows").rowcount

    def update_from(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> int:
        assignments = ", ".join(f"{name} = s.{name}" for name in columns)
        with self.pg.transaction():
            self._ship(table, ["id", *columns], select, params)
            return self.pg.execute(f"UPDATE {table} AS t SET {assignments} FROM ss_rows AS s "
                                   "WHERE t.user_id = $1 AND t.id = s.id", [params["user"]]).rowcount

    def replace_rows(self, table: str, keys: Sequence[str], columns: Sequence[str], select: str,
                     params: Mapping[str, Any]) -> None:
        names = ", ".join(columns)
        match = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        with self.pg.transaction():
            self._ship(table, columns, select, params)
            self.pg.execute(f"DELETE FROM {table} AS t USING ss_rows AS s WHERE {match}")
            self.pg.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM ss_rows")

    def track_progress(self) -> None:
        if not self.direct:
            self.duckdb()
            super().track_progress()

    def query_progress(self) -> float:
        return super().query_progress() if self.con is not None else -1.0

    def duckdb(self) -> Any:
        """The DuckDB connection with the server attached read-only as the default catalog (made on first use)."""
        if self.con is None:
            self.con = _attached_duckdb(self.target)
            if self.in_snapshot:
                self.con.execute("BEGIN TRANSACTION")
        return self.con

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
        self.pg.close()

    def _ship(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> None:
        """Run the DuckDB SELECT and copy its rows into a temporary `ss_rows` shaped like `columns` of `table`."""
        names = ", ".join(columns)
        with tempfile.TemporaryDirectory(prefix="sessionstats-") as folder:
            rows = Path(folder) / "rows.csv"
            copy_sql = f"COPY ({select}) TO $ss_rows_file (FORMAT csv, HEADER false)"
            used = {name: value for name, value in params.items() if re.search(rf"\${name}\b", select)}
            self.duckdb().execute(copy_sql, {**used, "ss_rows_file": str(rows)})
            self.pg.execute("DROP TABLE IF EXISTS pg_temp.ss_rows")  # an earlier step's, in the same transaction
            self.pg.execute(f"CREATE TEMP TABLE ss_rows ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")
            with rows.open("rb") as data:
                chunks = iter(lambda: data.read(1 << 20), b"")
                self.pg.copy_in(f"COPY ss_rows ({names}) FROM STDIN (FORMAT csv)", chunks)


@contextmanager
def open_postgres(target: PostgresTarget, *, write: bool, direct: bool) -> Iterator[Store]:
    """Connect as the target's role, set up or check the schema, and hold the user's writer lock to write."""
    store = None
    try:
        store = PostgresStore(Connection(_connection_params(target)), target, writable=write, direct=True)
        _set_lock_timeout(store.pg)
        _prepare_schema(store)
        if write:
            _take_lock(store.pg, _WRITER_LOCK + target.user)
        store.direct = direct
        yield store
    except ServerError as error:
        raise _database_error(target, error) from None
    except Exception as error:
        if type(error).__module__.split(".")[0] not in ("duckdb", "_duckdb") or "postgres" not in str(error).lower():
            raise
        raise DatabaseUnusable(f"cannot use the PostgreSQL database {target}: {_first_line(error)}") from None
    finally:
        if store is not None:
            store.close()


def _database_error(target: PostgresTarget, error: ServerError) -> Exception:
    if error.sqlstate == _LOCK_NOT_AVAILABLE:
        return DatabaseBusy(f"the PostgreSQL database {target} stayed busy past the lock timeout; "
                            "try again, or raise SESSIONSTATS_LOCK_TIMEOUT")
    if error.sqlstate == _INSUFFICIENT_PRIVILEGE:
        return DatabaseUnusable(f"role {target.user!r} may not do this in {target}: {_first_line(error)} "
                                "(see 'Team setup' in the README for the roles and grants)")
    return DatabaseUnusable(f"cannot use the PostgreSQL database {target}: {_first_line(error)}")


def _connection_params(target: PostgresTarget) -> dict[str, str]:
    params = dict(target.params)
    params.setdefault("connect_timeout", "10")
    params.setdefault("application_name", "sessionstats")
    return params


def _set_lock_timeout(pg: Connection) -> None:
    """Waits for locks end after `$SESSIONSTATS_LOCK_TIMEOUT` seconds (0: at once), as with the file."""
    milliseconds = max(1, round(lock_timeout() * 1000))
    pg.execute("SELECT set_config('lock_timeout', $1, false)", [f"{milliseconds}ms"])


def _take_lock(pg: Connection, name: str) -> None:
    """An advisory lock held until the connection closes; waits at most the lock timeout."""
    pg.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", [name])


def _prepare_schema(store: PostgresStore) -> None:
    """Apply pending migrations, one process at a time; a role that may not gets a clear error."""
    if schema_is_current(store):
        return
    _take_lock(store.pg, _SCHEMA_LOCK)
    try:
        apply_migrations(store)
    except ServerError as error:
        if error.sqlstate != _INSUFFICIENT_PRIVILEGE:
            raise
        raise DatabaseUnusable(
            f"{store.target} has no sessionstats tables yet, and role {store.target.user!r} may not make them; "
            "the database's owner runs 'sessionstats init-db --db URL' once (see 'Team setup' in the README)"
        ) from None
    finally:
        store.pg.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [_SCHEMA_LOCK])


def _attached_duckdb(target: PostgresTarget) -> Any:
    """An in-memory DuckDB with the server's `public` schema attached read-only and in use."""
    import duckdb

    con = duckdb.connect(config={"extension_directory": str(_extension_folder()),
                                 "autoinstall_known_extensions": False})
    try:
        con.execute("LOAD postgres")
    except duckdb.Error:  # first use: install it from the duckdb-extension-postgres wheel
        from duckdb_extensions import import_extension

        import_extension("postgres", con=con)
        con.execute("LOAD postgres")
    con.execute("SET enable_progress_bar_print = false")  # DuckDB's bar would reach stdout after 2 s
    con.execute("SET pg_use_ctid_scan = false")  # one filtered query per table, which can use the indexes
    # ATTACH takes no parameters: the connection string is quoted as a literal (it holds no password).
    conninfo = " ".join(f"{key}='{_libpq_quote(value)}'" for key, value in _connection_params(target).items())
    con.execute(f"ATTACH '{conninfo.replace(chr(39), chr(39) * 2)}' AS pg (TYPE postgres, SCHEMA 'public', READ_ONLY)")
    con.execute("USE pg")
    return con


def _extension_folder() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("sessionstats", appauthor=False) / "duckdb-extensions"


def _libpq_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|\$[A-Za-z_]\w*")


def _for_server(sql: str, params: Params) -> tuple[str, list[Any]]:
    """The statement with DuckDB's `?` and `$name` placeholders as the server's `$1`, `$2`, ..."""
    if not isinstance(params, Mapping):
        values = list(params)
        numbers = iter(range(1, len(values) + 1))
        return (_TOKENS.sub(lambda m: f"${next(numbers)}" if m.group() == "?" else m.group(), sql), values)
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        token = match.group()
        if not token.startswith("$"):
            return token  # a quoted literal or name, kept as it is
        if token[1:] not in names:
            names.append(token[1:])
        return f"${names.index(token[1:]) + 1}"

    return (_TOKENS.sub(number, sql), [params[name] for name in names])


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
