"""Who may see what: another user's sessions read as missing everywhere; the files are owner-only.

Ownership is scoping inside one database, not a security boundary: anyone who can read the file can
read every user's rows. File permissions are the boundary, so every file the tool leaves is 0600.
"""

import json
import os
import re
import stat
import subprocess
import sys
from decimal import Decimal

import pytest
from claude_logs import write_tree
from conftest import execute_in, snapshot, table_of

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
        bobs_tokens = re.search(r"(?<![\d.])777(?!\d)", out)  # not inside a time's microseconds, e.g. .777535
        assert SECRET not in out and "bob-only" not in out and bobs_tokens is None
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
    remedy = "; add --create to make it" if args[0].startswith("record-") else ""  # alice's own, as for any missing id
    assert result.stderr == f"sessionstats: session 'bob-only' not found ('sessionstats list' shows yours{remedy})\n"
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


@pytest.mark.file_only
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
from sessionstats.ingest.records import TokenUsageInput, record_tokens
from sessionstats.sessions import create_session
from sessionstats.store import open_store
os.umask(0o022)
with open_store(sys.argv[1], write=True) as store:
    create_session(store, user="alice", session_id="s")
    record_tokens(store, TokenUsageInput("s", 1, 2), user="alice")
    os._exit(0)  # die before the connection closes: DuckDB has not folded the .wal into the file
