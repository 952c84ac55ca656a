"""One rule per field, whatever the way in: the same bad value gets the same verdict on every path.

The paths: the record commands' options, `import tokens|stories` (JSON Lines and CSV, checked in SQL),
the core call a Python program makes (records.record_tokens / record_story), `import claude-code`,
`import llm` and `--from-response`. A refused value writes nothing; an accepted one is stored the same way
(ids stripped, models lower-cased) whichever path brought it.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from claude_logs import assistant_line, write_lines
from conftest import Cli, snapshot, table_of

from sessionstats.errors import InvalidInput
from sessionstats.ingest.records import TokenUsageInput, record_tokens
from sessionstats.store import open_store

REFUSED = "refused"
LONG_ID = "x" * 201


@dataclass(frozen=True)
class Case:
    """A value for a field; `stored` is what every path stores (REFUSED: nothing, exit 2)."""

    field: str
    value: object
    stored: object = REFUSED

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}"


# ---- token records: CLI option, JSON Lines, CSV and the core call ----

TOKEN_CASES = [
    Case("input_tokens", 12.5), Case("input_tokens", "12.5"), Case("input_tokens", "²"),
    Case("input_tokens", "١٢"), Case("input_tokens", "-1"), Case("input_tokens", "1e3"),
    Case("input_tokens", "nan"), Case("input_tokens", "0x10"), Case("input_tokens", str(2**63)),
    Case("input_tokens", "12.0", 12), Case("input_tokens", " 7 ", 7), Case("output_tokens", 0.5),
    Case("cache_read_tokens", "3.25"), Case("cache_write_tokens", "1_000"),
    Case("request_id", "r1\t"), Case("request_id", "r1\n"), Case("request_id", "r\x85"),
    Case("request_id", "\x1b]0;owned\x07"), Case("request_id", LONG_ID), Case("request_id", " r1 ", "r1"),
    Case("request_id", "\u00a0r1\u3000", "r1"), Case("story_id", "st\r"), Case("story_id", LONG_ID),
    Case("session_id", "s\n"), Case("session_id", "s\x00"), Case("session_id", "s" * 201),
    Case("session_id", "\u2003s ", "s"), Case("model", "GPT-4O", "gpt-4o"), Case("model", " gpt-4o ", "gpt-4o"),
    Case("model", "gpt\t4o"),
    Case("model", "m" * 201),
    Case("cost", "9e19"), Case("cost", "1e9"), Case("cost", "1000000000"), Case("cost", "1_000"),
    Case("cost", "+1"), Case("cost", "NaN"), Case("cost", "Infinity"), Case("cost", "-0.01"),
    Case("cost", "１"), Case("cost", "0.0000000000000000001"),
    Case("cost", "999999999.999999999999999999", Decimal("999999999.999999999999999999")),
    Case("cost", "1.000000000000000001", Decimal("1.000000000000000001")),
    Case("created_at", "12000-01-01"), Case("created_at", "infinity"), Case("created_at", "epoch"),
    Case("created_at", "2026-13-01"), Case("created_at", "0001-01-01T00:00:00Z"),
    Case("created_at", "2026-01-01T10:00:00 CET"), Case("created_at", "20260101"),
    Case("created_at", "2026-03-01T10:00:00+01:00", datetime(2026, 3, 1, 9, 0)),
    Case("created_at", "2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, 0)),
]
OPTIONS = {"session_id": "--session", "input_tokens": "--input", "output_tokens": "--output",
           "cache_read_tokens": "--cache-read", "cache_write_tokens": "--cache-write", "request_id": "--request-id",
           "story_id": "--story", "model": "--model", "cost": "--cost", "created_at": "--at"}
BASE = {"session_id": "s", "input_tokens": 1, "output_tokens": 2}


def token_record(case: Case) -> dict:
    return {**BASE, case.field: case.value}


def stored_token_field(db: Path, field: str) -> object:
    column = {"cost": "estimated_cost"}.get(field, field)
    rows = table_of(db, f"SELECT {column} FROM token_usage")
    return rows[0][0] if rows else None


def through_cli(cli, case: Case):
    options = {"--input": "1", "--output": "2", OPTIONS[case.field]: str(case.value)}
    return cli("record-tokens", "-s", "s", *(word for pair in options.items() for word in pair), "--tz", "UTC")


def through_jsonl(cli, case: Case, tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(token_record(case)) + "\n", encoding="utf-8")
    return cli("import", "tokens", str(path), "--tz", "UTC")


def through_csv(cli, case: Case, tmp_path: Path):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(token_record(case)))
    writer.writeheader()
    writer.writerow(token_record(case))
    path = tmp_path / "rows.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return cli("import", "tokens", str(path), "--tz", "UTC")


def through_core(db: Path, case: Case) -> str | None:
    """The call a Python program makes; returns the InvalidInput's field, or None when it was stored."""
    values = {**token_record(case)}  # times and costs as text: the core reads them as --at and --cost do
    try:
        with open_store(db, write=True) as store:
            record_tokens(store, TokenUsageInput(**values), user="alice")
    except InvalidInput as error:
        return error.field
    return None


