"""A read of a PostgreSQL database creates and changes nothing, as a read of a file does.

Where the database holds no sessionstats table yet a read answers as from an empty database, with the file's
warning; an older schema is refused in the file's one line (exit 4), a newer one and another tool's tables
too, and the server is left exactly as it was: its tables, roles, grants and schema_migrations rows.
Writes still set up and upgrade the schema. Real processes on the throwaway cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PgDatabase
from pg_cluster import OWNER, Cluster
from typer.testing import CliRunner

import sessionstats
from sessionstats.cli import app
from sessionstats.errors import DatabaseUnusable, RecordNotFound, SessionNotFound, SessionStatsWarning
from sessionstats.store import migrations
from sessionstats.store.libpq import Connection
from sessionstats.store.migrations import LATEST_VERSION
from sessionstats.store.postgres import ServerStore
from sessionstats.store.target import postgres_target

READS = [("show", "s"), ("list",), ("list", "--format", "json"), ("stories", "s"), ("calls", "s"),
         ("timeline", "s"), ("compare", "s", "t"), ("check", "s", "--max-cost", "1"),
         ("export", "--to", "OUT/usage.csv"), ("export", "--what", "stats", "--to", "OUT/stats.jsonl"),
         ("explain", "--session", "s"), ("explain", "no-such-record"), ("reprice", "--all", "--dry-run")]
# Writes that need a session or record there already: where there is no database they find nothing, as a read.
NEEDING_ONE = [("record-tokens", "-s", "s", "--input", "1", "--output", "2"),
               ("record-story", "-s", "s", "--title", "t"), ("rename", "s", "x"), ("start", "s"), ("end", "s"),
               ("delete", "s", "--yes"), ("delete-record", "r", "--yes"), ("reprice", "--all")]
# What a read of a missing file answers: 0 with the empty result, or 1 for a session or record it asks for.
EMPTY_ANSWER = {"list": 0, "export": 0, "reprice": 0}


@pytest.fixture
def empty_pg(pg_cluster: Cluster) -> Iterator[PgDatabase]:
    """A new database on the cluster, owned by the owner role, with no table in it."""
    database = PgDatabase(pg_cluster, f"empty_{time.monotonic_ns()}")
    pg_cluster.create_database(database.name)
    yield database
    pg_cluster.drop_database(database.name)


def server_state(pg: PgDatabase) -> dict[str, list[tuple]]:
    """Everything a read must leave as it was, as the superuser sees it."""
    with pg.cluster.connect(pg.name) as con:
        state = {
            "relations": "SELECT n.nspname, c.relname, c.relkind, c.relacl::text FROM pg_class c "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN "
                         "('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2",
            "tables": "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                      "('pg_catalog', 'information_schema') ORDER BY 1, 2",
            "roles": "SELECT rolname, rolcanlogin FROM pg_roles ORDER BY 1",
            "schemas": "SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1",
            "policies": "SELECT tablename, policyname FROM pg_policies ORDER BY 1, 2",
        }
        found = {name: con.execute(sql).fetchall() for name, sql in state.items()}
        if con.execute("SELECT to_regclass('public.schema_migrations')").fetchone() != (None,):
            found["schema_migrations"] = con.execute("SELECT * FROM schema_migrations ORDER BY 1").fetchall()
        return found


def sessionstats_as(pg: PgDatabase, *args: str, user: str = "alice") -> subprocess.CompletedProcess:
    """`python -m sessionstats ARGS` as a real process, acting as `user` on the database."""
    return sessionstats_at(pg.url(user), *args, user=user)


def sessionstats_at(db: str, *args: str, user: str = "alice") -> subprocess.CompletedProcess:
    env = {**os.environ, "SESSIONSTATS_DB": db, "SESSIONSTATS_USER": user}
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def with_output_in(folder: Path, command: tuple[str, ...]) -> tuple[str, ...]:
    """The command with OUT/ naming `folder`/out, made empty."""
    (folder / "out").mkdir(parents=True, exist_ok=True)
    return tuple(arg.replace("OUT/", f"{folder / 'out'}/") for arg in command)


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 4, one line on stderr containing each of `words`, nothing on stdout."""
    assert result.returncode == 4, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sessionstats: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in result.stderr, result.stderr


def build_schema(pg: PgDatabase, version: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database as an older sessionstats' `init-db` made it: the real migrations up to `version`."""
    target = postgres_target(pg.cluster.url(OWNER, pg.name))
    server = Connection(dict(target.params))
    try:
        with monkeypatch.context() as older:
            older.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:version])
            older.setattr(migrations, "LATEST_VERSION", version)
            migrations.apply_migrations(ServerStore(server, target, writable=True))
    finally:
        server.close()
    assert schema_versions(pg) == list(range(1, version + 1))


