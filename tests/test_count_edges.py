"""A count at its edges gets one verdict on every path in (validate.check_count states the rule).

A number (JSON) is judged by its exact value: 1E2 is 100, -0.0 is 0, 1.00000000000000000001 is no count. A text
(an option, a CSV cell, a JSON string) by its digits: '12', ' 7', '12.0' and '-0' are counts, '1e3' is not.
Each path stores the same value or refuses with nothing written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from claude_logs import assistant_line, write_lines
from conftest import db_argument, snapshot, table_of
from opencode_logs import create_database

from sessionstats.errors import InvalidInput
from sessionstats.ingest.records import TokenUsageInput, record_tokens
from sessionstats.store import open_store

pytestmark = pytest.mark.file_only
REFUSED = "refused"
BIGGEST = 2**63 - 1

# (the number as written in JSON, what every JSON path stores)
JSON_NUMBERS = [
    ("0e5", 0), ("1E2", 100), ("1.0", 1), ("1.50", REFUSED), ("-0", 0), ("-0.0", 0), ("0.0e-5", 0),
    ("1e400", REFUSED), ("-1e400", REFUSED), ("9223372036854775808", REFUSED), (str(BIGGEST), BIGGEST),
    ("922337203685477580.7e1", BIGGEST), ("1.00000000000000000001", REFUSED), ("9007199254740993.0", 2**53 + 1),
    ("-1", REFUSED), ("-0.5", REFUSED), ("true", REFUSED), ("[7]", REFUSED), ('"7"', 7), ('" 7"', 7),
    ('"1e3"', REFUSED), ('"-0"', 0), ('"12.0"', 12), ('"7\\u00a0"', REFUSED), ('"٧"', REFUSED),
    ("100e-2", 1), ("1200e-2", 12), ("0e-30", 0), ("1e-99999999999", REFUSED), ("1e99999999999", REFUSED),
]
# (the text as typed or written in a CSV cell, what every text path stores)
TEXTS = [
    ("0e5", REFUSED), ("1E2", REFUSED), ("1.0", 1), ("1.50", REFUSED), ("-0", 0), ("-0.0", 0), ("1e400", REFUSED),
    (str(2**63), REFUSED), (str(BIGGEST), BIGGEST), (" 7", 7), ("7 ", 7), ("true", REFUSED), ("+7", REFUSED),
    ("1.00000000000000000001", REFUSED), ("-1", REFUSED), ("1_000", REFUSED), ("0x10", REFUSED), ("", REFUSED),
]


def ids(case: tuple) -> str:
    return f"{case[0]}->{case[1]}"


@pytest.fixture
def session_s(cli, db) -> tuple:
    cli.ok("new", "--id", "s")
    return snapshot(db)


def stored_input(db) -> object:
    rows = table_of(db, "SELECT input_tokens FROM token_usage")
    return rows[0][0] if rows else None


def assert_exit_verdict(db, before: tuple, result, expected: object, first_words: str) -> None:
    if expected == REFUSED:
        assert result.exit_code == 2, (result.exit_code, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"sessionstats: {first_words}")
        assert snapshot(db) == before
    else:
        assert result.exit_code == 0, result.stderr
        assert stored_input(db) == expected


# ---- JSON numbers ----

@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_a_json_lines_import_reads_a_count_by_its_exact_value(cli, db, session_s, tmp_path, case):
    raw, expected = case
    path = tmp_path / "rows.jsonl"
    path.write_text('{"session_id": "s", "input_tokens": ' + raw + ', "output_tokens": 0}\n')
    assert_exit_verdict(db, session_s, cli("import", "tokens", str(path)), expected, "line 1: input_tokens: ")


_BEYOND_A_DOUBLE = {"9007199254740993.0", "922337203685477580.7e1"}  # whole, but not what a double holds


@pytest.mark.parametrize("case", [c for c in JSON_NUMBERS if c[0] not in _BEYOND_A_DOUBLE], ids=ids)
def test_a_count_under_a_key_spelt_with_an_escape_is_read_by_the_same_rule(cli, db, session_s, tmp_path, case):
    """`input\\u005ftokens` is input_tokens: the key the exact reading looks for is hidden, the rule is not."""
    raw, expected = case
    path = tmp_path / "rows.jsonl"
    path.write_text('{"session_id": "s", "input\\u005ftokens": ' + raw + ', "output_tokens": 0}\n')
    assert_exit_verdict(db, session_s, cli("import", "tokens", str(path)), expected, "line 1: input_tokens: ")


@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_a_json_lines_story_import_reads_a_word_count_by_its_exact_value(cli, db, session_s, tmp_path, case):
    raw, expected = case
    path = tmp_path / "stories.jsonl"
    path.write_text('{"session_id": "s", "title": "t", "word_count": ' + raw + "}\n")
    result = cli("import", "stories", str(path))
    if expected == REFUSED:
        assert result.exit_code == 2 and result.stderr.startswith("sessionstats: line 1: word_count: ")
        assert snapshot(db) == session_s
    else:
        assert result.exit_code == 0, result.stderr
        assert table_of(db, "SELECT word_count FROM story_history") == [(expected,)]


@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_a_response_body_reads_a_count_by_its_exact_value(cli, db, session_s, case):
    raw, expected = case
    body = '{"type": "message", "model": "my-own-model", "usage": {"input_tokens": ' + raw + \
           ', "output_tokens": 0}}'
    result = cli("record-tokens", "-s", "s", "--from-response", "-", input=body)
    assert_exit_verdict(db, session_s, result, expected, "--from-response: usage.input_tokens: ")


@pytest.fixture
def web(db) -> Iterator:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    import sessionstats
    from sessionstats.serve.app import build_app

    with TestClient(build_app(sessionstats.connect(db_argument(db), "alice"))) as client:
        yield client


@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_the_web_api_reads_a_count_by_its_exact_value(web, db, session_s, case):
    raw, expected = case
    answer = web.post("/api/sessions/s/tokens", content='{"input_tokens": ' + raw + ', "output_tokens": 0}',
                      headers={"content-type": "application/json"})
    if expected == REFUSED:
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "input_tokens"
        assert snapshot(db) == session_s
    else:
        assert answer.status_code in (200, 201), answer.text
        assert stored_input(db) == expected


def otlp_export(raw: str) -> str:
    """A Claude Code api_request log event (its documented attributes) whose input_tokens is `raw` as intValue."""
    attributes = [("event.name", '{"stringValue": "api_request"}'), ("session.id", '{"stringValue": "cc"}'),
                  ("model", '{"stringValue": "my-own-model"}'), ("input_tokens", '{"intValue": ' + raw + "}"),
                  ("output_tokens", '{"intValue": "0"}'), ("event.sequence", '{"intValue": "1"}')]
    listed = ", ".join(f'{{"key": "{key}", "value": {value}}}' for key, value in attributes)
    return ('{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "claude_code.api_request"}, '
            '"timeUnixNano": "1777629600000000000", "attributes": [' + listed + "]}]}]}]}")


@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_the_otlp_receiver_reads_a_count_by_its_exact_value(web, db, case):
    raw, expected = case
    answer = web.post("/v1/logs", content=otlp_export(raw), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    stored = table_of(db, "SELECT input_tokens FROM token_usage")
    if expected == REFUSED:
        assert stored == [] and answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    else:
        assert stored == [(expected,)]


@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_an_otel_file_import_reads_a_count_by_its_exact_value(cli, db, tmp_path, case):
    raw, expected = case
    path = tmp_path / "export.jsonl"
    path.write_text(otlp_export(raw) + "\n")
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    stored = table_of(db, "SELECT input_tokens FROM token_usage")
    assert stored == ([] if expected == REFUSED else [(expected,)])
    if expected == REFUSED:
        assert "1 malformed" in result.stderr


# Claude Code's and OpenCode's readers are DuckDB's JSON, which reads a number with a point or exponent as a
# double: the value of a double is all it sees, so a fraction past a double's precision is beyond it (README).
_DOUBLE_BLIND = {"1.00000000000000000001", "9007199254740993.0", "922337203685477580.7e1", "1e-99999999999"}


@pytest.mark.parametrize("case", [c for c in JSON_NUMBERS if c[0] not in _DOUBLE_BLIND], ids=ids)
def test_a_claude_code_log_reads_a_count_by_its_exact_value(cli, db, tmp_path, case):
    raw, expected = case
    line = assistant_line("s1", "msg_1", "req_1", "my-own-model", {"input_tokens": 1, "output_tokens": 0},
                          datetime(2025, 6, 1, tzinfo=UTC)).replace('"input_tokens":1', f'"input_tokens":{raw}')
    write_lines(tmp_path / "claude" / "projects" / "-p" / "s1.jsonl", [line])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0, result.stderr
    stored = table_of(db, "SELECT input_tokens FROM token_usage")
    assert stored == ([] if expected == REFUSED else [(expected,)])


# An OpenCode message of no tokens at all is no call: each carries one output token (so not the largest count).
@pytest.mark.parametrize("case", [c for c in JSON_NUMBERS if c[1] != BIGGEST and c[0] not in _DOUBLE_BLIND], ids=ids)
def test_an_opencode_message_reads_a_count_by_its_exact_value(cli, db, tmp_path, case):
    raw, expected = case
    con = create_database(tmp_path / "opencode" / "opencode.db")
    data = ('{"role": "assistant", "modelID": "my-own-model", "tokens": {"input": ' + raw
            + ', "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}}}')
    con.execute("INSERT INTO message VALUES ('msg_1', 'ses_1', 0, 0, ?)", (data,))
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    stored = table_of(db, "SELECT input_tokens FROM token_usage")
    assert stored == ([] if expected == REFUSED else [(expected,)])


@pytest.mark.parametrize("case", JSON_NUMBERS, ids=ids)
def test_a_gemini_session_document_reads_a_count_by_its_exact_value(cli, db, tmp_path, case):
    raw, expected = case
    chats = tmp_path / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    message = {"id": "m1", "type": "gemini", "model": "my-own-model", "tokens": {"input": "RAW", "output": 0}}
    (chats / "session-g.json").write_text(json.dumps({"sessionId": "g", "projectHash": "h", "messages": [message]})
                                          .replace('"RAW"', raw))
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    stored = table_of(db, "SELECT input_tokens FROM token_usage")
    assert stored == ([] if expected == REFUSED else [(expected,)])


# ---- texts ----

@pytest.mark.parametrize("case", TEXTS, ids=ids)
def test_the_record_command_reads_a_count_by_its_digits(cli, db, session_s, case):
    text, expected = case
    result = cli("record-tokens", "-s", "s", "--input", text, "--output", "0")
    assert_exit_verdict(db, session_s, result, expected, "Invalid value for '--input': ")


@pytest.mark.parametrize("case", TEXTS, ids=ids)
def test_a_csv_import_reads_a_count_by_its_digits(cli, db, session_s, tmp_path, case):
    text, expected = case
    path = tmp_path / "rows.csv"
    path.write_text(f'session_id,input_tokens,output_tokens\ns,"{text}",0\n')
    result = cli("import", "tokens", str(path))
    first = "line 2 (row 1): input_tokens: " if text else "line 2 (row 1): input_tokens: is missing"
    assert_exit_verdict(db, session_s, result, expected, first)


@pytest.mark.parametrize("case", [c for c in TEXTS if c[0]], ids=ids)
def test_a_json_string_reads_a_count_by_its_digits(cli, db, session_s, tmp_path, case):
    text, expected = case
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"session_id": "s", "input_tokens": text, "output_tokens": 0}) + "\n")
    assert_exit_verdict(db, session_s, cli("import", "tokens", str(path)), expected, "line 1: input_tokens: ")


@pytest.mark.parametrize("case", TEXTS, ids=ids)
def test_the_core_call_reads_a_count_by_its_digits(db, session_s, case):
    text, expected = case
    try:
        with open_store(Path(str(db)), write=True) as store:
            record_tokens(store, TokenUsageInput(session_id="s", input_tokens=text, output_tokens=0), user="alice")
    except InvalidInput as error:
        assert expected == REFUSED and error.field == "input_tokens"
        assert snapshot(db) == session_s
        return
    assert stored_input(db) == expected


# ---- a cost's text: only ASCII spaces at its ends go (DuckDB's cast also took a tab); places by its exact value ----

COST_TEXTS = [(" 0.5 ", Decimal("0.5")), ("0.5\t", REFUSED), ("0.5\u00a0", REFUSED), ("\n0.5", REFUSED),
              ("0.5\r", REFUSED), ("100e-20", Decimal("1e-18")), ("0e-30", Decimal(0)), ("1e-99999999999", REFUSED),
              ("1.0000000000000000000", Decimal(1)), ("5E-19", REFUSED)]


@pytest.mark.parametrize("case", COST_TEXTS, ids=ids)
@pytest.mark.parametrize("path", ["option", "jsonl", "csv"])
def test_a_cost_with_spaces_other_than_ascii_ones_at_its_ends_is_refused_on_every_path(cli, db, session_s, tmp_path,
                                                                                       case, path):
    text, expected = case
    if path == "option":
        result = cli("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", text)
    else:
        rows = tmp_path / f"rows.{path}"
        rows.write_text(json.dumps({"session_id": "s", "input_tokens": 1, "output_tokens": 0, "cost": text}) + "\n"
                        if path == "jsonl" else f'session_id,input_tokens,output_tokens,cost\ns,1,0,"{text}"\n')
        result = cli("import", "tokens", str(rows))
    if expected == REFUSED:
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "cost" in result.stderr
        assert snapshot(db) == session_s
    else:
        assert result.exit_code == 0, result.stderr
        assert table_of(db, "SELECT estimated_cost FROM token_usage") == [(expected,)]
