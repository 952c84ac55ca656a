"""The database behind every command: a local DuckDB file, or a shared PostgreSQL server.

`open_store(db)` picks by what `--db` names and hands the command a `Store` for its own length, with
one contract on both: a statement is DuckDB SQL unless the core marks it `PlainSQL` (SQL both engines
run as written). On PostgreSQL, plain SQL and every write go straight to the server, and DuckDB SQL
reads the server through DuckDB's postgres extension (see `store/postgres.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sessionstats.store.base import Params, PlainSQL, Store, lock_timeout
from sessionstats.store.target import PostgresTarget, default_db_path, resolve_target

__all__ = ["Params", "PlainSQL", "PostgresTarget", "Store", "lock_timeout", "open_store", "resolve_target"]


@contextmanager
def open_store(db: str | Path | PostgresTarget | None = None, *, write: bool = False,
               create: bool = True) -> Iterator[Store]:
    """Open the database for one command (`write`: under the writer's lock), creating or migrating it when needed.

    `create=False`: a write that needs a session or record already there (delete, rename, a record without
    --create) creates no database (file, or a server's tables); where there is none it finds nothing, as a
    read does.
    """
    target = db if isinstance(db, Path | PostgresTarget) else resolve_target(db)
    if isinstance(target, PostgresTarget):
        from sessionstats.store.postgres import open_postgres

        with open_postgres(target, write=write, create=create) as store:
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
        from sessionstats.ingest.journal import fold

        store.holds_journal = fold(store, target) > 0
    return store
