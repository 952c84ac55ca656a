"""See and mend what was recorded: `stories`, `calls` and `delete-record`."""

import json

import pytest
from conftest import snapshot


@pytest.fixture
def radio(cli):
    cli.ok("new", "Radio", "--id", "radio")
    cli.ok("record-story", "-s", "radio", "--id", "st1", "--title", "Fog over the harbour", "--tone", "calm",
           "--priority", "normal", "--narrative", "The fog rolled in", "--duration", "41.5", "--at",
           "2026-11-24T08:05:00Z")
    cli.ok("record-story", "-s", "radio", "--id", "st2", "--title", "Storm warning", "--tone", "urgent",
           "--at", "2026-11-24T09:00:00Z")
    cli.ok("record-tokens", "-s", "radio", "--story", "st1", "--input", "1000", "--output", "200", "--cost",
           "0.0105", "--request-id", "req_1", "--at", "2026-11-24T08:04:00Z")
    cli.ok("record-tokens", "-s", "radio", "--story", "st1", "--input", "50", "--output", "50", "--model",
           "no-such-model-x1", "--at", "2026-11-24T08:06:00Z")
    cli.ok("record-tokens", "-s", "radio", "--input", "7", "--output", "3", "--cost", "0.000000075",
           "--at", "2026-11-24T10:00:00Z")
    return cli


def test_stories_lists_each_story_with_the_calls_made_for_it(radio):
    lines = radio.json("stories", "radio")
    assert [(s["id"], s["title"], s["tone"], s["word_count"], s["duration"], s["api_calls"], s["total_tokens"],
             s["total_cost"], s["unpriced_records"]) for s in lines] == [
        ("st1", "Fog over the harbour", "calm", 4, 41.5, 2, 1300, 0.0105, 1),
        ("st2", "Storm warning", "urgent", 0, None, 0, 0, 0, 0),
    ]


def test_stories_table_shows_partly_priced_cost_with_a_star_and_a_note(radio):
    out = radio.ok("stories", "radio", "--format", "table")
    first = next(line for line in out.splitlines() if "Fog over the harbour" in line)
    assert first.split()[-3:] == ["2", "1,300", "$0.0105*"]
    assert "* some API calls of this story have no known cost" in out


def test_calls_lists_every_token_record_exactly_oldest_first(radio):
    done = radio("calls", "radio", "--format", "json")
    lines = json.loads(done.stdout)
    assert [(c["input_tokens"], c["output_tokens"], c["total_tokens"], c["cost_source"], c["request_id"],
             c["story_id"]) for c in lines] == [
        (1000, 200, 1200, "given", "req_1", "st1"),
        (50, 50, 100, "unknown", None, "st1"),
        (7, 3, 10, "given", None, None),
    ]
    assert '"estimated_cost": 0.000000075' in done.stdout  # exact, never a float's 7.5e-08
    assert lines[1]["estimated_cost"] is None


def test_calls_last_keeps_the_newest_in_time_order(radio):
    lines = radio.json("calls", "radio", "--last", "2")
    assert [c["input_tokens"] for c in lines] == [50, 7]


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--tone", "calm", [1000, 50]), ("--since", "2026-11-24T08:05:00Z", [50, 7]),
    ("--model", "no-such-model-x1", [50]),
])
def test_calls_take_the_report_filters(radio, option, value, expected):
    assert [c["input_tokens"] for c in radio.json("calls", "radio", option, value)] == expected


def test_calls_csv_has_a_header_and_exact_values(radio):
    out = radio.ok("calls", "radio", "--format", "csv")
    header, *rows = out.splitlines()
    assert header.startswith("id,created_at,model,provider,input_tokens")
    assert rows[2].split(",")[9] == "0.000000075"


def test_an_unpriced_call_shows_unknown_cost_in_the_table(radio):
    out = radio.ok("calls", "radio", "--format", "table")
    row = next(line for line in out.splitlines() if "no-such-model-x1" in line)
    assert "unknown" in row and "$0.0000" not in row


def test_listing_another_users_session_reads_as_not_found(radio):
    for command in ("stories", "calls"):
        done = radio.as_user("bob")(command, "radio")
        assert done.exit_code == 1 and "'radio' not found" in done.stderr


def test_an_empty_session_lists_nothing(cli):
    cli.ok("new", "--id", "empty")
    assert cli.ok("stories", "empty", "--format", "table") == "no records in scope\n"
    assert cli.json("calls", "empty") == []


def test_delete_record_removes_one_token_record_and_nothing_else(radio):
    record_id = radio.json("calls", "radio")[0]["id"]
    done = radio("delete-record", record_id, "--yes")
    assert done.exit_code == 0
    assert done.stderr == f"deleted token record '{record_id}' (no model, 1200 tokens) of session 'radio'\n"
    stats = radio.json("show", "radio")
    assert (stats["api_calls"], stats["total_tokens"], stats["story_count"]) == (2, 110, 2)


def test_delete_record_removes_a_story_and_keeps_its_billed_calls(radio):
    done = radio("delete-record", "st2", "--yes")
    assert done.exit_code == 0 and "story 'st2' (Storm warning)" in done.stderr
    stats = radio.json("show", "radio")
    assert (stats["story_count"], stats["api_calls"]) == (1, 3)


def test_delete_record_asks_first_and_no_changes_nothing(radio):
    before = snapshot(radio.db)
    done = radio("delete-record", "st1", input="n\n")
    assert done.exit_code == 2
    assert "Delete story 'st1' (Fog over the harbour) of session 'radio'?" in done.output
    assert snapshot(radio.db) == before


@pytest.mark.parametrize("record_id", ["nope", "st\x1b1", " ", "x" * 201])
def test_delete_record_of_a_missing_or_bad_id_changes_nothing(radio, record_id):
    before = snapshot(radio.db)
    done = radio("delete-record", record_id, "--yes")
    assert done.exit_code in (1, 2)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert snapshot(radio.db) == before


def test_delete_record_of_another_users_record_reads_as_missing(radio):
    before = snapshot(radio.db)
    done = radio.as_user("bob")("delete-record", "st1", "--yes")
    assert done.exit_code == 1
    assert done.stderr.startswith("sessionstats: no story or token record 'st1' of yours")
    assert snapshot(radio.db) == before
