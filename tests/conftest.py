"""One fixture makes a fresh database in a temporary directory; no test touches real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionstats.cli import app


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own settings or data directory."""
    for name in list(os.environ):
        if name.startswith("SESSIONSTATS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TZ", "UTC")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Path of a fresh database file (created by the first command that uses it)."""
    return tmp_path / "stats.duckdb"


class Cli:
    """Runs sessionstats in-process against one database, as one user."""

    def __init__(self, db: Path, user: str = "alice") -> None:
        self.db = db
        self.user = user
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        full = [*args, "--db", str(self.db), "--user", self.user] if _takes_db(args) else list(args)
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
def cli(db: Path) -> Cli:
    return Cli(db)


@pytest.fixture
def run_process(db: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m sessionstats` as a real process against the test database."""

    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice", **(env or {})}
        text = not isinstance(input, bytes)
        return subprocess.run([sys.executable, "-m", "sessionstats", *args], input=input, env=full_env,
                              capture_output=True, text=text, timeout=timeout)

    return run


def table_of(db: Path, sql: str) -> list[tuple]:
    """Read the database directly (for checks that a failed command wrote nothing)."""
    import duckdb

    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(db: Path) -> tuple[list[tuple], ...]:
    """Every row of every table, to compare before and after a command that must write nothing."""
    return tuple(
        table_of(db, f"SELECT * FROM {name} ORDER BY ALL") for name in ("sessions", "story_history", "token_usage")
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
