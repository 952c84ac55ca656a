"""The schema, as numbered migrations recorded in the database itself.

Each migration is a small named function `mNNN_what`; they run in order, each
in its own transaction, and `schema_migrations` remembers which ran. The same
migrations build a PostgreSQL database, where each table also gets row-level
security: a role sees and changes only its own rows, whatever SQL it sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sessionstats.errors import DatabaseUnusable
from sessionstats.store.base import PlainSQL
from sessionstats.times import utc_now

if TYPE_CHECKING:
    from sessionstats.store.base import Store

MEMBER_ROLE = "sessionstats_member"  # on PostgreSQL, the roles that may record and report
Migration = Callable[["Store"], None]
MIGRATIONS: list[Migration] = []


def migration(step: Migration) -> Migration:
    """Register a migration; its number is the digits after the leading `m`."""
    expected = len(MIGRATIONS) + 1
    if _version_of(step) != expected:
        raise RuntimeError(f"migration {step.__name__} is out of order (expected {expected})")
    MIGRATIONS.append(step)
    return step


def _version_of(step: Migration) -> int:
    return int(step.__name__[1:4])


@migration
def m001_sessions_stories_tokens(con: Store) -> None:
    # Sessions are keyed by (user_id, id) so one user's ids never collide with,
    # or reveal, another's; the child tables carry user_id for the same reason.
    id_type = _id_type(con)
    con.execute(f"""
        CREATE TABLE sessions (
            user_id    {id_type} NOT NULL,
            id         {id_type} NOT NULL,
            name       TEXT,
            settings   JSON,
            status     TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'live', 'ended')),
            created_at TIMESTAMP NOT NULL,
            started_at TIMESTAMP,
            ended_at   TIMESTAMP,
            PRIMARY KEY (user_id, id)
        )
    """)
    con.execute(f"""
        CREATE TABLE story_history (
            id         {id_type} NOT NULL,
            user_id    {id_type} NOT NULL,
            session_id {id_type} NOT NULL,
            title      TEXT NOT NULL,
            narrative  TEXT,
            tone       TEXT,
            priority   TEXT,
            word_count BIGINT NOT NULL CHECK (word_count >= 0),
            duration   DOUBLE PRECISION CHECK (duration >= 0),
            created_at TIMESTAMP NOT NULL
        )
    """)
    con.execute(f"""
        CREATE TABLE token_usage (
            id                 {id_type} NOT NULL,
            user_id            {id_type} NOT NULL,
            session_id         {id_type} NOT NULL,
            story_id           {id_type},
            model              TEXT,
            input_tokens       BIGINT NOT NULL CHECK (input_tokens >= 0),
            output_tokens      BIGINT NOT NULL CHECK (output_tokens >= 0),
            cache_read_tokens  BIGINT NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
            cache_write_tokens BIGINT NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
            total_tokens       BIGINT NOT NULL,
            estimated_cost     DECIMAL(38, 18) CHECK (estimated_cost >= 0),
            cost_source        TEXT NOT NULL CHECK (cost_source IN ('given', 'estimated', 'unknown')),
            request_id         {id_type},
            created_at         TIMESTAMP NOT NULL
        )
    """)
    for table in ("sessions", "story_history", "token_usage"):
        _owner_only(con, table)
    if con.dialect == "postgres":  # the server reads one session's rows through these; files measured faster without
        con.execute("CREATE INDEX story_history_session ON story_history (user_id, session_id)")
        con.execute("CREATE INDEX token_usage_session ON token_usage (user_id, session_id, request_id)")


@migration
def m002_token_provider(con: Store) -> None:
    # The provider a model was priced at (`--provider`), so `reprice` prices it the same way again.
    con.execute("ALTER TABLE token_usage ADD COLUMN provider TEXT")


@migration
def m003_import_files(con: Store) -> None:
    # How far each log file was read by a user's history import, so a re-run reads only what was added.
    con.execute(f"""
        CREATE TABLE import_files (
            user_id  {_id_type(con)} NOT NULL,
            source   TEXT NOT NULL,
            path     TEXT NOT NULL,
            size     BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL,
            read_to  BIGINT NOT NULL,
            read_at  TIMESTAMP NOT NULL
        )
    """)
    _owner_only(con, "import_files")


@migration
def m004_cache_write_1h(con: Store) -> None:
    # Of cache_write_tokens, how many were 1-hour writes (Anthropic prices them above 5-minute ones); the
    # total and cache_write_tokens keep their meaning. DuckDB cannot add a column with constraints, so
    # NOT NULL comes after, and "at most cache_write_tokens" (a CHECK it cannot add at all) is enforced
    # where records are written (records.py, importing/tokens.py, history/claude_code.py).
    con.execute("ALTER TABLE token_usage ADD COLUMN cache_write_1h_tokens BIGINT DEFAULT 0")
    con.execute("ALTER TABLE token_usage ALTER COLUMN cache_write_1h_tokens SET NOT NULL")


@migration
def m005_sorted_runs(con: Store) -> None:
    # A file's records are rewritten in session order a run at a time (store/runs.py): `sorted` marks the
    # rows already rewritten; `sorted_rows.settled_rows` now holds the unsorted rows a failed sort set aside
    # (it first held the sorted count, which `delete` put wrong; runs.py reads an older value safely).
    # Older rows start unsorted and are sorted over the next writes. A server reads sessions by index.
    # No NOT NULL: DuckDB 1.5.5 refuses it in a transaction on a BOOLEAN column just added to a filled table.
    if con.dialect == "postgres":
        return
    for table in ("token_usage", "story_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN sorted BOOLEAN DEFAULT false")
    con.execute("CREATE TABLE sorted_rows (table_name TEXT NOT NULL, settled_rows BIGINT NOT NULL)")
    con.execute("INSERT INTO sorted_rows VALUES ('token_usage', 0), ('story_history', 0)")


@migration
def m006_writer_locks(con: Store) -> None:
    # On PostgreSQL a writing command holds its role's row here FOR UPDATE (store/postgres.py): no other role
    # can see that row, nor (without DELETE or UPDATE on the table) LOCK the table, so none can block the writes
    # of another, as any role could with the advisory lock this replaces.
    if con.dialect != "postgres":
        return
    con.execute(f"CREATE TABLE writer_locks (user_id {_id_type(con)} PRIMARY KEY DEFAULT current_user)")
    _row_security(con, "writer_locks")
    con.execute(f"GRANT SELECT, INSERT, UPDATE (user_id) ON writer_locks TO {MEMBER_ROLE}")


# What a record needs to show how its cost was made (issue 14): the billing modifiers read from the call,
# server tool fees apart, a cost the source states, the price used and the time it was taken for, and the
# part of a call (Anthropic `usage.iterations`: one row per model of one request, same request_id).
_PROVENANCE_COLUMNS = (
    ("service_tier", "TEXT"),  # as the response names it: flex, priority, batch, default...
    ("speed", "TEXT"),  # Anthropic `usage.speed`: fast is priced at a multiple
    ("tool_calls", "BIGINT DEFAULT 0"),  # server tool requests (web searches) billed per call
    ("tool_cost", "DECIMAL(38, 18)"),  # their fee, part of estimated_cost; NULL when unpriced
    ("reported_cost", "DECIMAL(38, 18)"),  # a cost the response or log states (OpenRouter, Claude Code costUSD)
    ("price_source", "TEXT"),  # genai-prices release, or the override row, that priced it
    ("price_detail", "TEXT"),  # JSON: rates applied per token kind, tier, modifiers, the estimate
    ("priced_at", "TIMESTAMP"),  # the time the price was taken for
    ("priced_at_source", "TEXT"),  # response, at or now
    ("call_part", "INTEGER DEFAULT 0"),  # 0 for a call's main row, 1.. for its other iterations
)
_COST_SOURCES = "('given', 'reported', 'estimated', 'unknown')"


@migration
def m007_price_provenance(con: Store) -> None:
    # A call is now unique per (request_id, call_part) within a session; cost_source gains 'reported'.
    # DuckDB cannot drop a CHECK, so on a file the table is rebuilt with the wider one, rows kept as they are.
    if con.dialect == "postgres":
        for name, sql_type in _PROVENANCE_COLUMNS:
            con.execute(f"ALTER TABLE token_usage ADD COLUMN {name} {sql_type}")
        con.execute("ALTER TABLE token_usage DROP CONSTRAINT token_usage_cost_source_check")
        con.execute(f"ALTER TABLE token_usage ADD CONSTRAINT token_usage_cost_source_check "
                    f"CHECK (cost_source IN {_COST_SOURCES})")
        return
    kept = [row[0] for row in con.fetchall("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'token_usage' ORDER BY ordinal_position")]
    added = ",\n".join(f"{name} {sql_type}" for name, sql_type in _PROVENANCE_COLUMNS)
    con.execute(f"""
        CREATE TABLE token_usage_v7 (
            id                    TEXT NOT NULL,
            user_id               TEXT NOT NULL,
            session_id            TEXT NOT NULL,
            story_id              TEXT,
            model                 TEXT,
            input_tokens          BIGINT NOT NULL CHECK (input_tokens >= 0),
            output_tokens         BIGINT NOT NULL CHECK (output_tokens >= 0),
            cache_read_tokens     BIGINT NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
            cache_write_tokens    BIGINT NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
            total_tokens          BIGINT NOT NULL,
            estimated_cost        DECIMAL(38, 18) CHECK (estimated_cost >= 0),
            cost_source           TEXT NOT NULL CHECK (cost_source IN {_COST_SOURCES}),
            request_id            TEXT,
            created_at            TIMESTAMP NOT NULL,
            provider              TEXT,
            cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
            sorted                BOOLEAN DEFAULT false,
            {added}
        )
    """)
    names = ", ".join(kept)
    con.execute(f"INSERT INTO token_usage_v7 ({names}) SELECT {names} FROM token_usage")
    con.execute("DROP TABLE token_usage")
    con.execute("ALTER TABLE token_usage_v7 RENAME TO token_usage")


LATEST_VERSION = len(MIGRATIONS)


def _id_type(con: Store) -> str:
    """Ids and user names compare byte for byte; on PostgreSQL that is collation "C", which DuckDB's
    filters on an attached server also name, so the indexes serve both."""
    return 'TEXT COLLATE "C"' if con.dialect == "postgres" else "TEXT"


def _create_member_role(con: Store) -> None:
    """The group role members join; made here when missing (the migrating role needs CREATEROLE then)."""
    if not con.fetchone("SELECT 1 FROM pg_roles WHERE rolname = ?", [MEMBER_ROLE]):
        con.execute(f"CREATE ROLE {MEMBER_ROLE} NOLOGIN")


def _owner_only(con: Store, table: str) -> None:
    """On PostgreSQL: members may use the table, and only ever see or touch rows with their own user_id."""
    if con.dialect != "postgres":
        return
    _row_security(con, table)
    con.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {MEMBER_ROLE}")


def _row_security(con: Store, table: str) -> None:
    """Every role, the table's owner too, sees and changes only the rows with its own user_id."""
    con.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    con.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")  # its owner too
    con.execute(f"CREATE POLICY own_rows ON {table} USING (user_id = current_user) "
                "WITH CHECK (user_id = current_user)")


