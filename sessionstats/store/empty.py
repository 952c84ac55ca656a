"""A read where no database has been made yet (no file, or a server database without our tables): an empty
database in memory answers it, so reports come out empty and nothing is created."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager

import duckdb

from sessionstats.errors import NoDatabaseYet, SessionNotFound, SessionStatsWarning
from sessionstats.store.base import Store
from sessionstats.store.duckdb_home import quiet
from sessionstats.store.migrations import apply_migrations


@contextmanager
def no_database_yet(location: str) -> Iterator[Store]:
    """An empty database at the latest schema, in memory; a session asked for is not found, saying why."""
    with closing(quiet(duckdb.connect(":memory:"))) as con:
        store = Store(con, location, writable=False)
        apply_migrations(store)
        store.exists = False
        try:
            yield store
        except SessionNotFound as error:
            raise NoDatabaseYet(error.session_id, location) from None
    warnings.warn(f"there is no database at {location} yet (a command that records makes it)", SessionStatsWarning,
                  stacklevel=3)
