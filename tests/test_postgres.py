"""What only a shared PostgreSQL server has: roles, row-level security, many machines, a server that goes away.

Everything else runs against the server too: every test that takes `db` runs once per backend.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest
from children import wait_until
from conftest import TEMPLATE_DB, Cli, PgDatabase, db_argument, snapshot, table_of
from pg_cluster import OWNER, PASSWORD, PASSWORD_ROLE, Cluster
from test_concurrency import READ_LOOP, check_whole, results_of_all, start, start_writer
from typer.testing import CliRunner

from sessionstats.cli import app
from sessionstats.store.migrations import _PROVENANCE_COLUMNS as PROVENANCE
from sessionstats.store.migrations import LATEST_VERSION


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


def test_the_recommended_setup_lets_no_role_but_a_superuser_read_anothers_rows(pg_cluster):
    """The README's team setup, step by step: an owner without CREATEROLE, NOLOGIN once the tables exist."""
    owner, name = f"owner_{time.monotonic_ns()}", f"team_{time.monotonic_ns()}"
    with pg_cluster.connect() as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN")
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 OWNER {owner}")
    team = PgDatabase(pg_cluster, name)
    try:
        ready = CliRunner().invoke(app, ["init-db", "--db", pg_cluster.url(owner, name)])
        assert ready.exit_code == 0, ready.stderr
        for role in ("alice", "bob"):
            Cli(team, role).ok("record-tokens", "-s", "s", "--create", "--input", "1", "--output", "1")
        with pg_cluster.connect(name, user=owner) as by_owner:
            for attempt in ("GRANT alice TO {owner}", "ALTER ROLE alice PASSWORD 'taken'", "SET ROLE alice",
                            "CREATE ROLE spy LOGIN", "ALTER ROLE {owner} CREATEROLE"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    by_owner.execute(attempt.format(owner=owner))
            assert by_owner.execute("SELECT count(*) FROM token_usage").fetchone() == (0,)
            with by_owner.transaction():  # what the owner can still do while it can log in: own the tables
                by_owner.execute("ALTER TABLE token_usage NO FORCE ROW LEVEL SECURITY")
                assert by_owner.execute("SELECT count(*) FROM token_usage").fetchone() == (2,)
                raise psycopg.Rollback()
        with pg_cluster.connect() as admin:
            admin.execute(f"ALTER ROLE {owner} NOLOGIN")  # the README's last step
        with pytest.raises(psycopg.OperationalError, match="is not permitted to log in"):
            pg_cluster.connect(name, user=owner)
        with as_role(team, "alice") as alice:
            for attempt in ("SET ROLE bob", f"SET ROLE {owner}", "ALTER ROLE bob PASSWORD 'taken'",
                            "GRANT bob TO alice", "ALTER TABLE token_usage NO FORCE ROW LEVEL SECURITY"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    alice.execute(attempt)
            alice.execute("SET ROLE sessionstats_member")  # the group's own identity owns no one's rows
            assert alice.execute("SELECT count(*) FROM token_usage").fetchone() == (0,)
        assert table_of(team, "SELECT user_id FROM token_usage ORDER BY user_id") == [("alice",), ("bob",)]
    finally:
        pg_cluster.drop_database(name)
        with pg_cluster.connect() as admin:
            admin.execute(f"DROP ROLE {owner}")


def test_a_member_sees_row_count_estimates_of_the_tables_but_no_values_of_others(recorded):
    """What the README says a member can still learn: how many rows the tables hold, roughly."""
    with recorded.cluster.connect(recorded.name) as admin:
        admin.execute("ANALYZE")
    with as_role(recorded, "bob") as bob, holding_the_writer_lock(recorded):
        assert bob.execute("SELECT reltuples FROM pg_class WHERE relname = 'token_usage'").fetchone() == (1,)
        assert bob.execute("SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'token_usage'").fetchone() == (1,)
        assert bob.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'token_usage'").fetchone() == (0,)
        assert bob.execute("SELECT count(*) FROM token_usage").fetchone() == (0,)
        seen = bob.execute("SELECT a.usename, a.application_name, a.query, a.client_addr, a.backend_start, l.mode "
                           "FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                           "WHERE l.relation = 'writer_locks'::regclass AND l.granted ORDER BY l.mode").fetchall()
        assert seen == [("alice", "", "<insufficient privilege>", None, None, mode)  # who and how, not SQL or times
                        for mode in ("RowExclusiveLock", "RowShareLock")]


def test_a_role_cannot_act_as_another_user(recorded):
    result = CliRunner().invoke(app, ["show", "a", "--db", recorded.url("alice"), "--user", "bob"])
    assert result.exit_code == 2
    assert result.stderr == ("sessionstats: --user: on PostgreSQL you are the database role 'alice'; to record as "
                             "'bob', connect as that role (postgresql://bob@...)\n")


def test_a_member_cannot_set_up_a_new_database_but_its_owner_can(pg_cluster):
    name = f"fresh_{time.monotonic_ns()}"
    pg_cluster.create_database(name)
    try:
        member = Cli(PgDatabase(pg_cluster, name))("new", "--id", "s")
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


def test_a_member_on_an_older_schema_is_told_the_owner_must_upgrade_it_and_nothing_changes(pg):
    with pg.cluster.connect(pg.name) as admin:  # as the database was before the latest migration (m007)
        admin.execute("ALTER TABLE token_usage " + ", ".join(f"DROP COLUMN {name}" for name, _ in PROVENANCE))
        admin.execute("ALTER TABLE token_usage DROP CONSTRAINT token_usage_cost_source_check")
        admin.execute("ALTER TABLE token_usage ADD CONSTRAINT token_usage_cost_source_check "
                      "CHECK (cost_source IN ('given', 'estimated', 'unknown'))")
        admin.execute(f"DELETE FROM schema_migrations WHERE version = {LATEST_VERSION}")
    before = snapshot(pg)
    result = Cli(pg)("new", "--id", "n")
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"sessionstats: {pg.url()} has the sessionstats tables of schema {LATEST_VERSION - 1}, this "
        f"sessionstats needs {LATEST_VERSION}, and role 'alice' may not upgrade them; the database's owner "
        "runs 'sessionstats init-db --db URL' (see 'Team setup' in the README)\n")
    assert snapshot(pg) == before
    done = CliRunner().invoke(app, ["init-db", "--db", pg.cluster.url(OWNER, pg.name)])
    assert done.exit_code == 0, done.stderr
    assert Cli(pg).ok("new", "--id", "n") == "n\n"


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


def busy_message(pg: PgDatabase, seconds: str = "0.5") -> str:
    return (f"sessionstats: another connection held a lock on a table of {pg.url()} past the lock timeout "
            f"({seconds} s); try again, or raise SESSIONSTATS_LOCK_TIMEOUT (pg_locks shows who holds it)\n")


@contextmanager
def holding_the_writer_lock(pg: PgDatabase, role: str = "alice") -> Iterator[psycopg.Connection]:
    """Another command of `role`, as the tool takes its lock: its own row of writer_locks, FOR UPDATE."""
    holder = as_role(pg, role)
    try:
        holder.execute("BEGIN")  # ended by closing the connection, not a commit: a test may stop the server
        holder.execute("INSERT INTO writer_locks DEFAULT VALUES ON CONFLICT DO NOTHING")
        holder.execute("SELECT 1 FROM writer_locks WHERE user_id = current_user FOR UPDATE")
        yield holder
    finally:
        holder.close()


def run_as(pg: PgDatabase, role: str, *args: str, timeout: str = "0.5") -> subprocess.CompletedProcess:
    """The CLI as a process of its own (a hang ends in a test failure, not a stuck suite)."""
    env = {**os.environ, "SESSIONSTATS_DB": pg.url(role), "SESSIONSTATS_LOCK_TIMEOUT": timeout}
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("seconds", ["1e10", "0", "0.0001"])
def test_any_lock_timeout_the_file_accepts_works_on_the_server_too(recorded, seconds):
    """The server's lock_timeout stops at 2^31-1 ms: a larger wait is that one, not a refused connection."""
    env = {"SESSIONSTATS_LOCK_TIMEOUT": seconds}
    assert Cli(recorded).ok("record-tokens", "-s", "a", "--input", "1", "--output", "1", env=env)
    assert Cli(recorded)("show", "a", "--format", "json", env=env).exit_code == 0


def test_a_busy_writer_lock_fails_after_the_lock_timeout_with_exit_4_and_writes_nothing(recorded):
    before = snapshot(recorded)
    with holding_the_writer_lock(recorded):
        result = Cli(recorded)("record-tokens", "-s", "a", "--input", "1", "--output", "1",
                               env={"SESSIONSTATS_LOCK_TIMEOUT": "0.5"})
        assert Cli(recorded, "bob").ok("new", "--id", "b2")  # another role's writes do not wait for Alice's
        assert Cli(recorded).json("show", "a")["api_calls"] == 1  # nor do her own reports
    assert result.exit_code == 4
    assert result.stderr == (f"sessionstats: another command of role 'alice' kept writing to {recorded.url()} past "
                             "the lock timeout (0.5 s); try again, or raise SESSIONSTATS_LOCK_TIMEOUT\n")
    assert snapshot(recorded)[2] == before[2]


def test_another_role_can_neither_take_nor_block_your_writer_lock(recorded):
    """Everything a member may try on the lock table: each is refused, or leaves Alice's writes alone."""
    with as_role(recorded, "bob") as bob, bob.transaction():
        bob.execute("SELECT pg_advisory_lock(hashtextextended('sessionstats writer alice', 0))")  # the old lock
        assert bob.execute("SELECT user_id FROM writer_locks FOR UPDATE").fetchall() == [("bob",)]  # his own
        assert bob.execute("UPDATE writer_locks SET user_id = user_id WHERE user_id = 'alice'").rowcount == 0
        for attempt, refusal in [
            ("INSERT INTO writer_locks VALUES ('alice')", "row-level security"),
            ("DELETE FROM writer_locks", "permission denied"),
            ("TRUNCATE writer_locks", "permission denied"),
            ("LOCK TABLE writer_locks IN ACCESS EXCLUSIVE MODE", "permission denied"),
            ("LOCK TABLE writer_locks IN EXCLUSIVE MODE", "permission denied"),
            ("LOCK TABLE writer_locks IN SHARE MODE", "permission denied"),
            ("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE", "permission denied"),  # every command reads it
        ]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refusal), bob.transaction():
                bob.execute(attempt)
        bob.execute("LOCK TABLE writer_locks IN ROW EXCLUSIVE MODE")  # the strongest lock left to Bob
        written = run_as(recorded, "alice", "record-tokens", "-s", "a", "--input", "7", "--output", "1")
    assert (written.returncode, written.stderr) == (0, "")
    assert Cli(recorded).json("show", "a")["api_calls"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["list"], ["show", "a"], ["show", "a", "--by", "model"], ["timeline", "a"], ["check", "a", "--max-cost", "1"],
    ["export", "a", "--to", "{tmp}/out.csv"], ["import", "tokens", "{tmp}/rows.jsonl", "--create-sessions"],
    ["record-tokens", "-s", "a", "--input", "1", "--output", "1"], ["new", "--id", "n"], ["delete", "a", "--yes"],
])
def test_a_table_another_role_locks_fails_every_command_within_the_lock_timeout(recorded, command, tmp_path):
    """Any member may LOCK a table it may change (PostgreSQL allows it): the others' commands give up, not hang."""
    (tmp_path / "rows.jsonl").write_text('{"session_id": "i", "input_tokens": 1, "output_tokens": 2}\n')
    before = snapshot(recorded)
    with as_role(recorded, "bob") as bob, bob.transaction():
        bob.execute("LOCK TABLE token_usage, sessions, story_history IN ACCESS EXCLUSIVE MODE")
        result = run_as(recorded, "alice", *(part.format(tmp=tmp_path) for part in command))
    assert (result.returncode, result.stdout) == (4, ""), result.stderr
    assert result.stderr == busy_message(recorded)
    assert snapshot(recorded) == before


