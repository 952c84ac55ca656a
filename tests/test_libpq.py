"""The ctypes libpq client (sessionstats/store/libpq.py) on its own, against the throwaway cluster.

What it sends and reads must not depend on the database's encoding or on settings a role may carry,
a value it cannot send is refused (never cut short), and Ctrl-C stops the statement on the server.
"""

import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import TEMPLATE_DB, PgDatabase, db_argument
from pg_cluster import SUPERUSER, Cluster

from sessionstats.errors import InvalidInput, NestedTransaction
from sessionstats.store import PlainSQL, open_store
from sessionstats.store.libpq import Connection, ServerError


def params(cluster: Cluster, dbname: str = "postgres", user: str = SUPERUSER) -> dict[str, str]:
    return {"host": cluster.host, "port": str(cluster.port), "dbname": dbname, "user": user}


@pytest.fixture
def connection(pg_cluster: Cluster) -> Iterator[Connection]:
    con = Connection(params(pg_cluster))
    yield con
    con.close()


@pytest.fixture
def latin1(pg_cluster: Cluster) -> Iterator[str]:
    """A database whose encoding is LATIN1 (a server's default may be anything)."""
    name = f"latin1_{time.monotonic_ns()}"
    with pg_cluster.connect() as con:
        con.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
    yield name
    pg_cluster.drop_database(name)


@pytest.fixture
def odd_role(pg_cluster: Cluster) -> str:
    """A role whose own defaults would change how dates, times and floats read as text."""
    with pg_cluster.connect() as con:
        if not con.execute("SELECT 1 FROM pg_roles WHERE rolname = 'odd_settings'").fetchone():
            con.execute("CREATE ROLE odd_settings LOGIN")
        for setting in ("DateStyle = 'SQL, DMY'", "TimeZone = 'Asia/Kolkata'", "extra_float_digits = -3",
                        "IntervalStyle = 'sql_standard'"):
            con.execute(f"ALTER ROLE odd_settings SET {setting}")
    return "odd_settings"


def test_text_round_trips_exactly_in_a_latin1_database(pg_cluster, latin1):
    con = Connection(params(pg_cluster, latin1))
    try:
        assert con.execute("SHOW client_encoding").rows == [("UTF8",)]
        assert con.execute("SELECT $1::text, length($1::text)", ["Café über"]).rows == [("Café über", 9)]
        con.execute("CREATE TABLE names (name TEXT)")
        con.execute("INSERT INTO names VALUES ($1)", ["Ærø"])
        assert con.execute("SELECT name, octet_length(name) FROM names").rows == [("Ærø", 3)]  # 3 LATIN1 bytes
    finally:
        con.close()
    with pg_cluster.connect(latin1) as check:  # what the server stored, read by another client
        assert check.execute("SELECT name FROM names").fetchall() == [("Ærø",)]


def test_a_character_a_latin1_database_cannot_hold_is_a_server_error_not_mangled_text(pg_cluster, latin1):
    con = Connection(params(pg_cluster, latin1))
    try:
        with pytest.raises(ServerError, match="has no equivalent in encoding") as refused:
            con.execute("SELECT $1::text", ["arrow →"])
        assert refused.value.sqlstate == "22P05"
    finally:
        con.close()


def test_dates_times_and_floats_read_the_same_whatever_the_roles_settings(pg_cluster, odd_role):
    with pg_cluster.connect() as con:
        con.execute(f"GRANT pg_read_all_settings TO {odd_role}")
    con = Connection(params(pg_cluster, user=odd_role))
    try:
        assert con.execute("SELECT current_setting('DateStyle'), current_setting('TimeZone')").rows == [
            ("ISO, MDY", "UTC")]
        row = con.execute("SELECT '2026-03-04 05:06:07.25'::timestamp, '2026-03-04 05:06:07+00'::timestamptz, "
                          "0.1::float8, 1e300::float8").rows[0]
        assert row == (datetime(2026, 3, 4, 5, 6, 7, 250000), datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
                       0.1, 1e300)
        sent = datetime(2026, 3, 4, 5, 6, 7)  # 4 March, not 3 April: the server reads ISO whatever its style
        assert con.execute("SELECT $1::timestamp, extract(month FROM $1::timestamp)", [sent]).rows == [
            (sent, Decimal(3))]
    finally:
        con.close()


def test_options_given_in_the_url_or_pgoptions_are_kept_beside_the_pinned_ones(pg_cluster, monkeypatch):
    with_options = Connection({**params(pg_cluster), "options": "-c application_name=from_url"})
    monkeypatch.setenv("PGOPTIONS", "-c application_name=from_env -c DateStyle=German")
    from_env = Connection(params(pg_cluster))
    try:
        assert with_options.execute("SHOW application_name").rows == [("from_url",)]
        assert from_env.execute("SELECT current_setting('application_name'), current_setting('DateStyle')").rows == [
            ("from_env", "ISO, DMY")]  # the order is PGOPTIONS', the style ours
    finally:
        with_options.close()
        from_env.close()


def test_pgdatestyle_and_pgtz_in_the_environment_change_nothing(pg_cluster, monkeypatch):
    monkeypatch.setenv("PGDATESTYLE", "SQL, DMY")  # libpq sends these after the options it is given
    monkeypatch.setenv("PGTZ", "America/St_Johns")
    con = Connection(params(pg_cluster))
    try:
        assert con.execute("SELECT current_setting('DateStyle'), current_setting('TimeZone'), "
                           "'2026-03-04 05:06:07+00'::timestamptz").rows == [
            ("ISO, DMY", "UTC", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))]
    finally:
        con.close()


