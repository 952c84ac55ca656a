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
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sessionstats.errors import DatabaseBusy, DatabaseUnusable, InvalidInput
from sessionstats.store.base import Params, PlainSQL, Store, lock_timeout
from sessionstats.store.libpq import Connection, ServerError, session_params
from sessionstats.store.migrations import (
    LATEST_VERSION,
    apply_migrations,
    readable_version,
    writable_version,
)
from sessionstats.store.target import POSTGRES_EXTRA, PostgresTarget

_LOCK_NOT_AVAILABLE, _INSUFFICIENT_PRIVILEGE = "55P03", "42501"  # SQLSTATEs
_MAX_TIMEOUT_MS = 2**31 - 1  # the server's largest lock_timeout (24.8 days); a larger one it refuses to connect
_DATA_EXCEPTION = "22"  # the SQLSTATE class of a value the server cannot take (e.g. not in its encoding)
_SCHEMA_LOCK = "sessionstats schema"  # an advisory lock: the owner's migrations, one process at a time


class ServerStore(Store):
    """The server alone, through libpq: every statement goes as written (migrations, which know their dialect)."""

    dialect = "postgres"

    def __init__(self, pg: Connection, target: PostgresTarget, *, writable: bool) -> None:
        super().__init__(None, str(target), writable)
        self.pg = pg
        self.target = target

    def execute(self, sql: str, params: Params = ()) -> Any:
        return self.pg.execute(*_for_server(sql, params))

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        written = self.rows_written
        with self.pg.transaction():  # a nested one raises NestedTransaction, as on DuckDB
            self.in_transaction = True
            try:
                yield self
            except BaseException:
                self.rows_written = written
                raise
            finally:
                self.in_transaction = False


class PostgresStore(ServerStore):
    """Plain SQL and writes on the server; DuckDB SQL on a DuckDB attached to the same database (made on first use)."""

    def __init__(self, pg: Connection, target: PostgresTarget, *, writable: bool) -> None:
        super().__init__(pg, target, writable=writable)
        self.in_snapshot = not writable  # a report reads one snapshot, like the file's shared lock
        self.uses_duckdb = False  # from the moment DuckDB starts, its errors can reach open_postgres

    def execute(self, sql: str, params: Params = ()) -> Any:
        if isinstance(sql, PlainSQL):
            return super().execute(sql, params)
        return self.duckdb().execute(sql, params)

    def insert_select(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any], *,
                      most_rows: int | None = None) -> int:
        names = ", ".join(columns)
        with self._atomic():
            self._ship(table, columns, select, params)
            count = self.pg.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM ss_rows").rowcount
            self.rows_written += count
        return count

    def update_from(self, table: str, columns: Sequence[str], select: str, params: Mapping[str, Any]) -> int:
        assignments = ", ".join(f"{name} = s.{name}" for name in columns)
        with self._atomic():
            self._ship(table, ["id", *columns], select, params)
            count = self.pg.execute(f"UPDATE {table} AS t SET {assignments} FROM ss_rows AS s "
                                    "WHERE t.user_id = $1 AND t.id = s.id", [params["user"]]).rowcount
            self.rows_written += count
        return count

    def replace_rows(self, table: str, keys: Sequence[str], columns: Sequence[str], select: str,
                     params: Mapping[str, Any]) -> None:
        names = ", ".join(columns)
        match = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        with self._atomic():
            self._ship(table, columns, select, params)
            self.pg.execute(f"DELETE FROM {table} AS t USING ss_rows AS s WHERE {match}")
            self.pg.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM ss_rows")

    def track_progress(self) -> None:
        self.duckdb()
        super().track_progress()

    def query_progress(self) -> float:
        return super().query_progress() if self.con is not None else -1.0

    def duckdb(self) -> Any:
        """The DuckDB connection with the server attached read-only as the default catalog (made on first use)."""
        if self.con is None:
            self.uses_duckdb = True
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
def open_postgres(target: PostgresTarget, *, write: bool, create: bool = True) -> Iterator[Store]:
    """Connect as the target's role and hold its writer lock to write; a write sets up or upgrades the schema, a
    read changes nothing (where no sessionstats table is yet, it reads an empty database, as of a missing file;
    so does a write that needs a session there already, `create=False`).

    What the server or DuckDB's attachment reports on the way out becomes the project's error."""
    store: PostgresStore | None = None
    try:
        store = PostgresStore(Connection(_connection_params(target), session_settings()), target, writable=write)
        server = ServerStore(store.pg, target, writable=write)
        version = writable_version(server) if write else readable_version(server)
        if not version and not (write and create):
            from sessionstats.store.empty import no_database_yet  # DuckDB, imported by the reads that need it

            store.close()  # nothing to read there: the server is not held while the empty answer is made
            store.uses_duckdb = True  # the empty database's DuckDB: its errors are mapped as the attachment's
            with no_database_yet(str(target)) as empty:
                yield empty
            return
        if write:
            _prepare_schema(server, version)
        with _writer_lock(target) if write else nullcontext():
            yield store
    except ServerError as error:
        raise _database_error(target, error) from None
    except Exception as error:
        mapped = _attachment_error(target, error) if store is not None and store.uses_duckdb else error
        if mapped is error:  # not DuckDB's (which never started, or did not raise it)
            raise
        raise mapped from None
    finally:
        if store is not None:
            store.close()