def schema_versions(pg: PgDatabase) -> list[int]:
    with pg.cluster.connect(pg.name) as con:
        return [row[0] for row in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]


def superuser_runs(pg: PgDatabase, *statements: str) -> None:
    with pg.cluster.connect(pg.name) as con:
        for sql in statements:
            con.execute(sql)


# --- No sessionstats table yet: the empty answer, nothing made ---

AS_A_READ = [*[("alice", read) for read in READS], *[(OWNER, write) for write in NEEDING_ONE]]


@pytest.mark.parametrize(("user", "command"), AS_A_READ, ids=[" ".join(command) for _, command in AS_A_READ])
def test_a_read_of_an_empty_database_answers_as_a_missing_file_does_and_makes_nothing(empty_pg, tmp_path, user,
                                                                                     command):
    """The owner's writes that need a session there make no tables either, though that role could."""
    empty_pg.url(user)
    before = server_state(empty_pg)
    on_server = sessionstats_as(empty_pg, *with_output_in(tmp_path / "pg", command), user=user)
    assert server_state(empty_pg) == before
    missing = tmp_path / "none.duckdb"
    on_file = sessionstats_at(str(missing), *with_output_in(tmp_path / "file", command), user=user)
    assert on_server.returncode == EMPTY_ANSWER.get(command[0], on_server.returncode) and on_server.returncode < 2
    assert "Traceback" not in on_server.stderr
    assert ((on_server.returncode, on_server.stdout,
             on_server.stderr.replace(empty_pg.url(user), "DB").replace("pg", "X"))
            == (on_file.returncode, on_file.stdout, on_file.stderr.replace(str(missing), "DB").replace("file", "X")))
    assert not missing.exists()


def test_list_of_an_empty_database_prints_an_empty_list_and_exactly_the_files_warning(empty_pg):
    result = sessionstats_as(empty_pg, "list", "--format", "json")
    assert (result.returncode, result.stdout) == (0, "[]\n")
    assert result.stderr == (f"sessionstats: warning: there is no database at {empty_pg.url()} yet "
                             "(a command that records makes it)\n")


def test_show_on_an_empty_database_is_not_found_and_says_there_is_no_database(empty_pg):
    result = sessionstats_as(empty_pg, "show", "s")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"sessionstats: session 's' not found: there is no database at {empty_pg.url()} yet "
                             "(a command that records, such as 'sessionstats new', makes it)\n")


def test_doctor_on_an_empty_database_says_there_are_no_tables_yet_and_makes_nothing(empty_pg):
    empty_pg.url("alice")
    before = server_state(empty_pg)
    result = sessionstats_as(empty_pg, "doctor", "--format", "json")
    assert (result.returncode, result.stderr) == (0, "")
    found = {finding["check"]: finding for finding in json.loads(result.stdout)}
    assert found["schema"] == {"check": "schema", "ok": True, "remedy": "", "detail": (
        f"no sessionstats tables in {empty_pg.url()} yet; the database's owner makes them "
        "('sessionstats init-db --db URL')")}
    assert "role" not in found  # an empty database in memory cannot say who is a member of the server's role
    assert server_state(empty_pg) == before


