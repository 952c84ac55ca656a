"""What only a shared PostgreSQL server has: roles, row-level security, many machines, a server that goes away.

Everything else runs against the server too: every test that takes `db` runs once per backend.
"""

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from children import wait_until
from conftest import TEMPLATE_DB, Cli, PgDatabase, snapshot, table_of
from pg_cluster import OWNER, PASSWORD, PASSWORD_ROLE, Cluster
from test_concurrency import READ_LOOP, check_whole, results_of_all, start, start_writer
from typer.testing import CliRunner

from sessionstats.cli import app
from sessionstats.migrations import LATEST_VERSION


@pytest.fixture
def pg(pg_cluster: Cluster) -> Iterator[PgDatabase]:
    """A fresh migrated database on the test cluster."""
    database = PgDatabase(pg_cluster, f"pg_{time.monotonic_ns()}")
    pg_cluster.create_database(database.name, template=TEMPLATE_DB)
    yield database
    pg_cluster.drop_database(database.name)


@pytest.fixture
def recorded(pg: PgDatabase) -> PgDatabase:
    """Alice has session `a` with a story and a token record; Bob has his own `b`."""
    alice = Cli(pg)
    alice.ok("new", "--id", "a")
    alice.ok("record-story", "-s", "a", "--title", "Fog", "--narrative", "one two three", "--id", "st")
    alice.ok("record-tokens", "-s", "a", "--input", "100", "--output", "20", "--cost", "0.5", "--request-id", "r")
    Cli(pg, "bob").ok("new", "--id", "b")
    return pg


def as_role(pg: PgDatabase, role: str) -> psycopg.Connection:
    pg.cluster.ensure_role(role)
    return pg.cluster.connect(pg.name, user=role)


