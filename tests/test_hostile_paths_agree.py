"""One hostile value, every path in, one verdict: a time and a session's settings pushed through the record
command, a JSON Lines and a CSV import, the Python API (one record and `record_many`) and the web API (one record
and a batch) are stored alike or refused alike, naming the field and writing nothing.

Before: an import stored '...T24:00:00Z' as the next midnight which `--at` refused; '...T10:00Z' was refused by
every import and stored by `--at`; Python read '2026-01-01+01:00' as 01:00 local time (its '+' a separator);
settings nested 5,000 deep were a RecursionError traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import execute_in, snapshot, table_of
from starlette.testclient import TestClient
from typer.testing import CliRunner

import sessionstats
from sessionstats.cli.app import app
from sessionstats.errors import InvalidInput
from sessionstats.serve.app import build_app
from sessionstats.validate import MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH, MAX_TEXT_BYTES

pytestmark = pytest.mark.file_only
REFUSED = "refused"

# (a time as written, what every path stores: naive UTC). Each has an offset, so no local zone is involved.
TIMES = [
    ("2026-01-01T10:00Z", datetime(2026, 1, 1, 10)), ("2026-01-01T10:00+01:00", datetime(2026, 1, 1, 9)),
    ("2026-01-01 10:00-0130", datetime(2026, 1, 1, 11, 30)),
    ("2026-01-01T10:00:00.5Z", datetime(2026, 1, 1, 10, 0, 0, 500000)),
    ("2026-01-01T23:59:59+00:00", datetime(2026, 1, 1, 23, 59, 59)),
    ("2026-01-01T24:00:00Z", REFUSED), ("2026-01-01T24:00Z", REFUSED), ("2026-12-31T23:59:60Z", REFUSED),
    ("2026-01-01T10:60Z", REFUSED), ("2026-02-30T10:00:00Z", REFUSED), ("0000-01-01T00:00:00Z", REFUSED),
    ("2026-01-01+01:00", REFUSED), ("2026-01-01Z", REFUSED), ("2026-01-01-01", REFUSED),
    ("9999-12-31T23:59:59Z", REFUSED), ("1777629600", REFUSED), ("1777629600000", REFUSED),
    ("2026-01-01t10:00:00z", REFUSED), ("2026-01-01T10:00:00.Z", REFUSED),
    # any number of fraction digits (.NET writes 7, Go 9), cut to the microsecond as the agents' logs are read
    ("2026-01-01T10:00:00.1234567Z", datetime(2026, 1, 1, 10, 0, 0, 123456)),
    ("2026-01-01T10:00:00.999999999+01:00", datetime(2026, 1, 1, 9, 0, 0, 999999)),
]


def through_option(db: Path, at: str, tmp_path: Path) -> str | None:
    result = CliRunner().invoke(app, ["record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0",
                                      "--at", at, "--db", str(db), "--user", "alice"])
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("sessionstats: --at: "), result.stderr
        return "created_at"
    assert result.exit_code == 0, result.stderr
    return None


def through_file(suffix: str) -> Callable[[Path, str, Path], str | None]:
    def run(db: Path, at: str, tmp_path: Path) -> str | None:
        path = tmp_path / f"rows.{suffix}"
        row = {"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": "0", "created_at": at}
        path.write_text(json.dumps(row) + "\n" if suffix == "jsonl" else
                        ",".join(row) + "\n" + ",".join(f'"{value}"' for value in row.values()) + "\n")
        try:
            sessionstats.connect(db, "alice").import_tokens(path)
        except InvalidInput as error:
            assert str(error).startswith("line "), error
            return str(error).split(": ")[1]
        return None

    return run


def through_python(many: bool) -> Callable[[Path, str, Path], str | None]:
    def run(db: Path, at: str, tmp_path: Path) -> str | None:
        database = sessionstats.connect(db, "alice")
        try:
            if many:
                database.record_many([{"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": "0",
                                       "created_at": at}])
            else:
                database.session("s").record_tokens(1, 1, cost="0", at=at)
        except InvalidInput as error:
            return {"at": "created_at"}.get(error.field, error.field).removeprefix("records[0].")
        return None

    return run


def through_web(batch: bool) -> Callable[[Path, str, Path], str | None]:
    def run(db: Path, at: str, tmp_path: Path) -> str | None:
        body = json.dumps({"input_tokens": 1, "output_tokens": 1, "cost": "0", "at": at})
        with TestClient(build_app(sessionstats.connect(db, "alice"))) as client:
            answer = client.post("/api/sessions/s/tokens", content=f"[{body}]" if batch else body)
        if answer.status_code == 400:
            return {"at": "created_at"}.get(answer.json()["field"], answer.json()["field"]).removeprefix("records[0].")
        assert answer.status_code == 201, answer.text
        return None

    return run


PATHS = {"--at": through_option, "jsonl": through_file("jsonl"), "csv": through_file("csv"),
         "record_tokens": through_python(False), "record_many": through_python(True),
         "web": through_web(False), "web batch": through_web(True)}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("at", "expected"), TIMES, ids=[case[0] for case in TIMES])
def test_a_time_gets_one_verdict_and_one_stored_value_on_every_path(tmp_path, path, at, expected):
    db = tmp_path / "t.duckdb"
    sessionstats.connect(db, "alice").new_session("n", id="s")
    before = snapshot(db)
    refused_field = PATHS[path](db, at, tmp_path)
    if expected == REFUSED:
        assert refused_field == "created_at"
        assert snapshot(db) == before
    else:
        assert refused_field is None
        assert table_of(db, "SELECT created_at FROM token_usage") == [(expected,)]


@pytest.mark.parametrize("at", ["2026-01-01T24:00:00Z", "2026-01-01+01:00"])
def test_a_story_import_refuses_a_time_record_story_refuses(cli, db, tmp_path, at):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    assert cli("record-story", "-s", "s", "-t", "T", "--at", at).exit_code == 2
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "T", "created_at": at}) + "\n")
    result = cli("import", "stories", str(path))
    assert result.exit_code == 2 and result.stderr.startswith("sessionstats: line 1: created_at: ")
    assert snapshot(db) == before


# ---- a session's settings: nested, huge, or holding text no other field takes ----

def deep(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


SETTINGS = [
    ({"k": deep(MAX_SETTINGS_DEPTH - 1)}, None),  # the object and its lists: exactly MAX_SETTINGS_DEPTH levels
    ({"k": deep(MAX_SETTINGS_DEPTH)}, f"settings: nests more than {MAX_SETTINGS_DEPTH} levels deep"),
    ({"k": deep(900)}, f"settings: nests more than {MAX_SETTINGS_DEPTH} levels deep"),
    ({"k": "x" * MAX_SETTINGS_BYTES}, "settings: 1,048,585 bytes of JSON (at most 1,048,576); keep large data "
                                      "outside the session"),
    ({"k": "a\x00b"}, "settings: contains a NUL byte"), ({"k\x00": 1}, "settings: contains a NUL byte"),
    ({"k": ["\ud800"]}, "settings: is not valid UTF-8 text"),
]


@pytest.mark.parametrize(("settings", "message"), SETTINGS, ids=range(len(SETTINGS)))
def test_settings_get_one_verdict_from_the_python_api_and_the_web_api(tmp_path, settings, message):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("first", id="first")
    before = snapshot(db)
    try:
        database.new_session("n", id="api", settings=settings)
    except InvalidInput as error:
        assert (str(error), error.field) == (message, "settings")
    else:
        assert message is None
    body = json.dumps({"id": "web", "settings": settings}).encode()
    with TestClient(build_app(database)) as client:
        answer = client.post("/api/sessions", content=body)
    if message is None:
        assert answer.status_code == 201, answer.text
        assert database.session("api").info().settings == database.session("web").info().settings == settings
    else:
        assert (answer.status_code, answer.json()) == (400, {"error": message, "field": "settings"})
        assert snapshot(db) == before


def test_a_settings_cycle_is_refused_as_too_deep_not_a_recursion(tmp_path):
    cycle: dict = {}
    cycle["self"] = cycle
    with pytest.raises(InvalidInput, match=f"^settings: nests more than {MAX_SETTINGS_DEPTH} levels deep$"):
        sessionstats.connect(tmp_path / "t.duckdb", "alice").new_session("n", settings=cycle)
    assert not (tmp_path / "t.duckdb").exists()


@pytest.mark.parametrize("levels", [MAX_SETTINGS_DEPTH, 5_000])
def test_a_setting_nested_too_deep_is_one_line_from_the_new_command(run_process, db, levels):
    value = "[" * levels + "]" * levels
    result = run_process("new", "--id", "s", "--setting", f"k={value}")
    assert result.returncode == 2
    assert result.stderr == f"sessionstats: --setting: nests more than {MAX_SETTINGS_DEPTH} levels deep\n"
    assert not db.exists()


def test_a_setting_at_the_deepest_allowed_is_kept_and_read_back(cli, db):
    value = "[" * (MAX_SETTINGS_DEPTH - 1) + "]" * (MAX_SETTINGS_DEPTH - 1)
    cli.ok("new", "--id", "s", "--setting", f"k={value}")
    assert sessionstats.connect(db, "alice").session("s").info().settings == {"k": deep(MAX_SETTINGS_DEPTH - 1)}


# ---- a story's duration and a label's length: the same value and the same words everywhere ----

def test_a_duration_of_minus_zero_is_stored_as_zero_by_the_python_api_as_by_an_import(tmp_path):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.session("s", create=True).record_story("api", duration=-0.0)
    path = tmp_path / "stories.jsonl"
    path.write_text('{"session_id": "s", "title": "file", "duration": -0.0}\n')
    database.import_stories(path)
    stored = table_of(db, "SELECT title, duration FROM story_history ORDER BY title")
    assert [(title, str(duration)) for title, duration in stored] == [("api", "0.0"), ("file", "0.0")]  # not -0.0


@pytest.mark.parametrize("duration", ["1e400", "Infinity", "NaN"])
def test_a_duration_that_is_no_finite_number_is_refused_in_the_import_s_words(tmp_path, duration):
    database = sessionstats.connect(tmp_path / "t.duckdb", "alice")
    with pytest.raises(InvalidInput) as refused:
        database.session("s", create=True).record_story("t", duration=float(duration))
    assert str(refused.value).startswith("duration: must be a number of seconds >= 0, got ")  # was 'inf seconds is...'
    assert not (tmp_path / "t.duckdb").exists()


def test_an_import_writes_a_too_long_label_s_length_as_the_record_command_does(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "x" * 1001}) + "\n")
    result = cli("import", "stories", str(path))
    assert result.stderr == "sessionstats: line 1: title: is 1,001 characters long (at most 1,000)\n"
    assert cli("record-story", "-s", "s", "-t", "x" * 1001).stderr == \
        "sessionstats: --title: is 1,001 characters long (at most 1,000)\n"


def test_a_cost_too_large_is_named_by_its_digits_not_a_python_repr(tmp_path):
    database = sessionstats.connect(tmp_path / "t.duckdb", "alice")
    database.new_session("n", id="s")
    with TestClient(build_app(database)) as client:
        answer = client.post("/api/sessions/s/tokens", content='{"input_tokens": 1, "output_tokens": 1, "cost": 1e9}')
    assert answer.json() == {"error": "cost: 1E+9 is too large (a record must cost under 1,000,000,000 US dollars)",
                             "field": "cost"}  # was "Decimal('1E+9') is too large"


# ---- a lone surrogate ("\ud800" in JSON): no path can store it as UTF-8; each refuses it naming the field ----

TEXT_FIELDS = ["model", "provider", "request_id", "story_id", "service_tier"]


def lone_surrogate_verdict(db: Path, tmp_path: Path, path: str, field: str) -> tuple[str | None, str]:
    """(the field refused, the message) when `field` holds a lone surrogate on `path`."""
    record = {"session_id": "s", "input_tokens": 1, "output_tokens": 1, field: "x\ud800y"}
    database = sessionstats.connect(db, "alice")
    try:
        if path == "jsonl":
            rows = tmp_path / "rows.jsonl"
            rows.write_text(json.dumps(record) + "\n")  # ensure_ascii: the file holds the escape, as any writer's
            database.import_tokens(rows)
        elif path == "record_many":
            database.record_many([{**record, field: "ok"}, record])
        elif path == "record_tokens":
            database.session("s").record_tokens(**{k: v for k, v in record.items() if k != "session_id"})
    except InvalidInput as error:
        return error.field, str(error)
    with TestClient(build_app(database)) as client:
        body = {name: value for name, value in record.items() if name != "session_id"}
        answer = client.post("/api/sessions/s/tokens", content=json.dumps([body] if path == "web batch" else body))
    return answer.json().get("field"), answer.json().get("error", answer.text)


@pytest.mark.parametrize("path", ["jsonl", "record_tokens", "record_many", "web", "web batch"])
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_a_lone_surrogate_in_a_text_field_is_refused_naming_the_field_on_every_path(tmp_path, path, field):
    db = tmp_path / "t.duckdb"
    sessionstats.connect(db, "alice").new_session("n", id="s")
    before = snapshot(db)
    refused, message = lone_surrogate_verdict(db, tmp_path, path, field)
    where = {"jsonl": "line 1: ", "record_many": "records[1].", "web batch": "records[0]."}.get(path, "")
    assert refused == (None if path == "jsonl" else where + field)  # an import names the line, not a field
    assert message == f"{where}{field}: is not valid UTF-8 text"  # was a traceback (record_many, a web batch)
    assert snapshot(db) == before                                  # and no line number (jsonl)


@pytest.mark.parametrize("field", ["title", "narrative", "tone", "priority", "id"])
def test_a_lone_surrogate_in_a_story_import_names_its_line_and_field(tmp_path, field):
    db = tmp_path / "t.duckdb"
    database = sessionstats.connect(db, "alice")
    database.new_session("n", id="s")
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "ok"}) + "\n"
                    + json.dumps({"session_id": "s", "title": "t", field: "x\udfffy"}) + "\n")
    with pytest.raises(InvalidInput, match=f"^line 2: {field}: is not valid UTF-8 text$"):
        database.import_stories(path)
    with pytest.raises(InvalidInput, match=f"^{field}: is not valid UTF-8 text$"):
        database.session("s").record_story(**{"title": "t", field: "x\udfffy"})


# ---- a model name lower-cased one way: Python's str.lower() and DuckDB's lower() differed on Σ and İ ----

@pytest.mark.parametrize(("model", "stored"), [("ΟΔΟΣ-1", "οδοσ-1"), ("İZMİR", "izmir"), ("GPT-4O", "gpt-4o")])
def test_a_model_name_is_lower_cased_alike_by_every_path(cli, db, tmp_path, model, stored):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0", "--model", model)
    row = {"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": "0", "model": model}
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "rows.csv").write_text(",".join(row) + "\n" + ",".join(map(str, row.values())) + "\n")
    database = sessionstats.connect(db, "alice")
    database.import_tokens(tmp_path / "rows.jsonl")
    database.import_tokens(tmp_path / "rows.csv")
    database.session("s").record_tokens(1, 1, cost="0", model=model)
    database.record_many([row])
    with TestClient(build_app(database)) as client:
        body = {name: value for name, value in row.items() if name != "session_id"}
        assert client.post("/api/sessions/s/tokens", content=json.dumps(body)).status_code == 201
        assert client.post("/api/sessions/s/tokens", content=json.dumps([body])).status_code == 201
    assert table_of(db, "SELECT model, count(*) FROM token_usage GROUP BY model") == [(stored, 7)]
    assert cli.json("calls", "s", "--model", model)[0]["model"] == stored  # the filter finds it as typed


# ---- whitespace: what is blank, and what a value loses at its ends, is one rule (SQL's trim() kept a tab) ----

@pytest.mark.parametrize("blank", ["\t", "\n", "\r\n", "\u2028", "\x1f", "\x85", " \u3000 "], ids=repr)
def test_a_title_of_whitespace_alone_is_refused_by_an_import_as_by_record_story(cli, db, tmp_path, blank):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    assert cli("record-story", "-s", "s", "-t", blank).stderr == "sessionstats: --title: must not be empty\n"
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": blank}) + "\n")
    assert cli("import", "stories", str(path)).stderr == "sessionstats: line 1: title: must not be empty\n"
    assert snapshot(db) == before


@pytest.mark.parametrize("blank", ["\t", "\u2029", "\x0b"], ids=repr)
def test_a_tone_of_whitespace_alone_is_no_tone_on_every_path(cli, db, tmp_path, blank):
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "-t", "option", "--tone", blank)
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "file", "tone": blank}) + "\n")
    cli.ok("import", "stories", str(path))
    assert table_of(db, "SELECT title, tone FROM story_history ORDER BY title") == [("file", None), ("option", None)]


@pytest.mark.parametrize(("model", "verdict"), [("\t", "the id contains a control character (U+0009)"),
                                                ("\u3000", None), (" \u2028 ", None)], ids=repr)
def test_a_model_of_spaces_is_no_model_and_a_tab_a_control_character_on_every_path(cli, db, tmp_path, model, verdict):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    by_option = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0", "--model", model)
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": "0",
                                "model": model}) + "\n")
    by_import = cli("import", "tokens", str(path))
    if verdict:
        assert by_option.stderr == f"sessionstats: --model: {verdict}\n"  # was: stored with no model
        assert by_import.stderr == f"sessionstats: line 1: model: {verdict}\n"
        assert snapshot(db) == before
    else:
        assert (by_option.exit_code, by_import.exit_code) == (0, 0)
        assert table_of(db, "SELECT model FROM token_usage") == [(None,), (None,)]


@pytest.mark.parametrize(("at", "stored"), [("\t2026-01-01T10:00:00Z", REFUSED), ("2026-01-01T10:00:00Z\n", REFUSED),
                                            ("\u30002026-01-01T10:00:00Z\u00a0", datetime(2026, 1, 1, 10))], ids=repr)
def test_a_time_loses_the_same_characters_at_its_ends_on_every_path(tmp_path, at, stored):
    for path in PATHS:
        db = tmp_path / f"{path}.duckdb"
        sessionstats.connect(db, "alice").new_session("n", id="s")
        refused_field = PATHS[path](db, at, tmp_path)
        assert refused_field == ("created_at" if stored == REFUSED else None), path
        if stored != REFUSED:
            assert table_of(db, "SELECT created_at FROM token_usage") == [(stored,)], path


# ---- a response nested past any recursion limit: refused alike as a dict, as text and by the CLI ----

def test_a_response_nested_too_deep_is_refused_alike_as_a_dict_as_text_and_by_the_cli(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    content: list = []
    for _ in range(100_000):
        content = [content]
    usage = {"type": "message", "model": "my-own-model", "usage": {"input_tokens": 1, "output_tokens": 1}}
    text = json.dumps(usage)[:-1] + ', "content": ' + "[" * 100_000 + "]" * 100_000 + "}"
    session = sessionstats.connect(db, "alice").session("s")
    for response in ({**usage, "content": content}, [{**usage, "content": content}], text):  # was a RecursionError
        with pytest.raises(InvalidInput, match=r"^response: the response nests too deeply to be an API response$"):
            session.record_response(response)
    (tmp_path / "response.json").write_text(text)
    result = cli("record-tokens", "-s", "s", "--from-response", str(tmp_path / "response.json"))
    assert result.stderr == "sessionstats: --from-response: the response nests too deeply to be an API response\n"
    assert snapshot(db) == before


# ---- a narrative's size: at most MAX_TEXT_BYTES of UTF-8 whichever path brings it ----

def test_a_narrative_over_the_text_cap_is_refused_by_the_api_as_by_every_file_path(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    session = sessionstats.connect(db, "alice").session("s")
    over = "é" * (MAX_TEXT_BYTES // 2) + "x"  # one byte over, in two-byte characters
    with pytest.raises(InvalidInput) as refused:
        session.record_story("t", narrative=over)  # was stored
    assert (str(refused.value), refused.value.field) == (
        f"narrative: is {MAX_TEXT_BYTES + 1:,} bytes of UTF-8 text (at most {MAX_TEXT_BYTES:,})", "narrative")
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "t", "narrative": "w " * (10 << 20)}) + "\n")
    result = cli("import", "stories", str(path))  # was stored: 20 MiB
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("sessionstats: line 1: ")
    (tmp_path / "over.txt").write_text(over)
    result = cli("record-story", "-s", "s", "-t", "t", "--narrative-file", str(tmp_path / "over.txt"))
    assert result.exit_code == 2 and "--narrative-file" in result.stderr
    assert snapshot(db) == before


def test_a_narrative_of_exactly_the_text_cap_is_stored_by_the_api(tmp_path):
    db = tmp_path / "t.duckdb"
    session = sessionstats.connect(db, "alice").session("s", create=True)
    session.record_story("t", narrative="é" * (MAX_TEXT_BYTES // 2))
    assert table_of(db, "SELECT strlen(narrative) FROM story_history") == [(MAX_TEXT_BYTES,)]


@pytest.mark.parametrize(("provider", "stored"), [(" openai\u3000", "openai"), ("\topenai", "\topenai"),
                                                  ("openai\n", "openai\n")], ids=repr)
def test_a_provider_loses_the_same_characters_at_its_ends_on_every_path(cli, db, tmp_path, provider, stored):
    """Given a cost, a provider is a label: only spaces go (the record command stripped a tab, the import kept it)."""
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0", "--provider", provider)
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": "0",
                                "provider": provider}) + "\n")
    cli.ok("import", "tokens", str(path))
    sessionstats.connect(db, "alice").session("s").record_tokens(1, 1, cost="0", provider=provider)
    assert table_of(db, "SELECT provider FROM token_usage") == [(stored,)] * 3


# ---- a local time at a daylight-saving change: the record command, the API and an import read it alike ----

DST_TIMES = [("Europe/Paris", "2026-10-25T02:30:00", datetime(2026, 10, 25, 1, 30)),  # 02:30 twice: the later
             ("Europe/Paris", "2026-03-29T02:30:00", datetime(2026, 3, 29, 1, 30)),  # skipped: read at +01:00
             ("America/New_York", "2026-11-01T01:30:00", datetime(2026, 11, 1, 6, 30)),
             ("America/New_York", "2026-03-08T02:30:00", datetime(2026, 3, 8, 7, 30))]


@pytest.mark.parametrize(("zone", "at", "expected"), DST_TIMES, ids=[f"{case[0]}-{case[1]}" for case in DST_TIMES])
def test_a_local_time_at_a_clock_change_is_stored_alike_by_at_the_api_and_an_import(run_process, db, tmp_path,
                                                                                   zone, at, expected):
    env = {"TZ": zone}
    assert run_process("new", "--id", "s", env=env).returncode == 0
    assert run_process("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0", "--at", at,
                       "--request-id", "option", env=env).returncode == 0
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": "0",
                                "created_at": at, "request_id": "import"}) + "\n")
    assert run_process("import", "tokens", str(path), env=env).returncode == 0
    script = ("import sys, datetime, sessionstats; s = sessionstats.connect(sys.argv[1], 'alice').session('s'); "
              "s.record_tokens(1, 1, cost='0', at=sys.argv[2], request_id='text'); "
              "s.record_tokens(1, 1, cost='0', at=datetime.datetime.fromisoformat(sys.argv[2]), request_id='naive')")
    subprocess.run([sys.executable, "-c", script, str(db), at], env={**os.environ, **env}, check=True, timeout=60)
    stored = dict(table_of(db, "SELECT request_id, created_at FROM token_usage"))
    assert set(stored.values()) == {expected}, stored  # --at took the earlier of two, the import the later


def test_a_stored_settings_row_no_reader_can_take_reads_as_none_and_the_session_still_works(cli, db):
    """Another writer (an older version, a raised recursion limit) can leave settings 5,000 deep: `start`,
    `rename`, the API and the panel's detail were a RecursionError; now they work and the row is left as it is."""
    cli.ok("new", "--id", "s")
    deep_text = '{"k": ' + "[" * 5_000 + "]" * 5_000 + "}"
    execute_in(db, f"UPDATE sessions SET settings = '{deep_text}'")
    cli.ok("rename", "s", "renamed")
    cli.ok("start", "s")
    database = sessionstats.connect(db, "alice")
    assert database.session("s").info().settings == {}
    with TestClient(build_app(database)) as client:
        assert client.get("/api/sessions/s/detail").status_code == 200
    assert table_of(db, "SELECT name, status, settings FROM sessions") == [("renamed", "live", deep_text)]