def test_an_export_of_an_empty_database_writes_an_empty_file_and_nothing_on_the_server(empty_pg, tmp_path):
    before = server_state(empty_pg)
    result = sessionstats_as(empty_pg, "export", "--to", str(tmp_path / "usage.jsonl"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "usage.jsonl").read_text() == ""
    assert server_state(empty_pg) == before


def test_the_owner_reading_an_empty_database_makes_nothing_though_it_could(empty_pg):
    """The role that may create the tables and the member role: a read is still not the time to."""
    empty_pg.url(OWNER)
    before = server_state(empty_pg)
    for command in (("list",), ("show", "s"), ("reprice", "--all", "--dry-run")):
        result = sessionstats_as(empty_pg, *command, user=OWNER)
        assert "there is no database at" in result.stderr, result.stderr
    assert server_state(empty_pg) == before


def test_a_role_that_may_create_nothing_reads_an_empty_database_as_empty_not_as_a_privilege_error(empty_pg):
    superuser_runs(empty_pg, "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                   f"REVOKE CREATE, TEMPORARY ON DATABASE {empty_pg.name} FROM PUBLIC")
    empty_pg.url("reader")
    before = server_state(empty_pg)
    listed = sessionstats_as(empty_pg, "list", "--format", "json", user="reader")
    assert (listed.returncode, listed.stdout) == (0, "[]\n"), listed.stderr
    assert listed.stderr.count("\n") == 1 and "there is no database at" in listed.stderr
    shown = sessionstats_as(empty_pg, "show", "s", user="reader")
    assert shown.returncode == 1 and "there is no database at" in shown.stderr
    assert server_state(empty_pg) == before
    made = sessionstats_as(empty_pg, "new", "--id", "s", user="reader")  # a write says who can make them
    refused(made, "has no sessionstats tables yet, and role 'reader' may not make them")
    assert server_state(empty_pg) == before


def test_the_python_apis_reads_of_an_empty_database_answer_empty_and_make_nothing(empty_pg, tmp_path):
    database = sessionstats.connect(empty_pg.url(), "alice")
    before = server_state(empty_pg)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert database.list_sessions() == []
        assert database.export(tmp_path / "usage.csv") == 0
        assert database.reprice(dry_run=True).changed == 0
        assert database.short_ids(["s"]) == {"s": "s"}
        for read in (lambda: database.compare("s", "t"), lambda: database.session("s").stats(),
                     lambda: database.session("s").stories(), lambda: database.session("s").calls(),
                     lambda: database.session("s").info()):
            with pytest.raises(SessionNotFound, match="there is no database at"):
                read()
        with pytest.raises(RecordNotFound):  # as on a missing file: a record is not a session
            database.find_record("r")
    assert {str(w.message) for w in seen if issubclass(w.category, SessionStatsWarning)} == {
        f"there is no database at {empty_pg.url()} yet (a command that records makes it)"}
    assert server_state(empty_pg) == before


def test_an_empty_schema_migrations_a_stopped_setup_left_reads_as_empty_and_the_next_init_db_completes_it(empty_pg):
    """A setup stopped between its first step (the table, readable by members) and the first migration."""
    superuser_runs(empty_pg, f"SET ROLE {OWNER}", "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                                                  "name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)",
                   "GRANT SELECT ON schema_migrations TO sessionstats_member")
    before = server_state(empty_pg)
    listed = sessionstats_as(empty_pg, "list", "--format", "json")
    assert (listed.returncode, listed.stdout) == (0, "[]\n"), listed.stderr
    assert server_state(empty_pg) == before
    assert CliRunner().invoke(app, ["init-db", "--db", empty_pg.cluster.url(OWNER, empty_pg.name)]).exit_code == 0
    assert schema_versions(empty_pg) == list(range(1, LATEST_VERSION + 1))


def test_a_write_after_the_empty_read_sets_up_the_database_as_before(empty_pg):
    assert sessionstats_as(empty_pg, "list").returncode == 0
    assert CliRunner().invoke(app, ["init-db", "--db", empty_pg.cluster.url(OWNER, empty_pg.name)]).exit_code == 0
    assert sessionstats_as(empty_pg, "new", "--id", "s").stdout == "s\n"
    shown = sessionstats_as(empty_pg, "list", "--format", "json")
    assert shown.returncode == 0 and shown.stderr == "" and '"session_id": "s"' in shown.stdout


# --- An older schema: the file's one line, nothing upgraded ---

@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_a_read_of_an_older_schema_is_refused_in_the_files_one_line_and_upgrades_nothing(empty_pg, tmp_path,
                                                                                        monkeypatch, command):
    build_schema(empty_pg, LATEST_VERSION - 1, monkeypatch)
    empty_pg.url("alice")
    before = server_state(empty_pg)
    result = sessionstats_as(empty_pg, *with_output_in(tmp_path, command))
    refused(result)
    assert result.stderr == (f"sessionstats: the database at {empty_pg.url()} has an older schema "
                             f"({LATEST_VERSION - 1}; this sessionstats uses {LATEST_VERSION}); a command that "
                             "records (or 'sessionstats init-db') brings it up to date\n")
    assert server_state(empty_pg) == before
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("version", range(1, LATEST_VERSION))
def test_a_read_of_every_older_schema_by_its_owner_upgrades_nothing_and_a_write_then_does(empty_pg, monkeypatch,
                                                                                         version):
    build_schema(empty_pg, version, monkeypatch)
    before = server_state(empty_pg)
    for command in (("list",), ("show", "s"), ("reprice", "--all", "--dry-run")):
        refused(sessionstats_as(empty_pg, *command, user=OWNER), f"has an older schema ({version}; ")
    assert server_state(empty_pg) == before
    done = sessionstats_as(empty_pg, "new", "--id", "s", user=OWNER)
    assert done.returncode == 0, done.stderr
    assert schema_versions(empty_pg) == list(range(1, LATEST_VERSION + 1))


def test_the_python_apis_read_of_an_older_schema_is_refused_and_upgrades_nothing(empty_pg, monkeypatch):
    build_schema(empty_pg, LATEST_VERSION - 1, monkeypatch)
    before = server_state(empty_pg)
    database = sessionstats.connect(empty_pg.cluster.url(OWNER, empty_pg.name))
    for read in (database.list_sessions, lambda: database.session("s").stats()):
        with pytest.raises(DatabaseUnusable, match=rf"an older schema \({LATEST_VERSION - 1}; "):
            read()
    assert server_state(empty_pg) == before


def test_a_newer_schema_is_refused_by_a_read_and_left_as_it_was(empty_pg, monkeypatch):
    build_schema(empty_pg, LATEST_VERSION, monkeypatch)
    superuser_runs(empty_pg, "INSERT INTO schema_migrations VALUES (999, 'm999_future', now())")
    empty_pg.url("alice")
    before = server_state(empty_pg)
    for command in (("list",), ("show", "s")):
        refused(sessionstats_as(empty_pg, *command), "newer sessionstats (schema 999")
    assert server_state(empty_pg) == before


# --- Another tool's tables: refused, never read as ours nor built beside ---

FOREIGN = {
    "a table": ["CREATE TABLE public.events (day DATE, visits INTEGER)"],
    "a view": ["CREATE VIEW public.visits AS SELECT 1 AS n"],
    "a table the role may not even see": ["CREATE TABLE public.secrets (x INTEGER)",
                                          "REVOKE ALL ON public.secrets FROM PUBLIC"],
    "another migrator's schema_migrations": ["CREATE TABLE public.schema_migrations (version TEXT PRIMARY KEY)",
                                             "INSERT INTO public.schema_migrations VALUES ('20260101120000')"],
    "a table beside our empty schema_migrations": [
        "CREATE TABLE public.schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TIMESTAMP NOT NULL)", "GRANT SELECT ON public.schema_migrations TO PUBLIC",
        "CREATE TABLE public.events (x INTEGER)"],
}


@pytest.mark.parametrize("case", list(FOREIGN))
def test_a_database_with_another_tools_tables_is_refused_by_reads_and_writes_and_left_as_it_was(empty_pg, case):
    superuser_runs(empty_pg, *FOREIGN[case])
    empty_pg.url("alice")
    before = server_state(empty_pg)
    for command in (("list",), ("show", "s"), ("new", "--id", "s")):
        result = sessionstats_as(empty_pg, *command)
        refused(result)
        assert result.stderr == (f"sessionstats: cannot use the database at {empty_pg.url()}: it is not a "
                                 "sessionstats database (its schema in use holds other tables); give sessionstats "
                                 "a database of its own\n")
    refused(sessionstats_as(empty_pg, "init-db", user=OWNER), "not a sessionstats database")
    assert server_state(empty_pg) == before


def test_another_tools_tables_in_another_schema_are_not_in_the_way(empty_pg):
    """Only the schema in use is sessionstats': a team's database may hold other schemas."""
    superuser_runs(empty_pg, "CREATE SCHEMA analytics", "CREATE TABLE analytics.events (x INTEGER)")
    listed = sessionstats_as(empty_pg, "list", "--format", "json")
    assert (listed.returncode, listed.stdout) == (0, "[]\n"), listed.stderr
    assert "there is no database at" in listed.stderr
    assert CliRunner().invoke(app, ["init-db", "--db", empty_pg.cluster.url(OWNER, empty_pg.name)]).exit_code == 0
    assert sessionstats_as(empty_pg, "new", "--id", "s").stdout == "s\n"


def test_a_role_outside_the_member_group_reading_a_set_up_database_is_told_so_in_one_line(empty_pg, monkeypatch):
    """Not 'no tables yet' nor 'not a sessionstats database': the server's catalog shows it the tables."""
    build_schema(empty_pg, LATEST_VERSION, monkeypatch)
    superuser_runs(empty_pg, "DROP ROLE IF EXISTS outsider", "CREATE ROLE outsider LOGIN")
    before = server_state(empty_pg)
    for command in (("list",), ("show", "s")):
        refused(sessionstats_at(empty_pg.cluster.url("outsider", empty_pg.name), *command, user="outsider"),
                "role 'outsider' may not do this", "permission denied for table schema_migrations", "Team setup")
    assert server_state(empty_pg) == before


def test_the_web_panels_reads_of_an_empty_database_answer_empty_and_make_nothing(empty_pg):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from sessionstats.serve.app import build_app

    empty_pg.url("alice")
    before = server_state(empty_pg)
    with TestClient(build_app(sessionstats.connect(empty_pg.url(), "alice"))) as client:
        listed, shown = client.get("/api/sessions"), client.get("/api/sessions/s")
    assert (listed.status_code, listed.json()) == (200, [])
    assert shown.status_code == 404 and "there is no database at" in shown.json()["error"]
    assert server_state(empty_pg) == before
