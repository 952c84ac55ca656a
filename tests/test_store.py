"""Where the database lives, how it is created and migrated, and when it is refused."""

import fcntl
import os
import stat
import sys

import duckdb
import pytest
from children import blocked_on_flock, wait_until
from conftest import Cli, db_argument, execute_in, table_of
from typer.testing import CliRunner

from sessionstats.cli import app
from sessionstats.store.migrations import LATEST_VERSION


def test_default_database_is_created_owner_only_in_the_data_directory(tmp_path):
    from typer.testing import CliRunner

    from sessionstats.cli import app

    result = CliRunner().invoke(app, ["new", "x", "--user", "alice"])
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "xdg-data" / "sessionstats"
    db = folder / "sessionstats.duckdb"
    assert db.exists()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_db_comes_from_the_environment(tmp_path):
    path = tmp_path / "env.duckdb"
    from typer.testing import CliRunner

    from sessionstats.cli import app

    result = CliRunner().invoke(app, ["new", "--id", "e", "--user", "u"], env={"SESSIONSTATS_DB": str(path)})
    assert result.exit_code == 0
    assert table_of(path, "SELECT id FROM sessions") == [("e",)]


def test_migrations_are_numbered_and_recorded(cli):
    cli.ok("new")
    rows = table_of(cli.db, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert [v for v, _ in rows] == list(range(1, LATEST_VERSION + 1))
    assert rows[0][1] == "m001_sessions_stories_tokens"


@pytest.mark.file_only
def test_a_version_3_database_gains_the_1_hour_cache_write_column_as_zero(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "2", "--cache-write", "3")
    con = duckdb.connect(str(cli.db))
    try:  # back to schema 3, as a database written before the column existed
        con.execute("ALTER TABLE token_usage DROP COLUMN cache_write_1h_tokens")
        for table in ("token_usage", "story_history"):  # and what later migrations added
            con.execute(f"ALTER TABLE {table} DROP COLUMN sorted")
        con.execute("DROP TABLE sorted_rows")
        con.execute("DELETE FROM schema_migrations WHERE version > 3")
    finally:
        con.close()
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "2", "--cache-write", "5",
           "--cache-write-1h", "4")
    assert table_of(cli.db, "SELECT cache_write_tokens, cache_write_1h_tokens FROM token_usage "
                            "ORDER BY cache_write_tokens") == [(3, 0), (5, 4)]
    assert table_of(cli.db, "SELECT max(version) FROM schema_migrations") == [(LATEST_VERSION,)]


def test_a_database_from_a_newer_schema_is_refused(cli):
    cli.ok("new", "--id", "s")
    execute_in(cli.db, "INSERT INTO schema_migrations VALUES (999, 'm999_future', now()::TIMESTAMP)")
    for args in (("show", "s"), ("record-story", "-s", "s", "--title", "t")):
        result = cli(*args)
        assert result.exit_code == 4
        assert "newer sessionstats (schema 999" in result.stderr
        assert result.stderr.count("\n") == 1


@pytest.mark.file_only
def test_a_file_that_is_not_a_database_is_refused(cli):
    cli.db.write_text("just some notes\n" * 100)
    result = cli("show", "s")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"sessionstats: cannot use the database at {cli.db}")
    assert cli.db.read_text() == "just some notes\n" * 100


def test_a_db_path_in_a_missing_folder_is_refused(tmp_path):
    cli = Cli(tmp_path / "missing" / "stats.duckdb")
    result = cli("new", "x")
    assert result.exit_code == 4
    assert result.stderr == f"sessionstats: cannot open the database at {cli.db}: its folder does not exist\n"
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_db_path_in_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    result = Cli(folder / "stats.duckdb")("new", "x")
    assert result.exit_code == 4


@pytest.mark.file_only
def test_a_busy_database_fails_after_the_lock_timeout_with_exit_4(cli):
    cli.ok("new", "--id", "s")
    holder = open(f"{cli.db}.lock", "w")  # noqa: SIM115
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        result = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1",
                     env={"SESSIONSTATS_LOCK_TIMEOUT": "0.3"})
        assert result.exit_code == 4
        assert "stayed busy past the lock timeout" in result.stderr
        assert result.stdout == ""
        reader = cli("show", "s", env={"SESSIONSTATS_LOCK_TIMEOUT": "0.2"})
        assert reader.exit_code == 4
    finally:
        holder.close()
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]


def test_a_bad_lock_timeout_is_a_usage_error(cli):
    result = cli("list", env={"SESSIONSTATS_LOCK_TIMEOUT": "soon"})
    assert result.exit_code == 2
    assert "SESSIONSTATS_LOCK_TIMEOUT" in result.stderr


@pytest.mark.file_only
def test_readers_share_the_lock(cli):
    cli.ok("new", "--id", "s")
    holder = open(f"{cli.db}.lock", "w")  # noqa: SIM115
    fcntl.flock(holder, fcntl.LOCK_SH)
    try:
        assert cli("show", "s", "--format", "json", env={"SESSIONSTATS_LOCK_TIMEOUT": "1"}).exit_code == 0
    finally:
        holder.close()


@pytest.mark.file_only
def test_the_process_waits_for_the_lock_and_then_records(cli, db, spawn):
    cli.ok("new", "--id", "s")
    holder = open(f"{db}.lock", "w")  # noqa: SIM115
    fcntl.flock(holder, fcntl.LOCK_EX)
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    waiting = spawn(sys.executable, "-m", "sessionstats", "record-tokens", "-s", "s", "--input", "1", "--output", "1",
                    env=env)
    try:  # it waits (in flock, not failing or polling) for as long as the lock is held
        wait_until(lambda: blocked_on_flock(waiting.pid), waiting, "waiting for the lock")
    finally:
        holder.close()
    out, err = waiting.finish(timeout=30)
    assert waiting.returncode == 0, err
    assert table_of(db, "SELECT id FROM token_usage") == [(out.strip(),)]


def test_init_db_creates_or_checks_the_database_and_says_where(db):
    for _ in range(2):  # the second time there is nothing to do
        result = CliRunner().invoke(app, ["init-db", "--db", db_argument(db)])
        assert (result.exit_code, result.stdout) == (0, "")
        assert result.stderr == f"sessionstats: the database at {db_argument(db)} is ready (schema {LATEST_VERSION})\n"
    assert table_of(db, "SELECT max(version) FROM schema_migrations") == [(LATEST_VERSION,)]