@pytest.mark.parametrize("value", ["ab\x00cd", "\x00", "tail\x00"])
def test_text_with_a_nul_is_refused_naming_the_parameter_never_cut_short(connection, value):
    with pytest.raises(InvalidInput, match=r"^parameter \$2: contains a NUL byte$"):
        connection.execute("SELECT $1::text, $2::text", ["fine", value])
    with pytest.raises(InvalidInput, match=r"^title: contains a NUL byte$"):
        connection.execute("SELECT $1::text", [value], names=["title"])
    assert connection.execute("SELECT 1").rows == [(1,)]  # the connection is still usable


def test_text_that_is_not_unicode_is_refused_not_a_traceback(connection):
    with pytest.raises(InvalidInput, match=r"^parameter \$1: is not valid UTF-8 text$"):
        connection.execute("SELECT $1::text", ["lone \ud800 surrogate"])


def test_a_nul_sent_through_the_store_names_the_field(pg_cluster):
    database = PgDatabase(pg_cluster, TEMPLATE_DB)
    with open_store(database.url()) as store, \
            pytest.raises(InvalidInput, match=r"^name: contains a NUL byte$"):
        store.execute(PlainSQL("SELECT $name::text"), {"name": "ab\x00cd"})


@pytest.mark.parametrize("offset", [timedelta(hours=2), timedelta(hours=-9, minutes=-30), timedelta(0)])
def test_an_aware_datetime_is_stored_as_the_utc_instant_it_names(connection, offset):
    aware = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(offset))
    stored = connection.execute("SELECT $1::timestamp", [aware]).rows[0][0]
    assert stored == aware.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize("value", ["'infinity'::timestamp", "'-infinity'::timestamptz",
                                   "'0044-03-15 BC'::timestamp", "'12000-01-01'::timestamp"])
def test_a_value_python_cannot_hold_is_a_server_error_not_a_traceback(connection, value):
    with pytest.raises(ServerError, match="which has no Python value of its type"):
        connection.execute(f"SELECT {value}")


def test_a_commit_the_server_answers_with_rollback_is_an_error_and_keeps_nothing(connection):
    connection.execute("CREATE TEMP TABLE kept (n INT)")
    committing = pytest.raises(ServerError, match="rolled the transaction back instead of committing it")
    with committing as refused, connection.transaction():
        connection.execute("INSERT INTO kept VALUES (1)")
        with pytest.raises(ServerError, match="division by zero"):
            connection.execute("SELECT 1 / 0")  # a caller that swallows the failure
    assert refused.value.sqlstate == "25P02"
    assert connection.execute("SELECT count(*) FROM kept").rows == [(0,)]
    with connection.transaction():  # and the connection goes on
        connection.execute("INSERT INTO kept VALUES (2)")
    assert connection.execute("SELECT n FROM kept").rows == [(2,)]


def test_a_nested_transaction_is_a_programming_error_on_both_backends(db):
    with open_store(db_argument(db), write=True) as store:
        store.execute(PlainSQL("CREATE TEMP TABLE nested_probe (n INT)"))
        with store.transaction():
            store.execute(PlainSQL("INSERT INTO nested_probe VALUES (1)"))
            refused = pytest.raises(NestedTransaction, match="^a transaction is already open on this store; nested "
                                    r"transactions are not supported \(do the inner work inside the outer "
                                    r"transaction\)$")
            with refused, store.transaction():
                store.execute(PlainSQL("INSERT INTO nested_probe VALUES (2)"))
            store.execute(PlainSQL("INSERT INTO nested_probe VALUES (3)"))  # the outer one goes on, and commits
        assert store.fetchall(PlainSQL("SELECT n FROM nested_probe ORDER BY n")) == [(1,), (3,)]


INTERRUPTED_CHILD = textwrap.dedent("""
    import sys
    from sessionstats.store.libpq import Connection
    con = Connection(dict(host=sys.argv[1], port=sys.argv[2], dbname="postgres", user="postgres"))
    print(con.execute("SELECT pg_backend_pid()").rows[0][0], flush=True)
    try:
        with con.transaction():
            con.execute("CREATE TABLE made_before_ctrl_c (n INT)")
            con.execute("SELECT pg_sleep(300)")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    sys.stdin.readline()  # the connection stays open while the test looks at the server
    print(con.execute("SELECT to_regclass('made_before_ctrl_c') IS NULL").rows[0][0], flush=True)
""")


def read_line(process: subprocess.Popen, timeout: float = 30) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no line from the child within {timeout} s"
    return process.stdout.readline()


def backend_state(cluster: Cluster, pid: int) -> tuple[str, str]:
    with cluster.connect() as con:
        row = con.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row or ("gone", "")


def wait_for_state(cluster: Cluster, pid: int, wanted: str) -> tuple[str, str]:
    deadline = time.monotonic() + 30
    while (state := backend_state(cluster, pid))[0] != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return state


@pytest.mark.slow
def test_ctrl_c_cancels_the_running_statement_on_the_server_and_rolls_back(pg_cluster):
    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED_CHILD, pg_cluster.host, str(pg_cluster.port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        backend = int(read_line(child))
        assert wait_for_state(pg_cluster, backend, "active") == ("active", "SELECT pg_sleep(300)")
        child.send_signal(signal.SIGINT)
        assert read_line(child) == "interrupted\n"
        assert backend_state(pg_cluster, backend)[0] == "idle"  # the server stopped it: no longer running
        child.stdin.write("\n")
        child.stdin.flush()
        assert read_line(child) == "True\n"  # the transaction was rolled back, and the connection still works
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.communicate(timeout=30)
