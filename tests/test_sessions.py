"""Session lifecycle (idle -> live -> ended), rename, delete, and ownership."""

import re

from conftest import table_of


def test_start_and_end_track_the_broadcast_state_and_duration(cli):
    cli.ok("new", "Show", "--id", "s")
    cli.ok("start", "s", "--at", "2026-01-01T10:00:00Z")
    assert cli.json("show", "s")["status"] == "live"
    cli.ok("end", "s", "--at", "2026-01-01T11:30:05Z")
    stats = cli.json("show", "s", "--tz", "UTC")
    assert stats["status"] == "ended"
    assert stats["started_at"] == "2026-01-01T10:00:00+00:00"
    assert stats["ended_at"] == "2026-01-01T11:30:05+00:00"
    assert stats["duration_seconds"] == 5405.0
    table = cli.ok("show", "s", "--format", "table")
    assert re.search(r"Session duration\s+01:30:05", table)


def test_lifecycle_steps_out_of_order_are_refused(cli):
    cli.ok("new", "--id", "s")
    result = cli("end", "s")
    assert result.exit_code == 2
    assert result.stderr == "sessionstats: session 's' is idle; start it first\n"
    cli.ok("start", "s")
    assert cli("start", "s").exit_code == 2
    cli.ok("end", "s")
    assert "ended already" in cli("end", "s").stderr


def test_rename_changes_only_the_name(cli):
    cli.ok("new", "Old", "--id", "s")
    cli.ok("rename", "s", "New name")
    assert cli.json("show", "s")["name"] == "New name"


def test_delete_removes_the_session_its_stories_and_tokens(cli):
    cli.ok("new", "--id", "doomed")
    cli.ok("new", "--id", "kept")
    for session in ("doomed", "kept"):
        cli.ok("record-story", "-s", session, "--title", "t")
        cli.ok("record-tokens", "-s", session, "--input", "1", "--output", "1")
    result = cli("delete", "doomed", "--yes")
    assert result.exit_code == 0
    assert result.stderr == "deleted session 'doomed': 1 stories, 1 token records\n"
    assert table_of(cli.db, "SELECT id FROM sessions") == [("kept",)]
    assert table_of(cli.db, "SELECT DISTINCT session_id FROM story_history") == [("kept",)]
    assert table_of(cli.db, "SELECT DISTINCT session_id FROM token_usage") == [("kept",)]


def test_delete_asks_first_and_a_no_changes_nothing(cli):
    cli.ok("new", "--id", "s")
    declined = cli("delete", "s", input="n\n")
    assert declined.exit_code == 2
    assert "nothing was changed" in declined.stderr
    assert table_of(cli.db, "SELECT id FROM sessions") == [("s",)]
    cli.ok("delete", "s", input="y\n")
    assert table_of(cli.db, "SELECT id FROM sessions") == []


def test_another_users_session_reads_exactly_like_a_missing_one(cli):
    cli.ok("new", "--id", "mine")
    bob = cli.as_user("bob")
    for args in (
        ("show", "mine"), ("start", "mine"), ("end", "mine"), ("rename", "mine", "x"), ("delete", "mine", "--yes"),
        ("record-story", "-s", "mine", "--title", "t"),
        ("record-tokens", "-s", "mine", "--input", "1", "--output", "1"),
    ):
        theirs, missing = bob(*args), bob(*[("nope" if a == "mine" else a) for a in args])
        assert theirs.exit_code == missing.exit_code == 1
        assert theirs.stderr == missing.stderr.replace("nope", "mine")
        assert theirs.stderr.startswith("sessionstats: session 'mine' not found")
    assert bob.ok("list", "--format", "json") == "[]\n"
    assert table_of(cli.db, "SELECT count(*) FROM story_history") == [(0,)]


def test_two_users_may_use_the_same_session_id_without_seeing_each_other(cli):
    bob = cli.as_user("bob")
    cli.ok("new", "Alice's", "--id", "friday")
    bob.ok("new", "Bob's", "--id", "friday")
    cli.ok("record-tokens", "-s", "friday", "--input", "10", "--output", "0")
    bob.ok("record-tokens", "-s", "friday", "--input", "99", "--output", "0")
    assert (cli.json("show", "friday")["name"], cli.json("show", "friday")["input_tokens"]) == ("Alice's", 10)
    assert (bob.json("show", "friday")["name"], bob.json("show", "friday")["input_tokens"]) == ("Bob's", 99)