def assert_verdict(db: Path, before: tuple, result, case: Case) -> None:
    if case.stored == REFUSED:
        assert result.exit_code == 2, (result.exit_code, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("sessionstats: ")
        assert snapshot(db) == before
    else:
        assert result.exit_code == 0, result.stderr
        assert stored_token_field(db, case.field) == case.stored


@pytest.fixture
def session_s(cli, db):
    cli.ok("new", "--id", "s")
    return snapshot(db)


@pytest.mark.file_only
@pytest.mark.parametrize("case", TOKEN_CASES, ids=str)
def test_a_token_field_gets_the_same_verdict_from_the_record_command(cli, db, session_s, case):
    assert_verdict(db, session_s, through_cli(cli, case), case)


@pytest.mark.file_only
@pytest.mark.parametrize("case", TOKEN_CASES, ids=str)
def test_a_token_field_gets_the_same_verdict_from_a_json_lines_import(cli, db, session_s, case, tmp_path):
    result = through_jsonl(cli, case, tmp_path)
    assert_verdict(db, session_s, result, case)
    if case.stored == REFUSED:
        assert result.stderr.startswith(f"sessionstats: line 1: {case.field}: ")


@pytest.mark.file_only
@pytest.mark.parametrize("case", TOKEN_CASES, ids=str)
def test_a_token_field_gets_the_same_verdict_from_a_csv_import(cli, db, session_s, case, tmp_path):
    result = through_csv(cli, case, tmp_path)
    assert_verdict(db, session_s, result, case)
    if case.stored == REFUSED:
        assert result.stderr.startswith(f"sessionstats: line 2 (row 1): {case.field}: ")


@pytest.mark.file_only
@pytest.mark.parametrize("case", [c for c in TOKEN_CASES if not isinstance(c.value, float)], ids=str)
def test_a_token_field_gets_the_same_verdict_from_the_core_call(db, cli, session_s, case):
    refused_field = through_core(db, case)
    if case.stored == REFUSED:
        assert refused_field == case.field
        assert snapshot(db) == session_s
    else:
        assert refused_field is None
        assert stored_token_field(db, case.field) == case.stored


@pytest.mark.file_only
@pytest.mark.parametrize(("case", "option"), [
    (Case("input_tokens", "²"), "--input"), (Case("request_id", "r1\n"), "--request-id"),
    (Case("model", "gpt\t4o"), "--model"), (Case("cost", "9e19"), "--cost"), (Case("created_at", "infinity"), "--at"),
])
def test_the_record_command_names_its_option_and_the_core_names_the_field(cli, db, session_s, case, option):
    result = through_cli(cli, case)
    assert result.stderr.startswith((f"sessionstats: {option}: ", f"sessionstats: Invalid value for '{option}': "))
    assert through_core(db, case) == case.field


def test_a_superscript_digit_says_only_ascii_digits_count(cli, db):
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--input", "²", "--output", "1")
    assert result.exit_code == 2
    assert result.stderr == ("sessionstats: Invalid value for '--input': must be a whole number >= 0, got '²' "
                             "(only the digits 0-9) (see 'sessionstats record-tokens --help')\n")


# ---- stories: CLI option, JSON Lines import and the core call ----

STORY_CASES = [
    Case("duration", "1e9"), Case("duration", "-1"), Case("duration", "inf"), Case("duration", "nan"),
    Case("duration", str(366 * 86_400 + 1)), Case("duration", "3600", 3600.0),
    Case("word_count", "1.5"), Case("word_count", "²"), Case("word_count", "10.0", 10),
    Case("id", "st\n"), Case("id", LONG_ID), Case("id", " st ", "st"),
    Case("created_at", "12000-01-01"), Case("created_at", "infinity"),
]
STORY_OPTIONS = {"duration": "--duration", "word_count": "--word-count", "id": "--id", "created_at": "--at"}


def stored_story_field(db: Path, field: str) -> object:
    rows = table_of(db, f"SELECT {field} FROM story_history")
    return rows[0][0] if rows else None


@pytest.mark.file_only
@pytest.mark.parametrize("case", STORY_CASES, ids=str)
def test_a_story_field_gets_the_same_verdict_on_every_path(cli, db, session_s, case, tmp_path):
    by_option = cli("record-story", "-s", "s", "--title", "t", STORY_OPTIONS[case.field], str(case.value),
                    "--tz", "UTC")
    if case.stored == REFUSED:
        assert by_option.exit_code == 2 and snapshot(db) == session_s, by_option.stderr
        option = STORY_OPTIONS[case.field]
        assert by_option.stderr.startswith((f"sessionstats: {option}: ", f"sessionstats: Invalid value for '{option}'"))
    else:
        assert by_option.exit_code == 0 and stored_story_field(db, case.field) == case.stored
        cli.ok("delete", "s", "--yes")
        cli.ok("new", "--id", "s")
    before = snapshot(db)
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps({"session_id": "s", "title": "t", case.field: case.value}) + "\n", encoding="utf-8")
    imported = cli("import", "stories", str(path), "--tz", "UTC")
    if case.stored == REFUSED:
        assert imported.exit_code == 2 and snapshot(db) == before
        assert imported.stderr.startswith(f"sessionstats: line 1: {case.field}: ")
    else:
        assert imported.exit_code == 0 and stored_story_field(db, case.field) == case.stored


