"""One store contract on both backends: what the core marks plain SQL runs as written on either engine,
the PostgreSQL store sends it (and only it) to the server, transactions behave alike, and only the
project's errors leave the store."""

import ast
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import PgDatabase, db_argument, execute_in

import sessionstats
from sessionstats.errors import DatabaseUnusable, InvalidInput
from sessionstats.ingest.records import StoryInput, TokenUsageInput, record_story, record_tokens
from sessionstats.sessions import (
    create_session,
    delete_record,
    delete_session,
    end_session,
    find_record,
    rename_session,
    require_session,
    short_ids,
    start_session,
)
from sessionstats.store import PlainSQL, open_store
from sessionstats.store.postgres import _for_server

PACKAGE = Path(sessionstats.__file__).parent
SERVER_ONLY = ("pg_has_role",)  # doctor asks a server alone about its roles


def _plain_statements() -> list[tuple[str, str]]:
    """(where, text) of every PlainSQL(...) in the package whose text its module's names make whole."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id == "PlainSQL" and node.args]
        if not calls:
            continue
        module = importlib.import_module(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for call in calls:
            try:  # a text made of the module's constants is checked; one built from a local is not
                text = eval(compile(ast.Expression(call.args[0]), str(path), "eval"), vars(module))
            except NameError:
                continue
            found.append((f"{path.name}:{call.lineno}", text))
    return found


PLAIN_STATEMENTS = _plain_statements()


def test_the_scan_finds_the_plain_statements_of_the_record_and_session_paths():
    places = {where.split(":")[0] for where, _ in PLAIN_STATEMENTS}
    assert {"sessions.py", "records.py"} <= places
    assert len(PLAIN_STATEMENTS) >= 20


def test_every_plain_statement_is_one_duckdb_runs_as_written(tmp_path):
    with open_store(tmp_path / "plain.duckdb", write=True) as store:
        for where, text in PLAIN_STATEMENTS:
            if any(name in text for name in SERVER_ONLY):
                continue
            try:
                store.execute(f"PREPARE probe AS {text}")
            except DatabaseUnusable as error:
                pytest.fail(f"{where} is marked plain SQL but DuckDB refuses it: {error}")
            store.execute("DEALLOCATE probe")


def test_every_plain_statement_is_one_postgresql_runs_as_written(pg_cluster):
    from conftest import TEMPLATE_DB

    from sessionstats.store.libpq import Connection, ServerError

    con = Connection(dict(host=pg_cluster.host, port=str(pg_cluster.port), dbname=TEMPLATE_DB, user="postgres"))
    try:
        for where, text in PLAIN_STATEMENTS:
            numbered = _for_server(text, [None] * text.count("?"))[0]
            try:
                con.execute(f"PREPARE probe AS {numbered}")
            except ServerError as error:
                pytest.fail(f"{where} is marked plain SQL but PostgreSQL refuses it: {error}")
            con.execute("DEALLOCATE probe")
    finally:
        con.close()


def test_recording_and_changing_sessions_on_postgresql_never_start_duckdb(db):
    if not isinstance(db, PgDatabase):
        pytest.skip("about the PostgreSQL store")
    with open_store(db_argument(db), write=True) as store:
        create_session(store, user="alice", name="plain", session_id="s1")
        start_session(store, "s1", user="alice")
        story = record_story(store, StoryInput(session_id="s1", title="Dawn", narrative="one two"), user="alice")
        record_tokens(store, TokenUsageInput(session_id="s1", input_tokens=1, output_tokens=2, request_id="r1"),
                      user="alice")
        record_tokens(store, TokenUsageInput(session_id="new", input_tokens=3, output_tokens=4), user="alice",
                      create=True)
        rename_session(store, "s1", "plainer", user="alice")
        end_session(store, "s1", user="alice")
        assert short_ids(store, ["s1"], user="alice") == {"s1": "s1"}
        delete_record(store, find_record(store, story.id, user="alice").id, user="alice")
        assert delete_session(store, "new", user="alice")[2] == 1
        assert require_session(store, "plainer", user="alice").status == "ended"
        assert store.con is None  # DuckDB (and its postgres extension) was never loaded


def test_a_rolled_back_transaction_keeps_neither_plain_writes_nor_a_write_helpers_rows(db):
    with open_store(db_argument(db), write=True) as store:
        with pytest.raises(ZeroDivisionError), store.transaction():
            create_session(store, user="alice", session_id="kept-not")
            store.insert_select("sessions", ["id", "user_id", "settings", "status", "created_at"],
                                "SELECT 'helper' AS id, $user AS user_id, '{}' AS settings, 'idle' AS status, "
                                "TIMESTAMP '2026-01-01' AS created_at", {"user": "alice"})
            _ = 1 / 0
        assert store.fetchall(PlainSQL("SELECT id FROM sessions")) == []


def test_a_write_helper_inside_a_transaction_joins_it_on_both_backends(db):
    with open_store(db_argument(db), write=True) as store:
        with store.transaction():
            create_session(store, user="alice", session_id="first")
            store.insert_select("sessions", ["id", "user_id", "settings", "status", "created_at"],
                                "SELECT 'second' AS id, $user AS user_id, '{}' AS settings, 'idle' AS status, "
                                "TIMESTAMP '2026-01-01' AS created_at", {"user": "alice"})
        assert store.fetchall(PlainSQL("SELECT id FROM sessions ORDER BY id")) == [("first",), ("second",)]


def test_a_duckdb_error_leaves_the_store_as_database_unusable_naming_it(db):
    refused = pytest.raises(DatabaseUnusable, match=r"^(database error|cannot use the PostgreSQL database .*?): "
                                                     r"Catalog Error: Scalar Function with name no_such_function")
    with refused, open_store(db_argument(db), write=True) as store:
        store.execute("SELECT no_such_function(1)")


def test_a_value_the_server_cannot_take_leaves_the_store_as_invalid_input(db):
    if not isinstance(db, PgDatabase):
        pytest.skip("about the PostgreSQL server")
    with pytest.raises(InvalidInput, match="cannot store a value given"), \
            open_store(db_argument(db), write=True) as store:
        store.execute(PlainSQL("SELECT CAST(? AS INTEGER)"), ["not a number"])


def test_the_store_lets_the_cores_own_errors_pass_unchanged(db):
    with pytest.raises(InvalidInput, match=r"^mine$"), open_store(db_argument(db), write=True):
        raise InvalidInput("mine")


def test_ctrl_c_inside_a_duckdb_query_leaves_the_store_as_keyboard_interrupt(db):
    with pytest.raises(KeyboardInterrupt), open_store(db_argument(db)) as store:
        timer = threading.Timer(0.3, os.kill, [os.getpid(), signal.SIGINT])
        timer.start()
        try:
            store.execute("SELECT count(*) FROM range(20000000000) AS t(i) WHERE i % 7 = 3").fetchall()  # no overflow
        finally:
            timer.cancel()


def test_a_plain_statement_is_still_text():
    statement = PlainSQL("SELECT 1")
    assert statement == "SELECT 1" and isinstance(statement, str)
    with duckdb.connect() as con:  # DuckDB's own client takes it as it is
        assert con.execute(statement).fetchone() == (1,)


@pytest.mark.file_only
def test_a_warm_process_that_recorded_leaves_the_file_free_and_whole_for_another_process(db, tmp_path):
    session = sessionstats.connect(db, user="alice").new_session(id="warm")
    session.record_tokens(1200, 350, cost="0.0089")
    assert not Path(f"{db}.wal").exists()  # checkpointed as the unit of work ended
    child = subprocess.run([sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
                            "con.execute(\"UPDATE sessions SET name = 'from another process'\"); con.close()", str(db)],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr  # DuckDB's own lock is free: this process holds nothing
    assert session.stats().name == "from another process"


@pytest.mark.file_only
def test_a_temporary_table_ends_with_its_unit_of_work(db):
    for _ in range(2):  # the second would fail if the first one's table were still there
        with open_store(db, write=True) as store:
            store.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS n")
            assert store.fetchall("SELECT n FROM scratch") == [(1,)]


@pytest.mark.slow
def test_threads_of_one_process_recording_at_once_all_land(db):
    database = sessionstats.connect(db_argument(db) if isinstance(db, PgDatabase) else db, user="alice")
    session = database.new_session(id="threads")

    def record(thread: int) -> None:
        for call in range(15):
            session.record_tokens(thread, call, cost="0.001", request_id=f"req-{thread}-{call}")

    workers = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    stats = session.stats()
    assert (stats.api_calls, stats.total_cost) == (60, Decimal("0.060"))


def test_replacing_rows_is_all_or_nothing_on_both_backends(db):
    with open_store(db_argument(db), write=True) as store:
        create_session(store, user="alice", name="old", session_id="a")
    replacing = ("SELECT 'a' AS id, $user AS user_id, 'new' AS name, '{}' AS settings, NULL AS status, "
                 "TIMESTAMP '2026-01-01' AS created_at")  # no status: the insert after the delete fails
    with pytest.raises(DatabaseUnusable), open_store(db_argument(db), write=True) as store:
        store.replace_rows("sessions", ["user_id", "id"], ["id", "user_id", "name", "settings", "status", "created_at"],
                           replacing, {"user": "alice"})
    with open_store(db_argument(db)) as store:
        assert require_session(store, "a", user="alice").name == "old"  # the delete was undone with it


@pytest.mark.slow
@pytest.mark.file_only
def test_ctrl_c_at_any_moment_of_a_report_ends_it_quietly_with_130(cli, spawn):
    """The store hands Ctrl-C inside a DuckDB query up as KeyboardInterrupt; the CLI says nothing and exits 130."""
    cli.ok("new", "--id", "big")
    execute_in(cli.db, """INSERT INTO token_usage (id, user_id, session_id, input_tokens, output_tokens, total_tokens,
                          cost_source, created_at) SELECT i::TEXT, 'alice', 'big', 1, 1, 2, 'unknown',
                          TIMESTAMP '2026-01-01' FROM range(3000000) AS t(i)""")
    env = {**os.environ, "SESSIONSTATS_DB": db_argument(cli.db), "SESSIONSTATS_USER": "alice"}
    for delay in (0.2, 0.35, 0.5, 0.7, 0.9):  # most land inside the query (130), a late one after it ends (0)
        process = spawn(sys.executable, "-m", "sessionstats", "show", "big", "--by", "day", "--format", "json",
                        env=env)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.finish(timeout=60)
        assert (process.returncode, err) in ((130, ""), (0, "")), (delay, process.returncode, err)


@pytest.mark.file_only
def test_a_database_path_with_quotes_is_attached_as_it_is_named(tmp_path):
    path = tmp_path / "it's a \"db\"; DETACH x; é.duckdb"  # ATTACH takes the path as a quoted literal
    session = sessionstats.connect(path, user="alice").new_session(id="quoted")
    session.record_tokens(1, 2, cost="0.01")
    assert session.stats().total_cost == Decimal("0.01")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, f"{path.name}.lock"]


def test_one_thread_holds_for_its_block_and_is_undone_after(db):
    sessionstats.connect(db_argument(db), "alice").new_session("s")
    with open_store(db_argument(db), write=True) as store:
        before = store.fetchone("SELECT current_setting('threads')")[0]
        with store.one_thread():
            assert store.fetchone("SELECT current_setting('threads')")[0] == 1
        with pytest.raises(ZeroDivisionError), store.one_thread():
            1 / 0  # noqa: B018  # an error in the block undoes it too
        assert store.fetchone("SELECT current_setting('threads')")[0] == before
