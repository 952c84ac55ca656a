"""One rule per field on the JSON paths in: a JSON Lines import, the web API (one record and a batch) and
the Python API (`record_tokens`, `record_many`) give the same value the same verdict, naming the field.

The web API and the Python API read JSON numbers with a fraction or an exponent as Decimals and hand them
to the field rules; `record_many` and a web batch go through the bulk import's CSV, where "" and a number
in a text field used to lose what they were (stored as no value and as the text '5').
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import snapshot, table_of
from starlette.testclient import TestClient

import sessionstats
from sessionstats.errors import InvalidInput
from sessionstats.serve.app import build_app

pytestmark = pytest.mark.file_only
REFUSED = "refused"


@dataclass(frozen=True)
class Case:
    """A field's value as JSON text; `stored` is the column's value on every path (REFUSED: nothing stored)."""

    field: str
    json_text: str
    stored: object = REFUSED

    def __str__(self) -> str:
        return f"{self.field}={self.json_text}"


CASES = [
    Case("input_tokens", "1e3", 1000), Case("input_tokens", "12.0", 12), Case("input_tokens", "12.5"),
    Case("input_tokens", '"+5"'), Case("input_tokens", '"1e3"'), Case("input_tokens", "true"),
    Case("input_tokens", "[1]"), Case("input_tokens", "{}"), Case("input_tokens", '"١٢"'),
    Case("input_tokens", "1e99999999"), Case("input_tokens", "-1"), Case("input_tokens", str(2**63)),
    Case("cache_read_tokens", "1.5e1", 15), Case("cache_read_tokens", '""'), Case("cache_read_tokens", "1E2", 100),
    Case("model", "5"), Case("model", "true"), Case("model", '""', None), Case("model", '" "', None),
    Case("model", '"GPT-4O"', "gpt-4o"), Case("provider", "7"), Case("provider", '""', None),
    Case("request_id", "5"), Case("request_id", '""'), Case("request_id", '" "'), Case("request_id", "[1]"),
    Case("request_id", '" r1 "', "r1"), Case("story_id", '""'), Case("story_id", "false"),
    Case("cost", '""'), Case("cost", '" "'), Case("cost", "true"), Case("cost", "1e-19"), Case("cost", "1e99999999"),
    Case("cost", "0.000000000000000001", Decimal("0.000000000000000001")),
    Case("cost", '"0.1"', Decimal("0.1")), Case("cost", "1E-3", Decimal("0.001")),
]
JSON_NAMES = {"created_at": "at"}  # the web API's and record_tokens' name for a field the import calls otherwise


def record_json(case: Case) -> str:
    """A token record as JSON with the case's value written exactly as given."""
    fields = {"input_tokens": "1", "output_tokens": "2", case.field: case.json_text}
    return "{" + ", ".join(f'"{name}": {text}' for name, text in fields.items()) + "}"


def stored(db: Path, field: str) -> object:
    column = {"cost": "estimated_cost"}.get(field, field)
    rows = table_of(db, f"SELECT {column} FROM token_usage")
    return rows[0][0] if rows else "nothing"


def through_jsonl(db: Path, case: Case, tmp_path: Path) -> str | None:
    """`import tokens` of one line; the field its error names, or None when stored."""
    path = tmp_path / "one.jsonl"
    path.write_text('{"session_id": "s", ' + record_json(case)[1:] + "\n", encoding="utf-8")
    try:
        sessionstats.connect(db, "alice").import_tokens(path)
    except InvalidInput as error:
        return str(error).split(": ")[1]  # 'line 1: input_tokens: ...'
    return None


def through_web(db: Path, case: Case, batch: bool) -> str | None:
    body = record_json(case)
    with TestClient(build_app(sessionstats.connect(db, "alice"))) as client:
        answer = client.post("/api/sessions/s/tokens", content=f"[{body}]" if batch else body)
    if answer.status_code == 400:
        return answer.json()["field"].removeprefix("records[0].")
    assert answer.status_code == 201, answer.text
    return None


