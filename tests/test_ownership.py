"""Who may see what: another user's sessions read as missing everywhere; the files are owner-only.

Ownership is scoping inside one database, not a security boundary: anyone who can read the file can
read every user's rows. File permissions are the boundary, so every file the tool leaves is 0600.
"""

import json
import os
import stat
import subprocess
import sys

import pytest
from conftest import snapshot

SECRET = "bob-secret-launch"


@pytest.fixture
def alice_and_bob(cli):
    """Bob owns session `shared-id` and SECRET; Alice owns her own `shared-id` and `alice-only`."""
    bob = cli.as_user("bob")
    bob.ok("new", SECRET, "--id", "shared-id")
    bob.ok("new", SECRET, "--id", "bob-only")
    bob.ok("record-story", "-s", "bob-only", "--title", SECRET, "--id", "story-1", "--narrative", "one two three")
    bob.ok("record-tokens", "-s", "bob-only", "--input", "777", "--output", "1", "--cost", "9.99",
           "--model", SECRET, "--request-id", "req-1")
    cli.ok("new", "mine", "--id", "shared-id")
    cli.ok("new", "mine too", "--id", "alice-only")
    return cli, bob


def test_list_shows_only_your_sessions_in_every_format(alice_and_bob):
    alice, _ = alice_and_bob
    for fmt in ("table", "json", "csv", "tsv"):
        out = alice.ok("list", "--format", fmt)
        assert SECRET not in out and "bob-only" not in out and "777" not in out
    ids = [row["session_id"] for row in alice.json("list")]
    assert sorted(ids) == ["alice-only", "shared-id"]


def test_show_of_another_users_session_reads_exactly_like_a_missing_one(alice_and_bob):
    alice, _ = alice_and_bob
    theirs = alice("show", "bob-only")
    missing = alice("show", "never-made")
    assert (theirs.exit_code, missing.exit_code) == (1, 1)
    assert theirs.stderr == missing.stderr.replace("never-made", "bob-only")
    assert theirs.stdout == ""


def test_show_of_a_shared_id_gives_your_own_figures(alice_and_bob):
    alice, bob = alice_and_bob
    mine = alice.json("show", "shared-id")
    assert (mine["name"], mine["story_count"], mine["api_calls"]) == ("mine", 0, 0)
    assert bob.json("show", "shared-id")["name"] == SECRET


@pytest.mark.parametrize("args", [
    ("record-story", "-s", "bob-only", "--title", "t"),
    ("record-tokens", "-s", "bob-only", "--input", "1", "--output", "1"),
    ("start", "bob-only"),
    ("end", "bob-only"),
    ("rename", "bob-only", "taken"),
    ("delete", "bob-only", "--yes"),
    ("delete", "bob-only"),
])
def test_commands_on_another_users_session_say_not_found_and_change_nothing(alice_and_bob, args):
    alice, _ = alice_and_bob
    before = snapshot(alice.db)
    result = alice(*args, input="y\n")
    assert result.exit_code == 1
    assert result.stderr == "sessionstats: session 'bob-only' not found ('sessionstats list' shows yours)\n"
    assert SECRET not in result.stdout + result.stderr
    assert snapshot(alice.db) == before


def test_your_ids_never_collide_with_or_reveal_another_users(alice_and_bob):
    alice, bob = alice_and_bob
    created = alice("new", "--id", "bob-only")  # Bob has it; Alice must not learn that
    assert created.exit_code == 0 and created.stderr == ""
    story = alice("record-story", "-s", "bob-only", "--title", "t", "--id", "story-1")
    tokens = alice("record-tokens", "-s", "bob-only", "--input", "1", "--output", "1", "--request-id", "req-1")
    assert story.stderr == tokens.stderr == ""  # not "recorded already": those were Bob's
    assert alice.json("show", "bob-only")["api_calls"] == 1
    assert bob.json("show", "bob-only")["input_tokens"] == 777


def test_record_with_create_into_a_shared_id_makes_your_own_session(alice_and_bob):
    alice, bob = alice_and_bob
    alice.ok("record-tokens", "-s", "bob-only", "--input", "5", "--output", "5", "--create")
    assert alice.json("show", "bob-only")["total_tokens"] == 10
    assert bob.json("show", "bob-only")["total_tokens"] == 778


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_lock_files_are_owner_only_even_with_a_permissive_umask(cli, db):
    old = os.umask(0o000)
    try:
        cli.ok("new", "--id", "s")
        cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1")
    finally:
        os.umask(old)
    assert _mode(db) == 0o600
    assert _mode(db.with_name(db.name + ".lock")) == 0o600
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name)) == [db.name, db.name + ".lock"]


CRASH_AFTER_COMMIT = """
import os, sys
from sessionstats.records import TokenUsageInput, record_tokens
from sessionstats.sessions import create_session
from sessionstats.store import open_store
os.umask(0o022)
with open_store(sys.argv[1], write=True) as store:
    create_session(store, user="alice", session_id="s")
    record_tokens(store, TokenUsageInput("s", 1, 2), user="alice")
    os._exit(0)  # die before the connection closes: DuckDB has not folded the .wal into the file
"""


def test_a_write_ahead_log_left_by_a_crash_is_owner_only_and_its_records_count(tmp_path, run_process, db):
    subprocess.run([sys.executable, "-c", CRASH_AFTER_COMMIT, str(db)], check=True, timeout=60)
    wal = db.with_name(db.name + ".wal")
    assert wal.exists()
    assert _mode(wal) == 0o600
    assert _mode(db) == 0o600
    shown = run_process("show", "s", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["total_tokens"] == 3