@pytest.mark.slow
def test_ctrl_c_on_a_waiting_command_ends_it_and_its_wait_on_the_server(recorded):
    """Before, a command in a lock wait ignored Ctrl-C until the wait ended, and its server process waited on."""
    env = {**os.environ, "SESSIONSTATS_DB": recorded.url(), "SESSIONSTATS_LOCK_TIMEOUT": "300"}
    waiting_for_lock = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sessionstats' "
                        "AND wait_event_type = 'Lock'")
    # a connection of its own: pg_stat_activity reads the same within one transaction, the holder's
    with holding_the_writer_lock(recorded), recorded.cluster.connect(recorded.name) as observer:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "sessionstats", "record-tokens", "-s", "a", "--input", "5", "--output", "5"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while not observer.execute(waiting_for_lock).fetchone()[0]:
                assert time.monotonic() < deadline and waiting.poll() is None
                time.sleep(0.05)
            waiting.send_signal(signal.SIGINT)
            out, err = waiting.communicate(timeout=30)
            assert (waiting.returncode, out, err) == (130, "", "")
            deadline = time.monotonic() + 60
            while observer.execute(waiting_for_lock).fetchone()[0]:  # no server process left waiting
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            waiting.kill()
            waiting.communicate(timeout=30)
    assert Cli(recorded).json("show", "a")["api_calls"] == 1