# ---- Claude Code logs and llm's logs database ----

def claude_log(root: Path, *, session: str = "0000-cc", model: str = "claude-sonnet-4-20250514",
               usage: dict | None = None, timestamp: str | None = None, message_id: str = "msg_1") -> Path:
    line = json.loads(assistant_line(session, message_id, "req_1", model, usage or {"input_tokens": 10,
                                     "output_tokens": 5}, datetime(2025, 6, 1, 9, 0, tzinfo=UTC)))
    if timestamp is not None:
        line["timestamp"] = timestamp
    write_lines(root / "projects" / "-home-me-p" / f"{session}.jsonl", [json.dumps(line)])
    return root


@pytest.mark.file_only
@pytest.mark.parametrize("count", ["12.5", "12.7", "\"12.5\"", "\"²\"", "-1", "\"0x10\""])
def test_a_fractional_count_in_a_claude_code_log_is_never_rounded(cli, db, tmp_path, count):
    root = tmp_path / "claude"
    write_lines(root / "projects" / "-p" / "s1.jsonl", [
        assistant_line("s1", "msg_1", "req_1", "claude-sonnet-4-20250514", {"input_tokens": 1, "output_tokens": 5},
                       datetime(2025, 6, 1, tzinfo=UTC)).replace('"input_tokens":1', f'"input_tokens":{count}')])
    result = cli("import", "claude-code", str(root))
    assert result.exit_code == 0, result.stderr
    assert table_of(db, "SELECT input_tokens FROM token_usage") == []  # malformed, counted, not stored as 12 or 13
    assert "malformed" in result.stderr


# An agent's log is someone else's file: a line the field rules refuse is one malformed line, counted, as in every
# agent's reader, and the lines around it are stored (a bad row of a file one imports oneself refuses the file).
@pytest.mark.file_only
@pytest.mark.parametrize(("where", "value"), [
    ("model", "gpt\t4o"), ("model", "m" * 201), ("session", "s1\n"), ("session", "s" * 210),
    ("message_id", "msg\x1b[2J"),
])
def test_a_bad_field_in_a_claude_code_log_is_one_malformed_line_and_stores_nothing(cli, db, tmp_path, where, value):
    cli.ok("new", "--id", "keep")
    before = snapshot(db)
    root = tmp_path / "claude"
    claude_log(root, **{where: value})
    result = cli("import", "claude-code", str(root))
    assert result.exit_code == 0, result.stderr
    assert "imported 0 token records into 0 sessions" in result.stderr
    assert result.stderr.rstrip().endswith("; 1 malformed lines skipped")
    assert snapshot(db) == before


