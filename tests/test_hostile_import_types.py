"""A JSON value of the wrong type in a text field: refused by `import tokens|stories` as the API refuses it.

DuckDB's reader turned `true`, `5` and `[1, 2]` into the text 'true', '5' and '[1,2]', so `"model": true`
was stored as the model 'true' where `record_tokens(model=True)` is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import db_argument, snapshot

import sessionstats
from sessionstats.errors import InvalidInput

GOOD_TOKENS = {"session_id": "s", "input_tokens": 1, "output_tokens": 2, "model": "claude-sonnet-4-5",
               "request_id": "r0"}
NOT_TEXT = [(True, "true"), (False, "false"), (5, "5"), (1.50, "1.5"), ([1, 2], "an array"), ({"a": 1}, "an object")]
TOKEN_TEXT_FIELDS = ["session_id", "model", "provider", "request_id", "story_id", "cost_source"]
STORY_TEXT_FIELDS = ["session_id", "id", "title", "narrative", "tone", "priority"]


def write_lines(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("value,shown", NOT_TEXT, ids=[shown for _, shown in NOT_TEXT])
@pytest.mark.parametrize("field", TOKEN_TEXT_FIELDS)
def test_a_token_record_with_a_text_field_that_is_not_text_is_refused_naming_line_and_field(
        cli, db, tmp_path, field, value, shown):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    path = write_lines(tmp_path / "rows.jsonl", GOOD_TOKENS, {**GOOD_TOKENS, "request_id": "r1", field: value})
    result = cli("import", "tokens", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"sessionstats: line 2: {field}: must be text, got {shown}\n"
    assert snapshot(db) == before


@pytest.mark.parametrize("field", STORY_TEXT_FIELDS)
def test_a_story_with_a_text_field_that_is_not_text_is_refused(cli, db, tmp_path, field):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    path = write_lines(tmp_path / "stories.jsonl", {"session_id": "s", "title": "t", field: 7})
    result = cli("import", "stories", str(path))
    assert (result.exit_code, result.stderr) == (2, f"sessionstats: line 1: {field}: must be text, got 7\n")
    assert snapshot(db) == before


def test_a_key_spelt_with_a_unicode_escape_is_checked_as_the_key_it_spells(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    path = tmp_path / "rows.jsonl"
    path.write_text('{"session_id": "s", "input_tokens": 1, "output_tokens": 2, "mod\\u0065l": true}\n')
    result = cli("import", "tokens", str(path))
    assert (result.exit_code, result.stderr) == (2, "sessionstats: line 1: model: must be text, got true\n")


def test_text_that_only_looks_like_a_key_with_a_number_is_stored_as_written(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    tricky = ['x "model": 5', 'caf\u00e9 "tone": true', '"request_id": [1]']
    path = write_lines(tmp_path / "rows.jsonl", *({**GOOD_TOKENS, "request_id": text} for text in tricky))
    cli.ok("import", "tokens", str(path))
    stored = json.loads(cli.ok("calls", "s", "--format", "json"))
    assert sorted(call["request_id"] for call in stored) == sorted(tricky)
    assert {call["model"] for call in stored} == {"claude-sonnet-4-5"}


def test_null_in_a_text_field_is_the_field_left_out(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    path = write_lines(tmp_path / "rows.jsonl", {**GOOD_TOKENS, "model": None, "provider": None})
    cli.ok("import", "tokens", str(path))
    [call] = json.loads(cli.ok("calls", "s", "--format", "json"))
    assert (call["model"], call["provider"]) == (None, None)


@pytest.mark.parametrize("field", ["model", "provider", "request_id", "story_id"])
def test_the_api_refuses_the_same_values(db, field):
    database = sessionstats.connect(db_argument(db), "alice")
    session = database.new_session("s")
    with pytest.raises(InvalidInput) as refused:
        session.record_tokens(1, 2, **{field: True})
    assert refused.value.field == field