def _attachment_error(target: PostgresTarget, error: Exception) -> BaseException:
    """The project's error for one DuckDB's postgres attachment raised; any other error as it is."""
    from sessionstats.store.duckdb_errors import translated

    mapped = translated(error)
    if mapped is error:
        return error
    if "canceling statement due to lock timeout" in str(error):  # a read through DuckDB's attachment
        return _table_busy(target)
    if "postgres" in str(error).lower():
        return DatabaseUnusable(f"cannot use the PostgreSQL database {target}: {_first_line(error)}")
    return mapped


@contextmanager
def _writer_lock(target: PostgresTarget) -> Iterator[None]:
    """One command of a role writes at a time: it holds the role's row of `writer_locks` until it ends.

    The row is held by a connection of its own, in a transaction open for the command's length, since
    the command commits its own writes as it goes. Row-level security hides the row from other roles,
    so unlike an advisory lock no other role can take it.
    """
    lock = Connection(_connection_params(target), session_settings())
    try:
        with lock.transaction():
            try:
                lock.execute("INSERT INTO writer_locks DEFAULT VALUES ON CONFLICT DO NOTHING")
                lock.execute("SELECT 1 FROM writer_locks WHERE user_id = current_user FOR UPDATE")
            except ServerError as error:
                if error.sqlstate != _LOCK_NOT_AVAILABLE:
                    raise
                raise DatabaseBusy(f"another command of role {target.user!r} kept writing to {target} past the "
                                   f"lock timeout ({_seconds(lock_timeout())}); try again, or raise "
                                   "SESSIONSTATS_LOCK_TIMEOUT") from None
            yield
    finally:
        lock.close()


def _database_error(target: PostgresTarget, error: ServerError) -> Exception:
    if error.sqlstate == _LOCK_NOT_AVAILABLE:
        return _table_busy(target)
    if error.sqlstate == _INSUFFICIENT_PRIVILEGE:
        return DatabaseUnusable(f"role {target.user!r} may not do this in {target}: {_first_line(error)} "
                                "(see 'Team setup' in the README for the roles and grants)")
    if error.sqlstate.startswith(_DATA_EXCEPTION):
        return InvalidInput(f"the PostgreSQL database {target} cannot store a value given: {_first_line(error)}; "
                            "nothing was written")
    return DatabaseUnusable(f"cannot use the PostgreSQL database {target}: {_first_line(error)}")