@pytest.mark.file_only
def test_a_claude_code_call_whose_time_cannot_be_read_is_stored_at_the_imports_time_and_said(cli, db, tmp_path):
    result = cli("import", "claude-code", str(claude_log(tmp_path / "claude", timestamp="12000-01-01T00:00:00Z")))
    assert result.exit_code == 0, result.stderr
    assert "; 1 stored at the import's time (their lines gave no time that could be read)" in result.stderr
    [(year, source)] = table_of(db, "SELECT year(created_at), priced_at_source FROM token_usage")
    assert (year, source) == (datetime.now(UTC).year, "now")


@pytest.mark.file_only
def test_a_claude_code_model_is_stored_lower_cased_as_every_path_stores_it(cli, db, tmp_path):
    cli.ok("import", "claude-code", str(claude_log(tmp_path / "claude", model=" Claude-Sonnet-4-20250514 ")))
    assert table_of(db, "SELECT model FROM token_usage") == [("claude-sonnet-4-20250514",)]


LLM_SCHEMA = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);
CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, response TEXT, conversation_id TEXT,
    datetime_utc TEXT, input_tokens, output_tokens, token_details TEXT);
"""


def llm_logs(path: Path, *, conversation: str = "c1", model: str = "gpt-4o", tokens: object = 10,
             when: str = "2025-03-01T10:00:00") -> Path:
    con = sqlite3.connect(path)
    con.executescript(LLM_SCHEMA)
    con.execute("INSERT INTO responses VALUES ('r1', ?, 'q', 'a', ?, ?, ?, 5, NULL)",
                (model, conversation, when, tokens))
    con.commit()
    con.close()
    return path


@pytest.mark.file_only
@pytest.mark.parametrize(("column", "value", "field"), [
    ("tokens", 12.7, "input_tokens"), ("tokens", 0.5, "input_tokens"), ("tokens", -3, "input_tokens"),
    ("model", "gpt\n4o", "model"), ("conversation", "c1\t", "session_id"), ("conversation", "c" * 201, "session_id"),
])
def test_a_bad_field_in_llm_logs_is_refused_naming_it(cli, db, tmp_path, column, value, field):
    cli.ok("new", "--id", "keep")
    before = snapshot(db)
    path = llm_logs(tmp_path / "logs.db", **{column: value})
    result = cli("import", "llm", str(path))
    assert result.exit_code == 2, result.stderr
    assert f"{field}: " in result.stderr and result.stderr.count("\n") == 1
    assert snapshot(db) == before


@pytest.mark.file_only
def test_llm_logs_store_a_whole_float_count_and_a_lower_cased_model(cli, db, tmp_path):
    cli.ok("import", "llm", str(llm_logs(tmp_path / "logs.db", tokens=12.0, model=" GPT-4O ")))
    assert table_of(db, "SELECT model, input_tokens FROM token_usage") == [("gpt-4o", 12)]


# ---- --from-response ----

@pytest.mark.file_only
@pytest.mark.parametrize("count", ["12.5", "\"12.5\"", "-1", "true", "\"²\""])
def test_a_response_with_a_bad_count_is_refused(cli, db, tmp_path, count):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    body = ('{"type": "message", "model": "claude-sonnet-4-5", "usage": {"input_tokens": ' + count
            + ', "output_tokens": 1}}')
    result = cli("record-tokens", "-s", "s", "--from-response", "-", input=body)
    assert result.exit_code == 2 and result.stderr.startswith("sessionstats: --from-response: usage.input_tokens: ")
    assert snapshot(db) == before


# ---- the listed failures ----

@pytest.mark.file_only
def test_request_ids_that_differ_by_a_control_character_are_refused_not_counted_thrice(cli, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({**BASE, "request_id": rid}) + "\n" for rid in ("r1", "r1\t", "r1\n")))
    cli.ok("new", "--id", "s")
    result = cli("import", "tokens", str(path))
    assert result.exit_code == 2
    assert result.stderr == "sessionstats: line 2: request_id: the id contains a control character (U+0009)\n"
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(0,)]


@pytest.mark.file_only
def test_an_imported_session_id_with_spaces_can_be_shown_and_deleted(cli, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({**BASE, "session_id": "\u00a0s1 "}) + "\n")
    cli.ok("import", "tokens", str(path), "--create-sessions")
    assert cli.json("show", "s1")["api_calls"] == 1
    cli.ok("delete", " s1", "--yes")
    assert table_of(db, "SELECT count(*) FROM sessions") == [(0,)]


@pytest.mark.file_only
def test_same_model_in_two_spellings_is_one_row_of_a_breakdown_and_found_by_either(cli, db):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--model", "GPT-4O")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--model", " gpt-4o ")
    rows = cli.json("show", "s", "--by", "model")["breakdown"]["rows"]
    assert [(row["model"], row["api_calls"]) for row in rows] == [("gpt-4o", 2)]
    assert cli.json("show", "s", "--model", "Gpt-4o")["api_calls"] == 2


@pytest.mark.file_only
def test_an_imported_cost_past_the_limit_is_refused_so_reports_never_overflow(cli, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({**BASE, "cost": 9e19}) + "\n" for _ in range(2)))
    cli.ok("new", "--id", "s")
    result = cli("import", "tokens", str(path))
    assert result.exit_code == 2 and result.stderr.startswith("sessionstats: line 1: cost: is too large")
    assert cli.json("show", "s")["api_calls"] == 0


# ---- failures say what they are ----

@pytest.mark.parametrize("zone", ["posixrules", "right/UTC", "posix/Europe/Paris", "localtime", "Nowhere/City"])
@pytest.mark.parametrize("command", [("show", "s"), ("timeline", "s"), ("list",), ("import", "tokens", "{rows}")])
def test_a_zone_file_that_is_not_a_zone_is_bad_input_not_a_database_error(cli, db, tmp_path, zone, command):
    cli.ok("new", "--id", "s")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(BASE) + "\n")
    before = snapshot(db)
    result = cli(*(part.format(rows=rows) for part in command), "--tz", zone)
    assert (result.exit_code, result.stderr) == (2, f"sessionstats: --tz: unknown time zone {zone!r} (use an IANA "
                                                    "name such as Europe/Paris)\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("percent", ["nan", "inf", "-1", "101"])
def test_a_warning_threshold_that_is_no_percentage_is_one_line(cli, percent):
    cli.ok("new", "--id", "s")
    result = cli("check", "s", "--max-cost", "5", "--warn-at", percent)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--warn-at" in result.stderr and "Traceback" not in result.stderr


def test_a_record_for_a_story_not_recorded_yet_is_kept_with_a_warning(cli, db):
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--input", "1", "--output", "2", "--story", "later")
    assert result.exit_code == 0
    assert result.stderr == ("sessionstats: warning: session 's' has no story 'later' yet; the record is kept, and "
                             "counts for that story once a story with this id is recorded\n")
    assert table_of(db, "SELECT story_id FROM token_usage") == [("later",)]
    cli.ok("record-story", "-s", "s", "--title", "t", "--id", "later")
    quiet = cli("record-tokens", "-s", "s", "--input", "1", "--output", "2", "--story", "later")
    assert (quiet.exit_code, quiet.stderr) == (0, "")


@pytest.mark.file_only
@pytest.mark.parametrize(("tz", "summer", "winter"), [
    ("CET-1CEST,M3.5.0,M10.5.0/3", "2026-07-01 08:00:00", "2026-01-15 09:00:00"),
    ("EST5EDT,M3.2.0,M11.1.0", "2026-07-01 14:00:00", "2026-01-15 15:00:00"),
    ("Europe/Paris", "2026-07-01 08:00:00", "2026-01-15 09:00:00"),
    (":Europe/Paris", "2026-07-01 08:00:00", "2026-01-15 09:00:00"),
])
def test_an_import_reads_local_times_as_at_does_under_a_posix_tz(run_process, db, tmp_path, tz, summer, winter):
    env = {"TZ": tz}
    assert run_process("new", "--id", "s", env=env).returncode == 0
    for at in ("2026-07-01T10:00:00", "2026-01-15T10:00:00"):
        recorded = run_process("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--at", at,
                               "--request-id", f"at {at}", env=env)
        assert recorded.returncode == 0, recorded.stderr
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({**BASE, "created_at": at, "request_id": f"file {at}"}) + "\n"
                            for at in ("2026-07-01T10:00:00", "2026-01-15T10:00:00")))
    imported = run_process("import", "tokens", str(rows), env=env)
    assert imported.returncode == 0, imported.stderr
    stored = table_of(db, "SELECT split_part(request_id, ' ', 1), created_at::VARCHAR FROM token_usage ORDER BY 1, 2")
    assert stored == [("at", winter), ("at", summer), ("file", winter), ("file", summer)]


# ---- exact means exact ----

EXACT_COSTS = ["1.000000000000000001", "12345678.123456789012345678", "0.000000000000000001",
               "999999999.999999999999999999", "0.1", "7.5e-8"]


@pytest.mark.file_only
def test_a_cost_written_as_a_json_number_keeps_every_digit(cli, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    # Written by hand: a JSON number, which DuckDB's reader would turn into a double.
    path.write_text("".join(f'{{"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost": {cost}, '
                            f'"request_id": "r{n}"}}\n' for n, cost in enumerate(EXACT_COSTS)))
    cli.ok("new", "--id", "s")
    cli.ok("import", "tokens", str(path))
    stored = dict(table_of(db, "SELECT request_id, estimated_cost FROM token_usage"))
    assert [stored[f"r{n}"] for n in range(len(EXACT_COSTS))] == [Decimal(c) for c in EXACT_COSTS]


@pytest.mark.file_only
def test_a_look_alike_cost_inside_another_value_is_not_taken_for_the_cost(cli, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"model": "m,\\"cost\\": 5", "session_id": "s", "input_tokens": 1, "output_tokens": 1, '
                    '"cost": 0.25}\n')
    cli.ok("new", "--id", "s")
    cli.ok("import", "tokens", str(path))
    assert table_of(db, "SELECT model, estimated_cost FROM token_usage") == [('m,"cost": 5', Decimal("0.25"))]


@pytest.mark.file_only
@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".tsv"])
def test_export_then_import_round_trips_every_cost_digit_for_digit(cli, db, tmp_path, suffix):
    cli.ok("new", "--id", "s")
    for n, cost in enumerate(EXACT_COSTS):
        cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", cost, "--request-id", f"r{n}")
    exported = tmp_path / f"tokens{suffix}"
    cli.ok("export", "--to", str(exported))
    fresh = tmp_path / "fresh.duckdb"
    imported = Cli(fresh)("import", "tokens", str(exported), "--format",
                          "jsonl" if suffix == ".json" else suffix[1:], "--create-sessions")
    assert imported.exit_code == 0, imported.stderr
    query = "SELECT request_id, estimated_cost::VARCHAR, cost_source FROM token_usage ORDER BY request_id"
    assert table_of(fresh, query) == table_of(db, query)


@pytest.mark.file_only
@pytest.mark.parametrize("fmt", ["json", "csv", "tsv"])
def test_a_total_past_28_digits_is_printed_whole(cli, fmt):
    cli.ok("new", "--id", "s")
    for _ in range(11):
        cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "999999999.999999999999999999")
    shown = cli.ok("show", "s", "--format", fmt)
    assert "10999999999.999999999999999989" in shown  # 11 x 999999999.999999999999999999, exactly
    assert "10999999999.99999999999999999," not in shown and "10999999999.99999999999999999\n" not in shown


@pytest.mark.file_only
@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet"])
def test_export_of_stats_carries_token_sums_past_2_to_the_63(cli, tmp_path, suffix):
    cli.ok("new", "--id", "s")
    for _ in range(3):
        cli.ok("record-tokens", "-s", "s", "--input", str(2**62), "--output", "1")
    total = 3 * (2**62 + 1)
    assert cli.json("show", "s")["total_tokens"] == total
    exported = tmp_path / f"stats{suffix}"
    cli.ok("export", "--what", "stats", "--to", str(exported))
    if suffix != ".parquet":
        assert str(total) in exported.read_text()
        return
    import duckdb

    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT total_tokens FROM '{exported}'").fetchall() == [(total,)]
    finally:
        con.close()


# ---- importers never touch what is not theirs ----

def cc_line(session: str, message_id: str, request_id: str, inp: int, out: int) -> str:
    return assistant_line(session, message_id, request_id, "claude-sonnet-4-20250514",
                          {"input_tokens": inp, "output_tokens": out}, datetime(2025, 6, 1, 9, 0, tzinfo=UTC))


def test_a_hand_made_record_with_a_claude_code_request_id_keeps_its_cost_and_session(cli, db, tmp_path):
    cli.ok("new", "--id", "mine")
    cli.ok("record-tokens", "-s", "mine", "--input", "1", "--output", "1", "--request-id", "m9:r9", "--cost", "5.00")
    root = tmp_path / "claude"
    write_lines(root / "projects" / "p" / "log-session.jsonl", [cc_line("log-session", "m9", "r9", 100, 50)])
    cli.ok("import", "claude-code", str(root))
    assert table_of(db, "SELECT session_id, input_tokens, estimated_cost, cost_source FROM token_usage "
                        "ORDER BY session_id") == [
        ("log-session", 100, table_of(db, "SELECT estimated_cost FROM token_usage WHERE session_id = "
                                          "'log-session'")[0][0], "estimated"),
        ("mine", 1, Decimal("5.00"), "given")]
    assert {row[0] for row in table_of(db, "SELECT id FROM sessions")} == {"mine", "log-session"}


def test_a_resumed_claude_code_session_still_counts_a_message_once(cli, db, tmp_path):
    root = tmp_path / "claude"
    write_lines(root / "projects" / "p" / "first.jsonl", [cc_line("first", "m1", "r1", 10, 5)])
    cli.ok("import", "claude-code", str(root))
    # --resume writes the earlier messages again into the new session's log, then its own
    write_lines(root / "projects" / "p" / "second.jsonl", [cc_line("second", "m1", "r1", 10, 5),
                                                         cc_line("second", "m2", "r2", 7, 3)])
    cli.ok("import", "claude-code", str(root))
    assert table_of(db, "SELECT count(*), sum(input_tokens) FROM token_usage") == [(2, 17)]


@pytest.mark.file_only
@pytest.mark.parametrize("how", ["touch", "restore"])
def test_a_log_rewritten_at_the_same_size_adds_nothing_twice(cli, db, tmp_path, how):
    import os

    log = tmp_path / "claude" / "projects" / "p" / "s.jsonl"
    lines = [cc_line("s", "m1", "r1", 10, 5),
             cc_line("s", "m2", "r2", 20, 5).replace('"id":"m2"', '"id":null'),  # a line without a message id
             cc_line("s", "m3", "r3", 30, 5).replace('"id":"m3"', '"id":null')]
    write_lines(log, lines)
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    before = snapshot(db)
    if how == "touch":
        stat = log.stat()
        os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    else:
        data = log.read_bytes()
        log.unlink()
        log.write_bytes(data)
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0
    assert snapshot(db) == before
    assert table_of(db, "SELECT count(*), sum(input_tokens) FROM token_usage") == [(3, 60)]


# ---- an estimate holds to the limit a given cost does ----

HUGE = 2**62  # x $15/M (claude-opus-4-1 input, genai-prices) = $69,175,290,276,410.8: past the $1e9 per record


@pytest.mark.file_only
@pytest.mark.parametrize("path", ["option", "jsonl", "csv"])
def test_an_estimate_past_a_billion_dollars_is_refused_on_every_path(cli, db, tmp_path, path):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    record = {**BASE, "input_tokens": HUGE, "model": "claude-opus-4-1"}
    if path == "option":
        result = cli("record-tokens", "-s", "s", "--input", str(HUGE), "--output", "2", "--model", "claude-opus-4-1")
    else:
        file = tmp_path / f"rows.{path}"
        if path == "jsonl":
            file.write_text(json.dumps(record) + "\n")
        else:
            file.write_text(",".join(record) + "\n" + ",".join(str(v) for v in record.values()) + "\n")
        result = cli("import", "tokens", str(file))
    assert result.exit_code == 2, result.stderr
    assert "total_tokens: at the model's prices these tokens cost 69,175,290,276,410." in result.stderr
    assert result.stderr.count("\n") == 1 and snapshot(db) == before


@pytest.mark.file_only
def test_an_estimate_past_a_billion_dollars_in_an_agents_log_is_a_malformed_line(cli, db, tmp_path):
    """An agent's log is not refused whole for one bad line (its other calls would never be imported): the
    line is skipped and counted, as for every other field rule the log breaks."""
    root = tmp_path / "claude"
    usages = [{"input_tokens": HUGE, "output_tokens": 2}, {"input_tokens": 10, "output_tokens": 2}]
    write_lines(root / "projects" / "p" / "s2.jsonl", [
        assistant_line("s2", f"m{n}", f"r{n}", "claude-opus-4-1", usage, datetime(2025, 6, 1, tzinfo=UTC))
        for n, usage in enumerate(usages)])
    result = cli("import", "claude-code", str(root))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(db, "SELECT input_tokens FROM token_usage") == [(10,)]


# ---- the Python checks and the SQL checks read one set of patterns alike ----

def test_python_and_duckdb_agree_on_every_character_an_id_may_hold_or_lose():
    import duckdb

    from sessionstats.validate import _CONTROL, CONTROL_CHARACTERS, EDGE_SPACES

    characters = [chr(c) for c in range(0x3100) if not 0xD800 <= c <= 0xDFFF] + ["\U0001F680", "\ufeff", "\u200b"]
    con = duckdb.connect()
    try:
        rows = con.execute(f"""SELECT c, regexp_matches(c, '{CONTROL_CHARACTERS}'),
                                      regexp_replace('a' || c, '{EDGE_SPACES}', '', 'g') = 'a'
                               FROM unnest($chars::VARCHAR[]) AS t(c)""", {"chars": characters}).fetchall()
    finally:
        con.close()
    for character, control, stripped in rows:
        assert control == bool(_CONTROL.search(character)), hex(ord(character))
        if not control:
            assert stripped == (("a" + character).strip() == "a"), hex(ord(character))


@pytest.mark.parametrize("text", ["0", "12", "12.0", "12.", "12.5", "1e3", "-1", "+1", " 1", "1_000", "٣", "²", ".5",
                                  "1.5e-7", "1E+2", "0x10", "nan", "1.2.3", "", "-", "-.5", "00012", "2026-11-24",
                                  "2026-11-24T14:05", "2026-11-24 14:05:00.123456Z", "2026-11-24T14:05:00+0100",
                                  "2026-11-24T14:05:00+01", "12000-01-01", "infinity", "2026-11-24T14:05:00.1234567"])
def test_python_and_duckdb_read_number_and_time_patterns_alike(text):
    import re

    import duckdb

    from sessionstats.times import ISO_TIME
    from sessionstats.validate import DECIMAL_NUMBER, WHOLE_NUMBER

    con = duckdb.connect()
    try:
        in_sql = con.execute("SELECT regexp_full_match($t, $whole), regexp_full_match($t, $decimal), "
                             "regexp_full_match($t, $time)",
                             {"t": text, "whole": WHOLE_NUMBER, "decimal": DECIMAL_NUMBER, "time": ISO_TIME}).fetchone()
    finally:
        con.close()
    assert in_sql == tuple(bool(re.fullmatch(pattern, text)) for pattern in (WHOLE_NUMBER, DECIMAL_NUMBER, ISO_TIME))


@pytest.mark.file_only
def test_an_import_never_guesses_a_zone_for_a_time_without_an_offset(run_process, db, tmp_path):
    env = {"TZ": "QQQ5RRR,M3.2.0,M11.1.0"}  # a rule no zone has: DuckDB cannot be told how to read local times
    assert run_process("new", "--id", "s", env=env).returncode == 0
    before = snapshot(db)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({**BASE, "created_at": "2026-07-01T10:00:00"}) + "\n")
    refused = run_process("import", "tokens", str(rows), env=env)
    assert refused.returncode == 2 and snapshot(db) == before
    assert refused.stderr == ('sessionstats: line 1: created_at: "2026-07-01T10:00:00" has no offset, and the local '
                              "time zone has no name to read it in; add one (Z, +01:00) or pass --tz\n")
    rows.write_text(json.dumps({**BASE, "created_at": "2026-07-01T10:00:00+02:00"}) + "\n")
    assert run_process("import", "tokens", str(rows), env=env).returncode == 0
    assert table_of(db, "SELECT created_at::VARCHAR FROM token_usage") == [("2026-07-01 08:00:00",)]
    with_zone = run_process("import", "tokens", str(rows), "--tz", "Europe/Paris", env=env)
    assert with_zone.returncode == 0