# Catalog queries are PlainSQL: on a server they run there, whatever engine the store reads tables with.
# Where a database's tables are looked for: a file is ours alone, so all of it; a server's database, the schema
# in use (its other schemas are other tools' business). DuckDB's information_schema view takes ~6 ms to bind in
# a fresh process (every command asks for the columns once), its duckdb_columns() under 1 ms. On PostgreSQL
# pg_catalog, not information_schema, which hides the tables a role has no privilege on.
_MIGRATION_COLUMNS = {
    "duckdb": "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
              "AND schema_name = current_schema() AND table_name = 'schema_migrations'",
    "postgres": "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(current_schema()) "
                "|| '.schema_migrations') AND attnum > 0 AND NOT attisdropped",
}
_OTHER_TABLES = {  # tables and views beside an empty schema_migrations of ours, where a database holds only ours
    "duckdb": "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
              "AND NOT (table_schema = current_schema() AND table_name = 'schema_migrations')",
    "postgres": "SELECT count(*) FROM pg_class WHERE relnamespace = to_regnamespace(current_schema()) "
                "AND relkind IN ('r', 'p', 'v', 'm', 'f') AND relname <> 'schema_migrations'",
}


def current_version(con: Store) -> int:
    """The highest migration recorded, 0 for a database without the table; another tool's table is refused."""
    columns = {name for (name,) in con.fetchall(PlainSQL(_MIGRATION_COLUMNS[con.dialect]))}
    if not columns:
        return 0
    if columns != {"version", "name", "applied_at"}:  # e.g. Rails' or another migrator's
        raise _not_ours(con)
    row = con.fetchone(PlainSQL("SELECT coalesce(max(version), 0) FROM schema_migrations"))
    return int(row[0]) if row else 0