# ---- a read that is a shell completion: silent, and it makes nothing ----

@pytest.mark.parametrize("given", ["missing", "ΣΑΣ"])
def test_completing_a_session_prints_nothing_on_stderr_and_makes_no_database(run_process, db, cli, given):
    """The "no database yet" warning was printed into the shell's line at each tab."""
    if given != "missing":
        cli.ok("new", "ΣΑΣ", "--id", "greek-1")
    before = db.exists() and db.stat().st_mtime_ns
    words = f"sessionstats show {'' if given == 'missing' else given}"
    env = {"_SESSIONSTATS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "2",
           "_TYPER_COMPLETE_ARGS": words}
    done = run_process(env=env)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ([] if given == "missing" else ["ΣΑΣ"])  # a name matched as SQL lower-cases it
    assert (db.exists() and db.stat().st_mtime_ns) == before


# ---- Unicode normalisation: none on any path, so "é" (NFC) and "e\u0301" (NFD) are two ids everywhere ----

def test_a_composed_and_a_decomposed_id_are_two_ids_on_every_path(cli, db, tmp_path):
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    cli.ok("new", "--id", composed)
    assert cli("show", decomposed).exit_code == 1  # one is not the other, typed or looked up
    rows = [{"session_id": composed, "input_tokens": 1, "output_tokens": 1, "cost": "0", "request_id": rid}
            for rid in (composed, decomposed)]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    cli.ok("import", "tokens", str(path))
    database = sessionstats.connect(db, "alice")
    for rid in (composed, decomposed):  # each is there already, on the API and the web API alike
        assert database.session(composed).record_tokens(1, 1, cost="0", request_id=rid).created is False
    with TestClient(build_app(database)) as client:
        answer = client.post(f"/api/sessions/{decomposed}/tokens", content='{"input_tokens": 1, "output_tokens": 1}')
        assert answer.status_code == 404
    assert sorted(table_of(db, "SELECT request_id FROM token_usage")) == sorted([(composed,), (decomposed,)])


