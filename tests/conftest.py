"""One fixture makes a fresh database for each test, on each backend; no test touches real data.

`db` is a DuckDB file in a temporary folder, or (the same test again) a fresh database on a
throwaway PostgreSQL cluster that the test session starts itself (tests/pg_cluster.py). A test
marked `file_only` checks something only the local file has, and runs on DuckDB alone.
`SESSIONSTATS_TEST_POSTGRES`: `auto` (default: skip visibly when PostgreSQL is not installed),
`require` (CI: fail instead), or `off`.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from children import Child
from pg_cluster import OWNER, Cluster, start_cluster
from typer.testing import CliRunner

from sessionstats.cli import app

BACKENDS = ("duckdb", "postgres")
TEMPLATE_DB = "sessionstats_template"
_database_numbers = itertools.count(1)

# A suite started in the background (`bash .ci/run &`) inherits SIGINT ignored; Python then installs no
# KeyboardInterrupt handler, in itself or in the processes it starts, and the Ctrl-C tests cannot work.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "file_only: checks what only a local DuckDB file has (locks, "
                                       "permissions, the file itself); runs on that backend alone")
    config.addinivalue_line("markers", "slow: multi-process, crash, concurrency or matrix tests; "
                                       "`pytest -m 'not slow'` is the quick inner loop")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses a database runs once per backend."""
    if "backend" in metafunc.fixturenames:
        file_only = metafunc.definition.get_closest_marker("file_only") is not None
        metafunc.parametrize("backend", BACKENDS[:1] if file_only else BACKENDS)


