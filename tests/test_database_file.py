"""A database path is a DuckDB file of ours or nothing: anything else is refused and left as it was.

Reads never create, migrate or change a file; a missing database reads as an empty one. Every case runs
the CLI as a real process, as a user's shell would, against a path in a temporary folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import table_of

from sessionstats.store.migrations import LATEST_VERSION

pytestmark = pytest.mark.file_only

READS = [("show", "s"), ("list",), ("timeline", "s"), ("compare", "s", "t"), ("check", "s", "--max-cost", "1"),
         ("delete", "s"), ("reprice", "--all", "--dry-run")]
WRITES = [("new", "--id", "s"), ("record-tokens", "-s", "s", "--input", "1", "--output", "2"),
          ("record-story", "-s", "s", "--title", "t"), ("init-db",)]
IS_ROOT = os.geteuid() == 0


def sessionstats(db: Path | str, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m sessionstats ARGS` with SESSIONSTATS_DB=db, as a real process."""
    full_env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice", **(env or {})}
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 4 with one line on stderr naming the database, containing each of `words`, and nothing on stdout."""
    assert result.returncode == 4, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sessionstats: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert result.stdout == ""


def folder_state(folder: Path) -> dict[str, tuple]:
    """Each entry's kind, mode, size and bytes (of regular files), without following symlinks."""
    state = {}
    for entry in sorted(folder.iterdir()):
        info = entry.lstat()
        content = entry.read_bytes() if stat.S_ISREG(info.st_mode) else os.readlink(entry) if entry.is_symlink() else ""
        state[entry.name] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_size, info.st_ino, content)
    return state


def make_database(path: Path) -> None:
    """A sessionstats database with one session `s` holding one token record."""
    for args in (("new", "--id", "s"), ("record-tokens", "-s", "s", "--input", "10", "--output", "5",
                                        "--cost", "0.25")):
        result = sessionstats(path, *args)
        assert result.returncode == 0, result.stderr


# --- What is at the path is not a database file: refused by every command, left exactly as it was ---

def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    return listener