def through_python(db: Path, case: Case, many: bool) -> str | None:
    values = json.loads(record_json(case), parse_float=Decimal)
    database = sessionstats.connect(db, "alice")
    try:
        if many:
            database.record_many([{"session_id": "s", **values}])
        else:
            database.session("s").record_tokens(**values)
    except InvalidInput as error:
        return (error.field or "").removeprefix("records[0].")
    return None


def test_record_many_names_the_record_and_field_not_the_import_file_behind_it(tmp_path):
    database = sessionstats.connect(tmp_path / "t.duckdb", "alice")
    database.new_session("n", id="s")
    good = {"session_id": "s", "input_tokens": 1, "output_tokens": 2}
    with pytest.raises(InvalidInput) as refused:
        database.record_many([good, {**good, "output_tokens": "12.5"}])
    assert str(refused.value) == 'records[1].output_tokens: must be a whole number >= 0, got "12.5"'
    assert refused.value.field == "records[1].output_tokens"  # was None, and the message said 'line 3 (row 2)'


PATHS = {"jsonl": through_jsonl, "web": lambda db, case, _: through_web(db, case, False),
         "web batch": lambda db, case, _: through_web(db, case, True),
         "record_tokens": lambda db, case, _: through_python(db, case, False),
         "record_many": lambda db, case, _: through_python(db, case, True)}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_json_value_gets_the_same_verdict_on_every_json_path(tmp_path, path, case):
    db = tmp_path / "t.duckdb"
    sessionstats.connect(db, "alice").new_session("n", id="s")
    before = snapshot(db)
    refused_field = PATHS[path](db, case, tmp_path)
    if case.stored == REFUSED:
        assert refused_field == case.field
        assert snapshot(db) == before
    else:
        assert refused_field is None
        assert stored(db, case.field) == case.stored


@pytest.mark.parametrize(("blank", "column"), [("tone", "tone"), ("priority", "priority")])
def test_a_blank_label_in_a_json_lines_import_is_no_label_as_on_every_other_path(tmp_path, blank, column):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "t", blank: "  "}) + "\n", encoding="utf-8")
    assert database.import_stories(path).imported == 1  # was: 'line 1: cannot be read', naming no field
    assert table_of(db, f"SELECT {column} FROM story_history") == [(None,)]


def test_a_blank_provider_in_a_json_lines_import_is_no_provider(tmp_path):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    path = tmp_path / "calls.jsonl"
    path.write_text('{"session_id": "s", "input_tokens": 1, "output_tokens": 2, "provider": ""}\n', encoding="utf-8")
    assert database.import_tokens(path).imported == 1
    assert table_of(db, "SELECT provider FROM token_usage") == [(None,)]