def _table_busy(target: PostgresTarget) -> DatabaseBusy:
    """Another connection (any role may LOCK a table it may change) held a table past the lock timeout."""
    return DatabaseBusy(f"another connection held a lock on a table of {target} past the lock timeout "
                        f"({_seconds(lock_timeout())}); try again, or raise SESSIONSTATS_LOCK_TIMEOUT "
                        "(pg_locks shows who holds it)")


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _connection_params(target: PostgresTarget) -> dict[str, str]:
    params = dict(target.params)
    params.setdefault("connect_timeout", "10")
    params.setdefault("application_name", "sessionstats")
    return params


def session_settings() -> dict[str, str]:
    """Server settings of every connection a command makes, the DuckDB attachment's included.

    Every wait for a lock ends after `$SESSIONSTATS_LOCK_TIMEOUT` seconds (0: at once), as with the file;
    the writer lock's connection stays idle in its transaction for the command's length, whatever the role's
    idle timeout (which would end the lock and the connection mid-command).
    """
    milliseconds = min(max(1, round(lock_timeout() * 1000)), _MAX_TIMEOUT_MS)
    return {"lock_timeout": f"{milliseconds}ms", "idle_in_transaction_session_timeout": "0"}


def _take_lock(pg: Connection, name: str) -> None:
    """An advisory lock held until the connection closes; waits at most the lock timeout."""
    pg.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", [name])


def _prepare_schema(store: ServerStore, version: int) -> None:
    """Apply pending migrations (`version`: the schema's, just read), one process at a time; a role that may not
    gets a clear error."""
    if version == LATEST_VERSION:
        return
    _take_lock(store.pg, _SCHEMA_LOCK)
    try:
        version = writable_version(store)  # again under the lock: another process may have upgraded it
        apply_migrations(store, version)
    except ServerError as error:
        if error.sqlstate != _INSUFFICIENT_PRIVILEGE:
            raise
        found = (f"has the sessionstats tables of schema {version}, this sessionstats needs {LATEST_VERSION}, "
                 f"and role {store.target.user!r} may not upgrade them" if version else
                 f"has no sessionstats tables yet, and role {store.target.user!r} may not make them")
        raise DatabaseUnusable(f"{store.target} {found}; the database's owner runs 'sessionstats init-db --db URL' "
                               "(see 'Team setup' in the README)") from None
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
        try:
            from duckdb_extensions import import_extension
        except ImportError:
            con.close()
            raise DatabaseUnusable(POSTGRES_EXTRA) from None
        import_extension("postgres", con=con)
        con.execute("LOAD postgres")
    con.execute("SET enable_progress_bar_print = false")  # DuckDB's bar would reach stdout after 2 s
    con.execute("SET pg_use_ctid_scan = false")  # one filtered query per table, which can use the indexes
    # ATTACH takes no parameters: the connection string is quoted as a literal (it holds no password).
    params = session_params(_connection_params(target), session_settings())
    conninfo = " ".join(f"{key}='{_libpq_quote(value)}'" for key, value in params.items())
    con.execute(f"ATTACH '{conninfo.replace(chr(39), chr(39) * 2)}' AS pg (TYPE postgres, SCHEMA 'public', READ_ONLY)")
    con.execute("USE pg")
    return con


def _extension_folder() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("sessionstats", appauthor=False) / "duckdb-extensions"


def _libpq_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|\$[A-Za-z_]\w*")


def _for_server(sql: str, params: Params) -> tuple[str, list[Any], list[str] | None]:
    """The statement with DuckDB's `?` and `$name` placeholders as the server's `$1`, `$2`, ...,
    its values, and their names when it has names."""
    if not isinstance(params, Mapping):
        values = list(params)
        numbers = iter(range(1, len(values) + 1))
        return (_TOKENS.sub(lambda m: f"${next(numbers)}" if m.group() == "?" else m.group(), sql), values, None)
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        token = match.group()
        if not token.startswith("$"):
            return token  # a quoted literal or name, kept as it is
        if token[1:] not in names:
            names.append(token[1:])
        return f"${names.index(token[1:]) + 1}"

    numbered = _TOKENS.sub(number, sql)
    return (numbered, [params[name] for name in names], names)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