@pytest.fixture(scope="session")
def extension_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session, so DuckDB's postgres extension is installed into it once."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extension_cache: Path) -> None:
    """No test sees the developer's own settings, data directory or agent logs (Claude Code's, llm's, Codex's...)."""
    for name in list(os.environ):
        if name.startswith(("SESSIONSTATS_", "PG")) and name != "SESSIONSTATS_TEST_POSTGRES":
            monkeypatch.delenv(name)
    for name in ("CLAUDE_CONFIG_DIR", "LLM_USER_PATH", "CODEX_HOME", "GEMINI_CLI_HOME", "QWEN_DATA_DIR", "QWEN_HOME",
                 "QWEN_RUNTIME_DIR", "OPENCODE_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # llm's logs.db is found under it
    monkeypatch.setenv("XDG_CACHE_HOME", str(extension_cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TZ", "UTC")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster with a migrated template database, for the whole session."""
    mode = os.environ.get("SESSIONSTATS_TEST_POSTGRES", "auto")
    if mode == "off":
        pytest.skip("PostgreSQL tests are off (SESSIONSTATS_TEST_POSTGRES=off)")
    try:
        cluster = start_cluster()
    except Exception as error:
        if mode == "require":
            pytest.fail(f"PostgreSQL is required (SESSIONSTATS_TEST_POSTGRES=require) but did not start: {error}")
        pytest.skip(f"PostgreSQL tests skipped: {error}")
    try:
        cluster.create_database(TEMPLATE_DB)
        result = CliRunner().invoke(app, ["init-db", "--db", cluster.url(OWNER, TEMPLATE_DB)])
        assert result.exit_code == 0, result.output
        yield cluster
    finally:
        cluster.stop()
        cluster.remove()


@dataclass(frozen=True)
class PgDatabase:
    """A test's own database on the cluster; each user is a role of the same name."""

    cluster: Cluster
    name: str

    def url(self, user: str = "alice") -> str:
        from urllib.parse import quote

        self.cluster.ensure_role(user)
        return self.cluster.url(quote(user, safe=""), self.name)

    def rows(self, sql: str) -> list[tuple]:
        """Every row the statement returns, read as the superuser (past row-level security).

        SQL that only DuckDB speaks (`GROUP BY ALL`, ...) runs in DuckDB with the database attached.
        """
        import psycopg
        from psycopg.types.string import TextLoader

        with self.cluster.connect(self.name) as con:
            con.adapters.register_loader("json", TextLoader)  # the text, as DuckDB gives it
            try:
                return con.execute(sql).fetchall()
            except (psycopg.errors.SyntaxError, psycopg.errors.UndefinedFunction):
                pass
        from sessionstats.store.postgres import _attached_duckdb
        from sessionstats.store.target import PostgresTarget

        superuser = PostgresTarget((("dbname", self.name), ("host", self.cluster.host),
                                    ("port", str(self.cluster.port)), ("user", "postgres")))
        with _attached_duckdb(superuser) as duck:
            return duck.execute(sql).fetchall()

    def exists(self) -> bool:
        return True

    def __str__(self) -> str:
        return self.url()


Database = Path | PgDatabase


@pytest.fixture
def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database: a file path (made by the first command), or a migrated database on the cluster."""
    if backend == "duckdb":
        yield tmp_path / "stats.duckdb"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    database = PgDatabase(cluster, f"test_{next(_database_numbers)}")
    cluster.create_database(database.name, template=TEMPLATE_DB)
    yield database
    cluster.drop_database(database.name)


def db_argument(db: Database, user: str = "alice") -> str:
    """What `--db` is given to act as `user` on this database."""
    return db.url(user) if isinstance(db, PgDatabase) else str(db)


class Cli:
    """Runs sessionstats in-process against one database, as one user."""

    def __init__(self, db: Database, user: str = "alice") -> None:
        self.db = db
        self.user = user
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        full = [*args, "--db", db_argument(self.db, self.user), "--user", self.user] if _takes_db(args) else list(args)
        return self.runner.invoke(app, full, input=input, env=env)

    def ok(self, *args: str, **kwargs) -> str:
        """Run, insist on exit 0 and an empty stderr, return stdout."""
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*args, "--format", "json"))

    def as_user(self, user: str) -> Cli:
        return Cli(self.db, user)


def _takes_db(args: tuple[str, ...]) -> bool:
    return bool(args) and not args[0].startswith("-")


@pytest.fixture
def cli(db: Database) -> Cli:
    return Cli(db)


@pytest.fixture
def run_process(db: Database) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m sessionstats` as a real process against the test database."""

    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        user = (env or {}).get("SESSIONSTATS_USER", "alice")
        full_env = {**os.environ, "SESSIONSTATS_DB": db_argument(db, user), "SESSIONSTATS_USER": user, **(env or {})}
        text = not isinstance(input, bytes)
        return subprocess.run([sys.executable, "-m", "sessionstats", *args], input=input, env=full_env,
                              capture_output=True, text=text, timeout=timeout)

    return run


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start a long-lived child (`spawn(*argv, env=...)`); whatever the test did, it is killed and reaped after.

    Name it after `db` (or `cli`): fixtures end in reverse order, so the children end before the database goes.
    """
    children: list[Child] = []

    def start(*argv: str, env: dict[str, str] | None = None) -> Child:
        children.append(Child(list(argv), env))
        return children[-1]

    yield start
    for child in children:
        child.reap()


def table_of(db: Database, sql: str) -> list[tuple]:
    """Read the database directly (for checks that a failed command wrote nothing)."""
    if isinstance(db, PgDatabase):
        return db.rows(sql)
    import duckdb

    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def execute_in(db: Database, sql: str) -> None:
    """Change the database behind the tool's back (as the superuser on PostgreSQL)."""
    if isinstance(db, PgDatabase):
        with db.cluster.connect(db.name) as con:
            con.execute(sql)
        return
    import duckdb

    con = duckdb.connect(str(db))
    try:
        con.execute(sql)
    finally:
        con.close()


def snapshot(db: Database) -> tuple[list[tuple], ...]:
    """Every row of every table, to compare before and after a command that must write nothing."""
    return tuple(
        sorted(table_of(db, f"SELECT * FROM {name}"), key=repr) for name in ("sessions", "story_history", "token_usage")
    ) if db.exists() else ()


def replace(args, option, value):
    """The command with `option` given `value` instead (added when absent)."""
    args = list(args)
    if option in args:
        args[args.index(option) + 1] = value
        return args
    return [*args, option, value]


@pytest.fixture(scope="module")
def radio_db(tmp_path_factory):
    """The hand-built 'radio' session of tests/insight_data.py, built once per module."""
    from insight_data import build_radio, template

    return template(tmp_path_factory, build_radio)


@pytest.fixture
def radio(cli, radio_db):
    """A copy of the 'radio' database for one test."""
    from insight_data import copy_into

    return copy_into(radio_db, cli)