def _device(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is


def _folder(path: Path) -> None:
    path.mkdir()


def _symlink_loop(path: Path) -> None:
    os.symlink(path.name + ".other", path)
    os.symlink(path.name, path.with_name(path.name + ".other"))


def _symlink_to_notes(path: Path) -> None:
    path.with_name("notes.txt").write_text("my notes\n")
    os.symlink("notes.txt", path)


def _symlink_to_device(path: Path) -> None:
    os.symlink("/dev/null", path)


def _empty_file(path: Path) -> None:
    path.touch()


def _sqlite_file(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    con.close()


def _lock_of_another_database(path: Path) -> None:
    """`--db x.duckdb.lock`: the lock file of a real database beside it."""
    real = path.with_name(path.name.removesuffix(".lock"))
    make_database(real)


HOSTILE = {"a FIFO": (_fifo, "a FIFO"), "a socket": (_socket, "a socket"),
           "a folder": (_folder, "a folder"), "a symlink loop": (_symlink_loop, "loop of symlinks"),
           "a symlink to notes": (_symlink_to_notes, "not a DuckDB database file"),
           "a symlink to /dev/null": (_symlink_to_device, "a character device"),
           "an empty file": (_empty_file, "an empty file that sessionstats did not make"),
           "a SQLite file": (_sqlite_file, "not a DuckDB database file"),
           "another database's lock file": (_lock_of_another_database, "an empty file"),
           "a device node": (_device, "a character device")}


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("command", READS[:2] + WRITES[:2], ids=lambda args: args[0])
def test_a_path_that_is_not_a_database_file_is_refused_and_left_alone(tmp_path, kind, command):
    if kind == "a device node" and not IS_ROOT:
        pytest.skip("making a device node needs root")
    make, words = HOSTILE[kind]
    path = tmp_path / ("stats.duckdb.lock" if kind == "another database's lock file" else "stats.duckdb")
    made = make(path)
    before = folder_state(tmp_path)
    try:
        refused(sessionstats(path, *command, timeout=30), "the database at", words)  # a FIFO must not hang it
        assert folder_state(tmp_path) == before  # no .lock, .creating or database made beside it
    finally:
        if made is not None:
            made.close()


@pytest.mark.parametrize("command", READS[:2], ids=lambda args: args[0])
def test_dev_null_as_the_database_is_refused_and_untouched(tmp_path, command):
    before = os.stat("/dev/null")
    had_lock = os.path.lexists("/dev/null.lock")
    refused(sessionstats("/dev/null", *command), "/dev/null", "a character device")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert os.path.lexists("/dev/null.lock") == had_lock


def test_the_lock_file_of_a_database_is_never_made_a_database(tmp_path):
    db = tmp_path / "x.duckdb"
    make_database(db)
    lock = tmp_path / "x.duckdb.lock"
    for command in (("list",), ("new", "--id", "other")):
        refused(sessionstats(lock, *command), "an empty file")
    assert lock.read_bytes() == b""
    assert sessionstats(db, "show", "s", "--format", "json").returncode == 0  # the real database still works


def test_a_path_whose_folder_is_a_file_is_refused(tmp_path):
    (tmp_path / "plain").write_text("x")
    for command in (("list",), ("new",)):
        refused(sessionstats(tmp_path / "plain" / "stats.duckdb", *command), "is a file, not a folder")
    assert (tmp_path / "plain").read_text() == "x"


def test_an_empty_file_a_killed_creator_left_reads_as_no_database_and_a_write_makes_it(tmp_path):
    """An empty file with our lock file beside it is what a creator killed inside DuckDB's connect left (before
    databases were made beside their path): ours to fill. Without the lock file it is someone else's."""
    db = tmp_path / "stats.duckdb"
    db.touch()
    (tmp_path / "stats.duckdb.lock").touch()
    listed = sessionstats(db, "list", "--format", "json")
    assert (listed.returncode, listed.stdout) == (0, "[]\n")
    assert db.read_bytes() == b""  # a read leaves it as it was
    assert sessionstats(db, "new", "--id", "s").returncode == 0
    assert table_of(db, "SELECT id FROM sessions") == [("s",)]


# --- A DuckDB file that is not ours ---

def foreign_database(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TABLE events (day DATE, visits INTEGER)")
        con.execute("INSERT INTO events VALUES ('2026-11-01', 12)")
        return con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("command", READS + WRITES, ids=lambda args: args[0])
def test_another_tools_duckdb_file_is_refused_never_initialised(tmp_path, command):
    db = tmp_path / "analytics.duckdb"
    tables = foreign_database(db)
    before = folder_state(tmp_path)
    result = sessionstats(db, *command)
    refused(result, "not a sessionstats database")
    assert folder_state(tmp_path) == {**before, **{k: v for k, v in folder_state(tmp_path).items()
                                                   if k == "analytics.duckdb.lock"}}  # a writer's lock at most
    assert table_of(db, "SELECT table_name FROM information_schema.tables") == tables


def test_a_duckdb_file_with_another_tools_schema_migrations_is_not_ours(tmp_path):
    db = tmp_path / "app.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_migrations (version VARCHAR PRIMARY KEY)")  # as Rails keeps it
    con.execute("INSERT INTO schema_migrations VALUES ('20260101120000')")
    con.close()
    for command in (("list",), ("new", "--id", "s")):
        refused(sessionstats(db, *command), "not a sessionstats database")
    assert table_of(db, "SELECT * FROM schema_migrations") == [("20260101120000",)]


def test_an_empty_duckdb_file_is_made_a_database_by_a_write_and_not_by_a_read(tmp_path):
    db = tmp_path / "blank.duckdb"
    duckdb.connect(str(db)).close()
    before = db.read_bytes()
    refused(sessionstats(db, "list"), "no sessionstats tables yet", "sessionstats init-db")
    assert db.read_bytes() == before
    assert sessionstats(db, "new", "--id", "s").returncode == 0
    assert table_of(db, "SELECT id FROM sessions") == [("s",)]


# --- Reads create and change nothing ---

@pytest.mark.parametrize("command", READS, ids=lambda args: args[0])
def test_a_read_on_a_missing_database_creates_nothing(tmp_path, command):
    db = tmp_path / "stats.duckdb"
    result = sessionstats(db, *command)
    assert list(tmp_path.iterdir()) == []
    assert "Traceback" not in result.stderr
    assert f"no database at {db} yet" in result.stderr.splitlines()[0]


def test_show_on_a_missing_database_is_not_found_and_says_there_is_no_database(tmp_path):
    db = tmp_path / "stats.duckdb"
    result = sessionstats(db, "show", "s")
    assert result.returncode == 1
    assert result.stderr == (f"sessionstats: session 's' not found: there is no database at {db} yet "
                             "(a command that records, such as 'sessionstats new', makes it)\n")


def test_list_and_export_on_a_missing_database_print_an_empty_result_and_a_warning(tmp_path):
    db = tmp_path / "none" / "stats.duckdb"
    db.parent.mkdir()
    listed = sessionstats(db, "list", "--format", "json")
    assert (listed.returncode, listed.stdout) == (0, "[]\n")
    assert listed.stderr == (f"sessionstats: warning: there is no database at {db} yet "
                             "(a command that records makes it)\n")
    exported = sessionstats(db, "export", "--to", str(tmp_path / "out.jsonl"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out.jsonl").read_text() == ""
    assert list(db.parent.iterdir()) == []


@pytest.mark.parametrize("command", READS, ids=lambda args: args[0])
def test_a_read_changes_no_byte_of_an_existing_database(tmp_path, command):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    before = folder_state(tmp_path)
    sessionstats(db, *command)
    assert folder_state(tmp_path) == before


def test_a_read_makes_no_lock_file_and_still_reads(tmp_path):
    """A database copied without its lock file, or on a disk the reader cannot write: nothing to create."""
    db = tmp_path / "stats.duckdb"
    make_database(db)
    (tmp_path / "stats.duckdb.lock").unlink()
    shown = sessionstats(db, "show", "s", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert '"api_calls": 1' in shown.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.duckdb"]


def older_database(folder: Path) -> Path:
    """A database at schema 4 in `folder`/db/stats.duckdb (the folder of its own, to compare before and after)."""
    (folder / "db").mkdir()
    db = folder / "db" / "stats.duckdb"
    make_database(db)
    downgrade_to_schema_4(db)
    return db


def downgrade_to_schema_4(db: Path) -> None:
    con = duckdb.connect(str(db))
    try:  # as a file written before sorted runs existed
        for table in ("token_usage", "story_history"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN sorted")
        con.execute("DROP TABLE sorted_rows")
        con.execute("DELETE FROM schema_migrations WHERE version > 4")
    finally:
        con.close()


@pytest.mark.parametrize("command", READS, ids=lambda args: args[0])
def test_a_read_of_an_older_schema_does_not_upgrade_it_and_says_what_will(tmp_path, command):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    downgrade_to_schema_4(db)
    before = folder_state(tmp_path)
    refused(sessionstats(db, *command), f"an older schema (4; this sessionstats uses {LATEST_VERSION})",
            "'sessionstats init-db'")
    assert folder_state(tmp_path) == before


def test_a_write_upgrades_an_older_schema_and_then_reads_work(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    downgrade_to_schema_4(db)
    assert sessionstats(db, "init-db").returncode == 0
    shown = sessionstats(db, "show", "s", "--format", "json")
    assert shown.returncode == 0 and '"api_calls": 1' in shown.stdout


# --- Symlinks ---

def test_a_symlink_to_a_database_is_used_through_and_stays_a_symlink(tmp_path):
    real = tmp_path / "data" / "stats.duckdb"
    real.parent.mkdir()
    make_database(real)
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    assert sessionstats(link, "record-tokens", "-s", "s", "--input", "1", "--output", "1").returncode == 0
    shown = sessionstats(link, "show", "s", "--format", "json")
    assert '"api_calls": 2' in shown.stdout
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["data", "link.duckdb"]
    assert (real.parent / "stats.duckdb.lock").exists()  # one lock beside the file, whatever name is used


def test_a_dangling_symlink_gets_its_database_made_where_it_points(tmp_path):
    target = tmp_path / "later" / "stats.duckdb"
    target.parent.mkdir()
    link = tmp_path / "link.duckdb"
    link.symlink_to(target)
    refused_read = sessionstats(link, "show", "s")
    assert refused_read.returncode == 1 and not target.exists()
    assert sessionstats(link, "new", "--id", "s").returncode == 0
    assert link.is_symlink() and table_of(target, "SELECT id FROM sessions") == [("s",)]


# --- Damaged files and hostile files beside the database ---

def test_a_truncated_database_is_reported_corrupt_at_once(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    data = db.read_bytes()
    db.write_bytes(data[:5000])
    for command in (("show", "s"), ("new", "--id", "t")):
        # A lock timeout longer than the process may take: retrying it as a lock error would time out here.
        refused(sessionstats(db, *command, env={"SESSIONSTATS_LOCK_TIMEOUT": "120"}, timeout=60), "is corrupt",
                "restore it from a backup")
    assert db.read_bytes() == data[:5000]


def test_a_damaged_block_is_reported_corrupt_not_busy(tmp_path):
    """DuckDB's "... in block at location 12288" contains "lock": it was retried for the whole timeout."""
    db = tmp_path / "stats.duckdb"
    make_database(db)
    data = bytearray(db.read_bytes())
    for offset in range(12288, 12288 + 4096):
        data[offset] ^= 0x55
    db.write_bytes(bytes(data))
    result = sessionstats(db, "show", "s", env={"SESSIONSTATS_LOCK_TIMEOUT": "120"}, timeout=60)
    refused(result, "is corrupt", "checksum")
    assert "busy" not in result.stderr
    assert db.read_bytes() == bytes(data)


def test_the_wal_of_another_database_is_refused_and_kept(tmp_path):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE u (y INTEGER)")
    con.execute("CHECKPOINT")
    con.execute("SET wal_autocheckpoint = '1TB'")
    con.execute("INSERT INTO u VALUES (5)")
    shutil.copy(tmp_path / "other.duckdb.wal", tmp_path / "saved.wal")
    con.close()
    db = tmp_path / "stats.duckdb"
    make_database(db)
    wal = tmp_path / "stats.duckdb.wal"
    shutil.copy(tmp_path / "saved.wal", wal)
    before = folder_state(tmp_path)
    for command in (("show", "s"), ("new", "--id", "t")):
        refused(sessionstats(db, *command), "is corrupt", "WAL")
    assert folder_state(tmp_path) == before


def test_a_wal_without_its_database_is_not_replayed_into_a_new_one(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(tmp_path / "first.duckdb")
    (tmp_path / "stats.duckdb.wal").write_bytes(b"records of a lost database")
    refused(sessionstats(db, "new", "--id", "s"), "stats.duckdb.wal", "move it away")
    assert not db.exists()
    assert (tmp_path / "stats.duckdb.wal").read_bytes() == b"records of a lost database"


@pytest.mark.parametrize("sidecar", [".lock", ".wal"])
@pytest.mark.parametrize("kind", ["a symlink", "a FIFO (named pipe)"])
def test_a_lock_or_wal_that_is_not_a_plain_file_is_refused_and_what_it_points_at_kept(tmp_path, sidecar, kind):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    beside = tmp_path / f"stats.duckdb{sidecar}"
    beside.unlink(missing_ok=True)
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    if kind == "a symlink":
        beside.symlink_to(precious)
    else:
        os.mkfifo(beside)
    for command in (("show", "s"), ("new", "--id", "t")):
        refused(sessionstats(db, *command, timeout=30), f"stats.duckdb{sidecar}", kind)
    assert precious.read_text() == "keep me\n"
    assert beside.is_symlink() if kind == "a symlink" else stat.S_ISFIFO(beside.lstat().st_mode)
    beside.unlink()  # DuckDB itself would wait on the FIFO to read the database here
    assert table_of(db, "SELECT id FROM sessions") == [("s",)]


@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None, reason="runs a process as another user")
def test_a_database_the_user_may_not_read_is_refused_in_one_line(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    tmp_path.chmod(0o755)
    os.chmod(db, 0o600)  # root's, and the other user may not read it
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                             "sessionstats", "show", "s"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"})
    if "No module named" in result.stderr:
        pytest.skip("the other user cannot import this checkout")
    refused(result, "permission denied")


# --- Lock timeout bound ---

def test_a_huge_lock_timeout_waits_for_the_lock_without_a_traceback(tmp_path):
    """SESSIONSTATS_LOCK_TIMEOUT=1e10 overflowed the timer that bounds the wait for a held lock."""
    db = tmp_path / "stats.duckdb"
    make_database(db)
    with open(tmp_path / "stats.duckdb.lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice",
               "SESSIONSTATS_LOCK_TIMEOUT": "1e10"}
        waiter = subprocess.Popen([sys.executable, "-m", "sessionstats", "record-tokens", "-s", "s", "--input", "1",
                                   "--output", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)  # long enough for it to reach the lock and wait on it
            fcntl.flock(holder, fcntl.LOCK_UN)
            _, err = waiter.communicate(timeout=60)
        finally:
            waiter.kill()
            waiter.wait()
    assert (waiter.returncode, err) == (0, "")
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(2,)]


# --- Permissions ---

def loosen(db: Path) -> None:
    for name in ("stats.duckdb", "stats.duckdb.lock"):
        os.chmod(db.with_name(name), 0o644)


def test_a_write_makes_the_database_and_its_lock_owner_only(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    loosen(db)
    result = sessionstats(db, "new", "--id", "t")
    assert (result.returncode, result.stderr) == (0, "")
    for name in ("stats.duckdb", "stats.duckdb.lock"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_a_write_makes_a_leftover_wal_owner_only(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    con = duckdb.connect(str(db))
    con.execute("SET wal_autocheckpoint = '1TB'")
    con.execute("INSERT INTO sessions (user_id, id, created_at) VALUES ('alice', 'w', now()::TIMESTAMP)")
    wal = tmp_path / "stats.duckdb.wal"
    os.chmod(wal, 0o644)
    shutil.copy(wal, tmp_path / "kept.wal")  # as a crash would leave it
    con.close()
    shutil.copy(tmp_path / "kept.wal", wal)
    os.chmod(wal, 0o644)
    result = sessionstats(db, "new", "--id", "t")
    assert (result.returncode, result.stderr) == (0, "")
    assert not wal.exists() or stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_a_read_warns_of_a_database_others_can_read_and_leaves_its_mode(tmp_path):
    db = tmp_path / "stats.duckdb"
    make_database(db)
    loosen(db)
    result = sessionstats(db, "show", "s", "--format", "json")
    assert result.returncode == 0
    assert result.stderr == (f"sessionstats: warning: {db} is readable by other users (mode 0644); "
                             "the next command that records makes it owner-only (0600)\n")
    assert stat.S_IMODE(db.stat().st_mode) == 0o644


def test_a_database_that_cannot_be_made_owner_only_is_a_warning(cli, db, monkeypatch):
    cli.ok("new", "--id", "s")
    os.chmod(db, 0o644)

    def chmod_refused(path, mode, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", chmod_refused)
    result = cli("new", "--id", "t")
    assert result.exit_code == 0
    assert result.stderr == (f"sessionstats: warning: {db} is readable by other users (mode 0644); cannot make it "
                             "owner-only (operation not permitted)\n")


# --- DuckDB's progress bar ---

@pytest.mark.parametrize("case", ["missing", "read", "write"])
def test_no_connection_the_tool_opens_prints_duckdbs_progress_bar(tmp_path, case):
    from sessionstats.store import open_store

    db = tmp_path / "stats.duckdb"
    if case != "missing":
        make_database(db)
    with open_store(db, write=case == "write") as store:
        assert store.fetchone("SELECT current_setting('enable_progress_bar_print')") == (False,)