def writable_version(con: Store) -> int:
    """The schema a write starts from (it upgrades an older one); a newer or another tool's is refused."""
    return _checked_version(con, check_not_foreign(con))


def check_readable_schema(con: Store) -> None:
    """A read goes on only at the latest schema: it never creates or upgrades tables, so it says who does."""
    if readable_version(con) == 0:
        raise _not_made_yet(con, "no sessionstats tables yet")


def readable_version(con: Store) -> int:
    """The schema a read can use: the latest, or 0 where no table is made yet (a read answers as from an empty
    database); an older, newer or foreign one is refused, for a read never creates or upgrades tables."""
    version = _checked_version(con)
    if version == LATEST_VERSION:
        return version
    check_not_foreign(con, version)
    if version:
        raise _not_made_yet(con, f"an older schema ({version}; this sessionstats uses {LATEST_VERSION})")
    return version


def _not_made_yet(con: Store, held: str) -> DatabaseUnusable:
    return DatabaseUnusable(f"the database at {con.location} has {held}; a command that records "
                            "(or 'sessionstats init-db') brings it up to date")


def check_not_foreign(con: Store, version: int | None = None) -> int:
    """Refuse a database that holds tables but not ours: another tool's data is never initialised or read.

    Returns the schema version (`version`: when just read), for `apply_migrations` (one read per open of a file)."""
    version = current_version(con) if version is None else version
    if version == 0 and _other_tables(con):
        raise _not_ours(con)
    return version