# ---- a datetime at the edge of the calendar: the API refuses it naming the field, never an OverflowError ----

EDGE_DATETIMES = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59),
                  datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))]


@pytest.mark.parametrize("at", EDGE_DATETIMES, ids=str)
def test_a_datetime_past_the_calendar_s_edge_is_refused_by_the_api_naming_its_field(tmp_path, at):
    script = ("import sys, datetime, sessionstats\n"
              "db = sessionstats.connect(sys.argv[1], 'alice'); db.new_session('n', id='s')\n"
              f"at = {at!r}\n"
              "row = dict(session_id='s', input_tokens=1, output_tokens=1, created_at=at)\n"
              "for call in (lambda: db.session('s').record_tokens(1, 1, cost='0', at=at),\n"
              "             lambda: db.session('s').record_story('t', at=at), lambda: db.record_many([row])):\n"
              "    try:\n"
              "        call()\n"
              "    except sessionstats.InvalidInput as error:\n"
              "        print(error.field)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "t.duckdb")], capture_output=True, text=True,
                          env={**os.environ, "TZ": "Asia/Tokyo"}, timeout=60)  # east of UTC: year 1 underflows
    assert (done.returncode, done.stderr) == (0, ""), done.stderr  # was an OverflowError traceback
    assert done.stdout.split() == ["at", "at", "records[0].created_at"]
    assert table_of(tmp_path / "t.duckdb", "SELECT count(*) FROM token_usage") == [(0,)]