def test_another_role_cannot_read_change_or_delete_your_rows_even_with_raw_sql(recorded):
    before = snapshot(recorded)
    with as_role(recorded, "bob") as bob:
        for table in ("sessions", "story_history", "token_usage", "import_files"):
            assert bob.execute(f"SELECT * FROM {table} WHERE user_id = 'alice'").fetchall() == []
        assert [row[0] for row in bob.execute("SELECT id FROM sessions").fetchall()] == ["b"]
        assert bob.execute("UPDATE token_usage SET input_tokens = 0").rowcount == 0
        assert bob.execute("UPDATE sessions SET name = 'mine now' WHERE id = 'a'").rowcount == 0
        assert bob.execute("DELETE FROM story_history").rowcount == 0
        assert bob.execute("DELETE FROM sessions WHERE user_id = 'alice'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            bob.execute("INSERT INTO token_usage (id, user_id, session_id, input_tokens, output_tokens, total_tokens, "
                        "cost_source, created_at) VALUES ('x', 'alice', 'a', 1, 1, 2, 'unknown', now())")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            bob.execute("UPDATE sessions SET user_id = 'alice' WHERE id = 'b'")  # handing rows over is refused too
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("ALTER TABLE token_usage DISABLE ROW LEVEL SECURITY")
    assert snapshot(recorded) == before


def test_the_owner_role_is_held_to_its_own_rows_too(recorded):
    with as_role(recorded, OWNER) as owner:
        assert owner.execute("SELECT count(*) FROM token_usage").fetchone() == (0,)


def test_a_role_cannot_act_as_another_user(recorded):
    result = CliRunner().invoke(app, ["show", "a", "--db", recorded.url("alice"), "--user", "bob"])
    assert result.exit_code == 2
    assert result.stderr == ("sessionstats: --user: on PostgreSQL you are the database role 'alice'; to record as "
                             "'bob', connect as that role (postgresql://bob@...)\n")


def test_a_member_cannot_set_up_a_new_database_but_its_owner_can(pg_cluster):
    name = f"fresh_{time.monotonic_ns()}"
    pg_cluster.create_database(name)
    try:
        member = Cli(PgDatabase(pg_cluster, name))("list")
        assert member.exit_code == 4 and member.stderr.count("\n") == 1
        assert "has no sessionstats tables yet, and role 'alice' may not make them" in member.stderr
        assert "sessionstats init-db --db URL" in member.stderr
        owner_url = pg_cluster.url(OWNER, name)
        for _ in range(2):  # the second time there is nothing to do, and no error
            done = CliRunner().invoke(app, ["init-db", "--db", owner_url])
            assert (done.exit_code, done.stdout) == (0, ""), done.stderr
            assert done.stderr == f"sessionstats: the database at {owner_url} is ready (schema {LATEST_VERSION})\n"
        assert Cli(PgDatabase(pg_cluster, name)).ok("list", "--format", "json") == "[]\n"
    finally:
        pg_cluster.drop_database(name)


def test_a_password_in_the_url_is_refused_without_repeating_it(pg):
    url = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@{pg.cluster.host}:{pg.cluster.port}/{pg.name}"
    for args in (["list", "--db", url], ["record-tokens", "-s", "a", "--input", "1", "--output", "1", "--db", url]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert result.stderr == ("sessionstats: --db: a password in the URL would show in process lists and shell "
                                 "history; put it in PGPASSWORD or ~/.pgpass instead\n")
        assert PASSWORD not in result.output


def test_the_password_comes_from_pgpassword_or_pgpass_and_never_shows(pg, tmp_path, monkeypatch):
    url = pg.cluster.url(PASSWORD_ROLE, pg.name)
    carol = Cli(pg, PASSWORD_ROLE)
    refused = carol("new", "--id", "c")
    assert refused.exit_code == 4 and refused.stderr.count("\n") == 1
    assert f"cannot use the PostgreSQL database {url}" in refused.stderr
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    carol.ok("new", "--id", "c")
    monkeypatch.setenv("PGPASSWORD", "wrong")
    wrong = carol("show", "c")
    assert wrong.exit_code == 4 and "password authentication failed" in wrong.stderr and "wrong" not in wrong.stderr
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "home" / ".pgpass"
    pgpass.parent.mkdir(exist_ok=True)
    pgpass.write_text(f"{pg.cluster.host}:{pg.cluster.port}:*:{PASSWORD_ROLE}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    assert carol.json("show", "c")["session_id"] == "c"  # the report path: DuckDB's attachment reads it too


def test_a_busy_writer_lock_fails_after_the_lock_timeout_with_exit_4_and_writes_nothing(recorded):
    before = snapshot(recorded)
    with as_role(recorded, "alice") as holder:
        holder.execute("SELECT pg_advisory_lock(hashtextextended('sessionstats writer alice', 0))")
        result = Cli(recorded)("record-tokens", "-s", "a", "--input", "1", "--output", "1",
                               env={"SESSIONSTATS_LOCK_TIMEOUT": "0.5"})
        assert Cli(recorded, "bob").ok("new", "--id", "b2")  # another role's writes do not wait for Alice's
    assert result.exit_code == 4
    assert result.stderr == (f"sessionstats: the PostgreSQL database {recorded.url()} stayed busy past the lock "
                             "timeout; try again, or raise SESSIONSTATS_LOCK_TIMEOUT\n")
    assert snapshot(recorded)[2] == before[2]


@pytest.mark.slow
def test_thirty_two_processes_from_four_machines_lose_nothing_and_fail_nothing(pg, tmp_path, spawn):
    """32 writer processes (4 machines x 8, each its own role) record at once while two roles report."""
    roles = [f"m{machine}w{worker}" for machine in range(4) for worker in range(8)]
    calls = 6
    for role in roles:
        Cli(pg, role).ok("new", "--id", "s0")
    stop = tmp_path / "stop"
    readers = [start(spawn, READ_LOOP, pg.url(role), role, str(stop)) for role in roles[:2]]
    plans = [[["record-tokens", "-s", "s0", "--db", pg.url(role), "--input", "1", "--output", "2",
               "--cost", "0.001", "--request-id", f"{role}c{i}"] if i % 2 == 0 else
              ["record-story", "-s", "s0", "--db", pg.url(role), "--title", f"{role}c{i}",
               "--narrative", "one two three"]
              for i in range(calls)] for role in roles]
    runs, reads_by_reader = results_of_all([start_writer(spawn, plan) for plan in plans], readers, stop)
    reads = [run for runs_of_one in reads_by_reader for run in runs_of_one]

    assert [run for run in runs + reads if run["code"] != 0 or run["err"]] == []
    printed = Counter(run["out"].strip() for run in runs)
    assert len(printed) == len(roles) * calls
    every_id = "SELECT id FROM token_usage UNION ALL SELECT id FROM story_history"
    stored = Counter(row[0] for row in table_of(pg, every_id))
    assert stored == printed  # each acknowledged id exactly once, and nothing else
    assert len(reads) >= 4
    for read in reads:
        figures = json.loads(read["out"], parse_float=Decimal)
        for stats in figures if isinstance(figures, list) else [figures]:
            check_whole(stats)
    for role in roles:
        mine = Cli(pg, role).json("show", "s0")
        figures = (mine["api_calls"], mine["story_count"], mine["total_tokens"])
        assert figures == (calls // 2, calls // 2, 3 * calls // 2)


def test_server_gone_mid_command_exits_4_naming_the_host_and_the_next_command_succeeds(recorded, spawn):
    cluster = recorded.cluster
    before = snapshot(recorded)
    env = {**os.environ, "SESSIONSTATS_DB": recorded.url(), "SESSIONSTATS_USER": "alice",
           "SESSIONSTATS_LOCK_TIMEOUT": "60"}
    with as_role(recorded, "alice") as holder:  # the command connects, then waits for this lock: mid-command
        holder.execute("SELECT pg_advisory_lock(hashtextextended('sessionstats writer alice', 0))")
        waiting = spawn(sys.executable, "-m", "sessionstats", "record-tokens", "-s", "a", "--input", "5",
                        "--output", "5", env=env)
        waiting_for_lock = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        wait_until(lambda: holder.execute(waiting_for_lock).fetchone()[0], waiting, "waiting for the lock", 30)
        cluster.stop()
    try:
        out, err = waiting.finish(timeout=30)
        assert (waiting.returncode, out) == (4, "")
        assert err.count("\n") == 1
        assert err.startswith(f"sessionstats: cannot use the PostgreSQL database {recorded.url()}")
        unreachable = Cli(recorded)("show", "a")
        assert unreachable.exit_code == 4 and unreachable.stderr.count("\n") == 1
        assert f"{cluster.host}:{cluster.port}" in unreachable.stderr
    finally:
        cluster.start()
    assert snapshot(recorded) == before  # nothing half-written
    assert Cli(recorded).ok("record-tokens", "-s", "a", "--input", "5", "--output", "5")
    assert Cli(recorded).json("show", "a")["api_calls"] == 2


def test_an_unreachable_port_exits_4_naming_the_host(pg_cluster):
    url = f"postgresql://alice@127.0.0.1:1/{TEMPLATE_DB}"
    result = CliRunner().invoke(app, ["list", "--db", url])
    assert result.exit_code == 4 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"sessionstats: cannot use the PostgreSQL database {url}: ")
    assert "127.0.0.1" in result.stderr


@pytest.mark.slow
def test_an_import_killed_at_random_moments_leaves_all_of_its_rows_or_none(pg, pg_cluster, tmp_path, spawn):
    """SIGKILL of the client mid-import: the server rolls the whole transaction back, or it had committed."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"session_id": f"s{i % 20}", "input_tokens": 1, "output_tokens": 2,
                                        "request_id": f"r{i}"}) + "\n" for i in range(50_000)))
    command = [sys.executable, "-m", "sessionstats", "import", "tokens", str(rows), "--create-sessions"]
    spare = PgDatabase(pg_cluster, f"{pg.name}_timing")
    pg_cluster.create_database(spare.name, template=TEMPLATE_DB)
    started = time.monotonic()
    subprocess.run(command, env={**os.environ, "SESSIONSTATS_DB": spare.url()}, check=True, capture_output=True,
                   timeout=300)
    one_run = time.monotonic() - started
    pg_cluster.drop_database(spare.name)
    env = {**os.environ, "SESSIONSTATS_DB": pg.url()}
    for delay in (0.3, 0.55, 0.8, 0.95):
        process = spawn(*command, env=env)
        time.sleep(one_run * delay)
        process.kill()
        counts = table_of(pg, "SELECT (SELECT count(*) FROM token_usage), (SELECT count(*) FROM sessions)")
        assert counts in ([(0, 0)], [(50_000, 20)])
        if counts == [(50_000, 20)]:
            break
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)  # after the kills too
    assert finished.returncode == 0, finished.stderr
    assert Cli(pg).json("show", "s0")["api_calls"] == 2_500


def test_a_url_libpq_cannot_read_is_a_usage_error_that_writes_nothing():
    result = CliRunner().invoke(app, ["record-tokens", "-s", "a", "--input", "1", "--output", "1",
                                      "--db", "postgresql://%zz@host/db"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "sessionstats: --db: not a PostgreSQL URL (postgresql://USER@HOST:PORT/DBNAME)\n"