def _not_ours(con: Store) -> DatabaseUnusable:
    remedy = ("(its schema in use holds other tables); give sessionstats a database of its own"
              if con.dialect == "postgres" else "(it holds other tables); choose another path")
    return DatabaseUnusable(f"cannot use the database at {con.location}: it is not a sessionstats database {remedy}")


def _other_tables(con: Store) -> int:
    row = con.fetchone(PlainSQL(_OTHER_TABLES[con.dialect]))
    return int(row[0]) if row else 0


def apply_migrations(con: Store, version: int | None = None) -> None:
    """Run every pending migration, each in its own transaction (`version`: the schema's, when just read)."""
    version = _checked_version(con, version)
    if version == LATEST_VERSION:
        return
    if version == 0:
        with con.transaction():  # a server's members read the table from the moment it is there
            con.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL
                )
            """)
            if con.dialect == "postgres":
                _create_member_role(con)
                con.execute(f"GRANT SELECT ON schema_migrations TO {MEMBER_ROLE}")
    for step in MIGRATIONS[version:]:
        with con.transaction():
            step(con)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [_version_of(step), step.__name__, utc_now()])


def _checked_version(con: Store, version: int | None = None) -> int:
    version = current_version(con) if version is None else version
    if version > LATEST_VERSION:
        raise DatabaseUnusable(
            f"the database was written by a newer sessionstats (schema {version}, "
            f"this one knows {LATEST_VERSION}); upgrade sessionstats to use it"
        )
    return version