@pytest.mark.parametrize(("model", "stored"), [("gpt-4o\t", None), ("\ngpt-4o", None), ("\t", None),
                                               (" gpt-4o ", "gpt-4o"), ("GPT-4o\u3000", "gpt-4o")])
def test_a_responses_model_follows_the_model_rule_of_an_import(cli, db, tmp_path, model, stored):
    """--from-response stripped every whitespace from a response's model and id, where an import refuses a tab."""
    response = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": model,
                "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}
    (tmp_path / "r.json").write_text(json.dumps(response))
    (tmp_path / "rows.jsonl").write_text(json.dumps({"session_id": "s", "model": model, "input_tokens": 10,
                                                     "output_tokens": 2}) + "\n")
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    verdicts = [cli("record-tokens", "-s", "s", "--from-response", str(tmp_path / "r.json")),
                cli("import", "tokens", str(tmp_path / "rows.jsonl"))]
    if stored is None:
        assert [v.exit_code for v in verdicts] == [2, 2], [v.stderr for v in verdicts]
        assert all("control character" in v.stderr and v.stderr.count("\n") == 1 for v in verdicts)
        assert snapshot(db) == before
    else:
        assert [v.exit_code for v in verdicts] == [0, 0], [v.stderr for v in verdicts]
        assert {row["model"] for row in json.loads(cli.ok("calls", "s", "--format", "json"))} == {stored}