def test_a_latin1_database_stores_and_shows_text_exactly_and_refuses_what_it_cannot_hold(pg_cluster):
    name = f"latin1_{time.monotonic_ns()}"
    with pg_cluster.connect() as con:
        con.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
                    f"OWNER {OWNER}")
    try:
        ready = CliRunner().invoke(app, ["init-db", "--db", pg_cluster.url(OWNER, name)])
        assert ready.exit_code == 0, ready.stderr
        alice = Cli(PgDatabase(pg_cluster, name))
        alice.ok("new", "Café über Ærø", "--id", "s1")
        assert [row["name"] for row in alice.json("list")] == ["Café über Ærø"]
        refused = alice("new", "arrow → here", "--id", "s2")
        assert (refused.exit_code, refused.stdout) == (2, "")
        assert refused.stderr.count("\n") == 1 and "has no equivalent in encoding" in refused.stderr
        assert [row["session_id"] for row in alice.json("list")] == ["s1"]
    finally:
        pg_cluster.drop_database(name)


def test_a_role_with_its_own_date_style_and_time_zone_records_and_reads_the_same_times(pg):
    pg.cluster.ensure_role("dana")
    with pg.cluster.connect() as con:
        for setting in ("DateStyle = 'SQL, DMY'", "TimeZone = 'Asia/Kolkata'"):
            con.execute(f"ALTER ROLE dana SET {setting}")
    dana = Cli(pg, "dana")
    dana.ok("new", "--id", "d")
    dana.ok("record-tokens", "-s", "d", "--input", "1", "--output", "1", "--at", "2026-03-04T05:06:07Z")
    assert table_of(pg, "SELECT created_at FROM token_usage WHERE user_id = 'dana'") == [
        (datetime(2026, 3, 4, 5, 6, 7),)]
    assert dana.json("show", "d")["first_record_at"] == "2026-03-04T05:06:07+00:00"


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
    with holding_the_writer_lock(recorded) as holder:  # the command connects, then waits for it: mid-command
        waiting = spawn(sys.executable, "-m", "sessionstats", "record-tokens", "-s", "a", "--input", "5",
                        "--output", "5", env=env)
        waiting_for_lock = "SELECT count(*) FROM pg_locks WHERE NOT granted"
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


def test_a_server_without_the_postgres_extra_says_what_to_install(db, backend, tmp_path):
    """The PostgreSQL packages are an extra: without them a postgresql:// URL is one line naming it."""
    if backend != "postgres":
        pytest.skip("about a PostgreSQL server")
    blocked = ("import sys; sys.modules['duckdb_extensions'] = None; sys.argv[0] = 'sessionstats'; "
               "from sessionstats.cli import main; main()")
    env = {**os.environ, "SESSIONSTATS_DB": db_argument(db), "XDG_CACHE_HOME": str(tmp_path / "no-extension-yet")}
    done = subprocess.run([sys.executable, "-c", blocked, "list"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 4
    assert done.stderr == ("sessionstats: a PostgreSQL database needs the postgres extra: pip install "
                           "'sessionstats[postgres]' (psycopg-binary and DuckDB's postgres extension)\n")