@pytest.mark.parametrize("story_id", ['""', '"  "'])
def test_a_blank_story_id_in_an_import_is_refused_as_the_record_command_refuses_it(tmp_path, story_id):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    path = tmp_path / "stories.jsonl"
    path.write_text('{"session_id": "s", "title": "t", "id": ' + story_id + "}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"^line 1: id: the id is empty$"):
        database.import_stories(path)
    with pytest.raises(InvalidInput, match="id: the id is empty"):
        database.session("s").record_story("t", id=story_id.strip('"'))


@pytest.mark.parametrize(("duration", "seconds"), [("12.5", 12.5), ("1e3", 1000.0), ('"90.5"', 90.5), ("12", 12.0)])
def test_a_story_duration_with_a_fraction_is_recorded_through_the_web_api(tmp_path, duration, seconds):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    with TestClient(build_app(database)) as client:
        answer = client.post("/api/sessions/s/stories", content='{"title": "t", "duration": ' + duration + "}")
    assert answer.status_code == 201, answer.text  # was 400: "must be a number of seconds >= 0, got Decimal('12.5')"
    assert table_of(db, "SELECT duration FROM story_history") == [(seconds,)]


@pytest.mark.parametrize("duration", ["-1", "true", '"NaN"', "1e99999999", '"1 hour"'])
def test_a_story_duration_that_is_no_number_of_seconds_is_refused_through_the_web_api(tmp_path, duration):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    before = snapshot(db)
    with TestClient(build_app(database)) as client:
        answer = client.post("/api/sessions/s/stories", content='{"title": "t", "duration": ' + duration + "}")
    assert (answer.status_code, answer.json()["field"]) == (400, "duration")
    assert snapshot(db) == before


def test_a_response_with_a_count_of_1e99999999_is_refused_at_once(run_process):
    """int() of that Decimal builds 100 million digits: the process ran for minutes before it was refused."""
    assert run_process("new", "--id", "s").returncode == 0
    body = ('{"type": "message", "model": "claude-sonnet-4-5", '
            '"usage": {"input_tokens": 1e99999999, "output_tokens": 1}}')
    result = run_process("record-tokens", "-s", "s", "--from-response", "-", input=body, timeout=30)
    assert result.returncode == 2
    assert result.stderr == ("sessionstats: --from-response: usage.input_tokens: 1E+99999999 is too large "
                             f"(at most {2**63 - 1})\n")


def test_the_field_rules_never_build_the_digits_of_a_huge_json_number():
    """What the web API hands the rules for {"input_tokens": 1e99999999}, checked in a blink, not in minutes."""
    from sessionstats.validate import check_count

    with pytest.raises(InvalidInput, match="too large"):
        check_count(Decimal("1e99999999"), "input_tokens")
    with pytest.raises(InvalidInput, match="whole number >= 0"):
        check_count(Decimal("-1e99999999"), "input_tokens")


@pytest.mark.parametrize("count", [1e16, 1e18, Decimal("1E+18"), 12.0])
def test_record_many_takes_a_whole_float_count_as_record_tokens_does(tmp_path, count):
    database = sessionstats.connect(tmp_path / "t.duckdb", "alice")
    database.new_session("n", id="s")
    database.session("s").record_tokens(count, 1)
    database.record_many([{"session_id": "s", "input_tokens": count, "output_tokens": 1}])  # was: got "1e+16"
    assert table_of(tmp_path / "t.duckdb", "SELECT input_tokens FROM token_usage") == [(int(count),)] * 2


def test_a_response_with_bad_utf8_is_refused_by_the_web_api_as_by_the_cli(tmp_path, run_process, db):
    body = (b'{"type": "message", "id": "msg_\xff\xfe", "model": "claude-sonnet-4-5", '
            b'"usage": {"input_tokens": 1, "output_tokens": 1}}')
    database = sessionstats.connect(tmp_path / "t.duckdb", "alice")
    database.new_session("n", id="s")
    before = snapshot(tmp_path / "t.duckdb")
    with TestClient(build_app(database)) as client:
        answer = client.post("/api/sessions/s/responses", content=body)
    assert answer.status_code == 400, answer.text  # was 201, the id stored as 'msg_\ufffd\ufffd'
    assert answer.json() == {"error": "response: the response is not UTF-8 text (bad byte at offset 31)",
                             "field": "response"}
    assert snapshot(tmp_path / "t.duckdb") == before
    assert run_process("new", "--id", "s").returncode == 0
    result = run_process("record-tokens", "-s", "s", "--from-response", "-", input=body)
    assert (result.returncode, result.stderr) == (2, b"sessionstats: --from-response: the response is not UTF-8 "
                                                     b"text (bad byte at offset 31)\n")


# ---- stories: the web API, record_story and a JSON Lines import ----

STORY_CASES = [
    Case("duration", "12.5", 12.5), Case("duration", "1e3", 1000.0), Case("duration", '"12.5"', 12.5),
    Case("duration", "-0.0", 0.0), Case("duration", "true"), Case("duration", '""'), Case("duration", "-1"),
    Case("duration", "1e99999999"), Case("duration", '"١٢"'), Case("duration", '"+5"'), Case("duration", '"NaN"'),
    Case("word_count", "12.0", 12), Case("word_count", "1e2", 100), Case("word_count", '""'),
    Case("word_count", '"12"', 12), Case("word_count", "12.5"), Case("tone", '""', None), Case("tone", "5"),
    Case("tone", '"x\\u0000"'), Case("id", '""'), Case("id", "5"), Case("id", '" s1 "', "s1"),
    Case("narrative", "5"), Case("narrative", '"a\\u0000"'), Case("priority", '" "', None),
    Case("title", '" "'), Case("title", "5"), Case("title", '"' + "x" * 1001 + '"'),
]


def story_json(case: Case) -> str:
    fields = {"title": '"t"', case.field: case.json_text}
    return "{" + ", ".join(f'"{name}": {text}' for name, text in fields.items()) + "}"


def story_through(path: str, db: Path, case: Case, tmp_path: Path) -> str | None:
    database = sessionstats.connect(db, "alice")
    if path == "web":
        with TestClient(build_app(database)) as client:
            answer = client.post("/api/sessions/s/stories", content=story_json(case))
        return answer.json().get("field") if answer.status_code == 400 else None
    try:
        if path == "record_story":
            values = json.loads(story_json(case), parse_float=Decimal)
            database.session("s").record_story(values.pop("title"), **values)
        else:
            lines = tmp_path / "stories.jsonl"
            lines.write_text('{"session_id": "s", ' + story_json(case)[1:] + "\n", encoding="utf-8")
            database.import_stories(lines)
    except InvalidInput as error:
        return error.field or str(error).split(": ")[1]
    return None


@pytest.mark.parametrize("path", ["web", "record_story", "jsonl"])
@pytest.mark.parametrize("case", STORY_CASES, ids=str)
def test_a_story_field_gets_the_same_verdict_on_every_json_path(tmp_path, path, case):
    db = tmp_path / "t.duckdb"
    sessionstats.connect(db, "alice").new_session("n", id="s")
    before = snapshot(db)
    refused_field = story_through(path, db, case, tmp_path)
    if case.stored == REFUSED:
        assert refused_field == case.field
        assert snapshot(db) == before
    else:
        assert refused_field is None
        assert table_of(db, f"SELECT {case.field} FROM story_history") == [(case.stored,)]


def test_a_time_without_an_offset_is_read_in_one_zone_on_every_python_and_web_path(tmp_path, monkeypatch):
    """record_many and a web batch read '2026-01-01T12:00:00' as UTC, record_tokens and the CLI's import as
    local time ($SESSIONSTATS_TZ), and import_tokens() refused it: three readings of one value."""
    monkeypatch.setenv("SESSIONSTATS_TZ", "Europe/Paris")
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    session = database.new_session("n", id="s")
    noon = "2026-01-01T12:00:00"
    session.record_tokens(1, 1, at=noon, request_id="record_tokens")
    database.record_many([{"session_id": "s", "input_tokens": 1, "output_tokens": 1, "created_at": noon,
                           "request_id": "record_many"}])
    lines = tmp_path / "calls.jsonl"
    lines.write_text(json.dumps({"session_id": "s", "input_tokens": 1, "output_tokens": 1, "created_at": noon,
                                 "request_id": "import_tokens"}) + "\n", encoding="utf-8")
    database.import_tokens(lines)
    with TestClient(build_app(database)) as client:
        client.post("/api/sessions/s/tokens", content=json.dumps({"input_tokens": 1, "output_tokens": 1, "at": noon,
                                                                   "request_id": "web"}))
        client.post("/api/sessions/s/tokens", content=json.dumps([{"input_tokens": 1, "output_tokens": 1, "at": noon,
                                                                    "request_id": "web batch"}]))
    stored = table_of(db, "SELECT DISTINCT created_at FROM token_usage")
    assert stored == [(datetime(2026, 1, 1, 11, 0),)]  # noon in Paris is 11:00 UTC, on all five paths
