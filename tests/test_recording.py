"""Recording stories and token usage: ids on stdout, values stored exactly."""

import json

from conftest import table_of


def test_record_commands_print_the_new_id_alone(cli):
    session = cli.ok("new", "--id", "friday").strip()
    assert session == "friday"
    story = cli.ok("record-story", "-s", "friday", "--title", "A").strip()
    tokens = cli.ok("record-tokens", "-s", "friday", "--input", "1", "--output", "2").strip()
    assert len(story) == 36 and len(tokens) == 36 and story != tokens
    assert table_of(cli.db, "SELECT id FROM story_history") == [(story,)]
    assert table_of(cli.db, "SELECT id FROM token_usage") == [(tokens,)]


def test_generated_ids_are_time_ordered_uuid7(cli):
    session = cli.ok("new").strip()
    ids = [cli.ok("record-tokens", "-s", session, "--input", "1", "--output", "1").strip() for _ in range(5)]
    assert ids == sorted(ids)
    assert all(i[14] == "7" for i in ids)


def test_story_fields_are_stored_and_word_count_comes_from_the_narrative(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "--title", "Harbour", "--narrative", "  The fog\n lifted   slowly. ",
           "--tone", "calm", "--priority", "high", "--duration", "42.5", "--at", "2026-03-01T10:00:00Z")
    rows = table_of(cli.db, "SELECT title, narrative, tone, priority, word_count, duration, created_at::TEXT "
                            "FROM story_history")
    assert rows == [("Harbour", "  The fog\n lifted   slowly. ", "calm", "high", 4, 42.5, "2026-03-01 10:00:00")]


def test_given_word_count_wins_over_the_narrative(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "--title", "T", "--narrative", "one two", "--word-count", "10")
    assert table_of(cli.db, "SELECT word_count FROM story_history") == [(10,)]


def test_narrative_from_a_file_and_from_stdin(cli, tmp_path):
    cli.ok("new", "--id", "s")
    path = tmp_path / "story.txt"
    path.write_text("Once upon a time — in Zürich.", encoding="utf-8")
    cli.ok("record-story", "-s", "s", "--title", "file", "--narrative-file", str(path))
    cli.ok("record-story", "-s", "s", "--title", "stdin", "--narrative-file", "-", input="from the pipe")
    rows = table_of(cli.db, "SELECT title, narrative, word_count FROM story_history ORDER BY title")
    assert rows == [("file", "Once upon a time — in Zürich.", 6), ("stdin", "from the pipe", 3)]


def test_total_tokens_is_the_sum_of_all_four_kinds_and_cost_is_exact(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "3", "--output", "5", "--cache-read", "7", "--cache-write", "11",
           "--model", "claude-sonnet-4-5", "--cost", "0.000000075", "--story", "story-1", "--request-id", "req_1")
    rows = table_of(cli.db, "SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens,"
                            " estimated_cost::TEXT, cost_source, model, story_id, request_id FROM token_usage")
    assert rows == [(3, 5, 7, 11, 26, "0.000000075000000000", "given", "claude-sonnet-4-5", "story-1", "req_1")]


def test_without_a_cost_the_cost_is_unknown_never_zero(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "3", "--output", "5")
    assert table_of(cli.db, "SELECT estimated_cost, cost_source FROM token_usage") == [(None, "unknown")]
    stats = cli.json("show", "s")
    assert stats["unpriced_records"] == 1 and stats["total_cost"] == 0


def test_the_session_comes_from_the_environment(cli):
    session = cli.ok("new", "env").strip()
    cli.ok("record-tokens", "--input", "1", "--output", "1", env={"SESSIONSTATS_SESSION": session})
    cli.ok("record-story", "--title", "x", env={"SESSIONSTATS_SESSION": session})
    stats = cli.json("show", session)
    assert (stats["api_calls"], stats["story_count"]) == (1, 1)


def test_create_makes_a_missing_session_for_the_current_user(cli):
    cli.ok("record-tokens", "-s", "fresh", "--create", "--input", "1", "--output", "1")
    cli.ok("record-story", "-s", "fresh2", "--create", "--title", "t")
    assert table_of(cli.db, "SELECT user_id, id, status FROM sessions ORDER BY id") == [
        ("alice", "fresh", "idle"), ("alice", "fresh2", "idle")]


def test_recording_the_same_request_twice_stores_it_once(cli):
    cli.ok("new", "--id", "s")
    first = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--request-id", "req_9")
    again = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--request-id", "req_9")
    assert again.exit_code == 0
    assert again.stdout == first.stdout
    assert "recorded already" in again.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(1,)]


def test_a_story_with_an_explicit_id_is_stored_once(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "--title", "t", "--id", "story-7")
    again = cli("record-story", "-s", "s", "--title", "t", "--id", "story-7")
    assert (again.exit_code, again.stdout) == (0, "story-7\n")
    assert table_of(cli.db, "SELECT count(*) FROM story_history") == [(1,)]


def test_settings_keep_their_json_types(cli):
    cli.ok("new", "--id", "s", "--setting", "voice=alloy", "--setting", "speed=1.25", "--setting", "live=true",
           "--setting", "odd=NaN", "--setting", 'twice={"a": 1, "a": 2}')
    (settings,) = table_of(cli.db, "SELECT settings FROM sessions")[0]
    # NaN is no JSON number, nor is an object naming a key twice JSON anyone can read one way: both stay text
    assert json.loads(settings) == {"voice": "alloy", "speed": 1.25, "live": True, "odd": "NaN",
                                    "twice": '{"a": 1, "a": 2}'}


def test_at_without_offset_is_local_time(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--at", "2026-07-01 12:00",
           "--tz", "Europe/Paris")
    assert table_of(cli.db, "SELECT created_at::TEXT FROM token_usage") == [("2026-07-01 10:00:00",)]
