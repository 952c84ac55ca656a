"""What `--db` (or `$SESSIONSTATS_DB`) names: a DuckDB file, or a PostgreSQL server's database."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.validate import check_id, check_text

DB_FILE_NAME = "sessionstats.duckdb"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POSTGRES_EXTRA = ("a PostgreSQL database needs the postgres extra: pip install 'sessionstats[postgres]' "
                  "(psycopg-binary and DuckDB's postgres extension)")


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL database as libpq keywords; never a password (libpq reads PGPASSWORD or ~/.pgpass)."""

    params: tuple[tuple[str, str], ...]

    @property
    def user(self) -> str:
        """The role every command acts as: sessions belong to it."""
        return dict(self.params)["user"]

    @property
    def server(self) -> str:
        """Host and port, for messages."""
        keywords = dict(self.params)
        host = keywords.get("host") or os.environ.get("PGHOST") or "localhost"
        port = keywords.get("port") or os.environ.get("PGPORT") or "5432"
        return f"{host}:{port}"

    def __str__(self) -> str:
        name = dict(self.params).get("dbname") or os.environ.get("PGDATABASE") or self.user
        return f"postgresql://{self.user}@{self.server}/{name}"


def resolve_target(db: str | None) -> Path | PostgresTarget:
    """`--db`, else `$SESSIONSTATS_DB`, else the default file (whose folder the first write makes: see open_store)."""
    chosen = db if db is not None else os.environ.get("SESSIONSTATS_DB") or None
    if chosen is None:
        return default_db_path()
    if not chosen.strip():  # `--db "$UNSET"` must not quietly fall back to the default database
        raise InvalidInput("db: the database path is empty", field="db")
    if chosen.startswith(POSTGRES_SCHEMES):
        return postgres_target(chosen)
    path = Path(check_text(chosen, "db")).expanduser()
    if chosen.endswith(("/", os.sep)) and not path.is_dir():  # Path drops the slash: 'new/' became a FILE 'new'
        raise InvalidInput(f"db: {chosen!r} names a folder; give the database file's path, such as "
                           f"{str(path / 'sessionstats.duckdb')!r}", field="db")
    return path


def resolve_owner(user: str | None, target: Path | PostgresTarget | None) -> str:
    """Whose sessions these are: `user`, else $SESSIONSTATS_USER, else the login name; on PostgreSQL the role
    itself, for the server enforces it (another user there means connecting as that role)."""
    chosen = user if user is not None else os.environ.get("SESSIONSTATS_USER") or None
    if isinstance(target, PostgresTarget):
        if chosen is not None and chosen != target.user:
            raise InvalidInput(f"user: on PostgreSQL you are the database role {target.user!r}; to record as "
                               f"{chosen!r}, connect as that role (postgresql://{chosen}@...)", field="user")
        return check_id(target.user, "user")
    if chosen is None:
        try:
            chosen = getpass.getuser()
        except (KeyError, OSError):
            raise InvalidInput("user: cannot tell who you are: pass `user` or set SESSIONSTATS_USER",
                               field="user") from None
    return check_id(chosen, "user")


def default_db_path() -> Path:
    """`sessionstats.duckdb` in the user's data directory (platformdirs)."""
    from platformdirs import user_data_path

    return user_data_path("sessionstats", appauthor=False) / DB_FILE_NAME


def postgres_target(url: str) -> PostgresTarget:
    """Read a `postgresql://USER@HOST:PORT/DBNAME` URL; refuse one that carries a password."""
    from sessionstats.store.libpq import ServerError, parse_conninfo

    try:
        params = parse_conninfo(check_text(url, "db"))
    except ServerError:  # never repeat the URL: it may hold a password
        raise InvalidInput("db: not a PostgreSQL URL (postgresql://USER@HOST:PORT/DBNAME)", field="db") from None
    if "password" in params:
        raise InvalidInput("db: a password in the URL would show in process lists and shell history; "
                           "put it in PGPASSWORD or ~/.pgpass instead", field="db")
    params["user"] = str(params.get("user") or os.environ.get("PGUSER") or getpass.getuser())
    return PostgresTarget(tuple(sorted((key, str(value)) for key, value in params.items())))