"""


@pytest.mark.file_only
def test_a_write_ahead_log_left_by_a_crash_is_owner_only_and_its_records_count(tmp_path, run_process, db):
    subprocess.run([sys.executable, "-c", CRASH_AFTER_COMMIT, str(db)], check=True, timeout=60)
    wal = db.with_name(db.name + ".wal")
    assert wal.exists()
    assert _mode(wal) == 0o600
    assert _mode(db) == 0o600
    shown = run_process("show", "s", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["total_tokens"] == 3


# ---- reports, exports, reprice and imports ------------------------------------------------------

NOT_FOUND = "sessionstats: session '{}' not found ('sessionstats list' shows yours)\n"


@pytest.fixture
def both_recorded(alice_and_bob):
    """On top of `alice_and_bob`: both users record into their own `shared-id`, Bob with SECRET as model and tone."""
    alice, bob = alice_and_bob
    bob.ok("record-tokens", "-s", "shared-id", "--input", "900", "--output", "9", "--model", SECRET, "--cost", "5",
           "--request-id", "req-2")
    bob.ok("record-story", "-s", "shared-id", "--title", SECRET, "--tone", SECRET, "--narrative", "x y")
    bob.ok("record-tokens", "-s", "bob-only", "--input", "1000", "--output", "100", "--model", "gpt-4o",
           "--request-id", "req-3")
    alice.ok("record-tokens", "-s", "shared-id", "--input", "100", "--output", "20", "--model", "gpt-4o",
             "--request-id", "a-1")
    alice.ok("record-story", "-s", "shared-id", "--title", "mine", "--tone", "calm", "--narrative", "one two three")
    return alice, bob


def assert_not_found(result, session: str = "bob-only") -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NOT_FOUND.format(session))


def sums(rows: list[dict]) -> tuple[int, int, int]:
    return (sum(r["api_calls"] for r in rows), sum(r["input_tokens"] for r in rows),
            sum(r["story_count"] for r in rows))


@pytest.mark.parametrize("by", ["model", "tone", "day"])
def test_breakdowns_hold_only_your_records(both_recorded, by):
    alice, _ = both_recorded
    shown = alice.ok("show", "shared-id", "--by", by, "--format", "json")
    assert SECRET not in shown
    assert sums(json.loads(shown)["breakdown"]["rows"]) == (1, 100, 1)
    assert SECRET not in alice.ok("show", "shared-id", "--by", by, "--format", "table")
    assert_not_found(alice("show", "bob-only", "--by", by))


def test_timeline_holds_only_your_records(both_recorded):
    alice, _ = both_recorded
    for fmt in ("json", "csv", "table"):
        assert SECRET not in alice.ok("timeline", "shared-id", "--every", "day", "--format", fmt)
    assert sums(alice.json("timeline", "shared-id", "--every", "day")) == (1, 100, 1)
    assert_not_found(alice("timeline", "bob-only"))


def test_compare_with_another_users_session_reads_as_missing(both_recorded):
    alice, _ = both_recorded
    assert_not_found(alice("compare", "alice-only", "bob-only"))
    assert_not_found(alice("compare", "bob-only", "shared-id"))
    columns = alice.json("compare", "alice-only", "shared-id")
    assert [(c["session_id"], c["name"], c["input_tokens"]) for c in columns] == [
        ("alice-only", "mine too", 0), ("shared-id", "mine", 100)]


def test_check_counts_only_your_records_and_not_another_users_session(both_recorded, db):
    alice, _ = both_recorded
    before = snapshot(db)
    assert_not_found(alice("check", "bob-only", "--max-cost", "0.01"))  # Bob is far past it: still not found
    assert alice("check", "shared-id", "--max-tokens", "121").exit_code == 0  # Bob's 909 tokens there don't count
    over = alice("check", "shared-id", "--max-tokens", "120")
    assert over.exit_code == 3 and SECRET not in over.stderr
    assert snapshot(db) == before


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(("what", "column", "expected"), [
    ("tokens", "request_id", ["a-1"]),
    ("stories", "title", ["mine"]),
    ("stats", "session_id", ["alice-only", "shared-id"]),
])
def test_exports_hold_only_your_rows(both_recorded, tmp_path, what, column, expected):
    alice, _ = both_recorded
    every = tmp_path / f"all-{what}.jsonl"
    alice.ok("export", "--what", what, "--to", str(every))
    assert SECRET not in every.read_text()
    assert sorted(row[column] for row in _jsonl(every)) == expected
    named = tmp_path / f"named-{what}.jsonl"
    alice.ok("export", "shared-id", "--what", what, "--to", str(named))
    assert sorted(row[column] for row in _jsonl(named)) == [e for e in expected if e != "alice-only"]
    refused = tmp_path / f"refused-{what}.jsonl"
    assert_not_found(alice("export", "shared-id", "bob-only", "--what", what, "--to", str(refused)))
    assert not refused.exists()


def test_reprice_all_changes_only_your_records(both_recorded, db):
    alice, _ = both_recorded
    # as if every estimate had been made with older price data
    execute_in(db, "UPDATE token_usage SET estimated_cost = 1 WHERE cost_source = 'estimated'")
    bobs = "SELECT * FROM token_usage WHERE user_id = 'bob' ORDER BY ALL"
    bob_before = table_of(db, bobs)
    result = alice("reprice", "--all", "--format", "json")
    assert result.exit_code == 0 and SECRET not in result.stdout + result.stderr
    assert {row["session_id"] for row in json.loads(result.stdout)} <= {"alice-only", "shared-id"}
    assert table_of(db, bobs) == bob_before
    assert table_of(db, "SELECT estimated_cost FROM token_usage WHERE request_id = 'a-1'") == [
        (Decimal("0.00045"),)]
    assert_not_found(alice("reprice", "bob-only"))


def test_import_tokens_into_another_users_session_id_is_your_own_session(alice_and_bob, db, tmp_path):
    alice, bob = alice_and_bob
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"session_id":"bob-only","input_tokens":5,"output_tokens":5,"request_id":"req-1"}\n')
    before = snapshot(db)
    refused = alice("import", "tokens", str(rows))
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr == ("sessionstats: line 1: session_id: no session 'bob-only' "
                              "(create it first, or pass --create-sessions)\n")  # as for an id nobody has
    assert snapshot(db) == before
    bob_figures = bob.json("show", "bob-only")
    created = alice("import", "tokens", str(rows), "--create-sessions")
    assert created.exit_code == 0 and "imported 1 token records" in created.stderr  # req-1 is Bob's: not a repeat
    assert "skipped" not in created.stderr
    mine = alice.json("show", "bob-only")
    assert (mine["name"], mine["api_calls"], mine["total_tokens"]) == (None, 1, 10)
    assert bob.json("show", "bob-only") == bob_figures


def test_import_claude_code_of_logs_another_user_imported_makes_your_own_sessions(alice_and_bob, db, tmp_path):
    alice, bob = alice_and_bob
    tree = write_tree(tmp_path / "claude", sessions=3, messages=12, seed=5)
    bob.ok("import", "claude-code", str(tree.root))
    bob.ok("rename", next(iter(tree.expected)), SECRET)
    bobs = "SELECT * FROM token_usage WHERE user_id = 'bob' ORDER BY ALL"
    bob_before, bob_sessions = table_of(db, bobs), bob.json("list")
    result = alice("import", "claude-code", str(tree.root))
    assert result.exit_code == 0 and SECRET not in result.stdout + result.stderr
    expected = {session: t.records for session, t in tree.expected.items() if t.records}
    mine = {s["session_id"]: s for s in alice.json("list") if s["session_id"] in tree.expected}
    assert {session: s["api_calls"] for session, s in mine.items()} == expected
    assert SECRET not in json.dumps([s["name"] for s in mine.values()])
    assert table_of(db, bobs) == bob_before
    assert bob.json("list") == bob_sessions
