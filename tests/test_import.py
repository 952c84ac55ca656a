"""sessionstats import tokens|stories: all rows or none, exact values, no double counting."""

import csv
import io
import json
import sys
from decimal import Decimal

import pytest
from conftest import db_argument, snapshot, table_of

from sessionstats.ingest.records import count_words
from sessionstats.pricing.prices import price_data_version

TOKEN_ROWS = [
    {"session_id": "a", "model": "claude-sonnet-4-5", "input_tokens": 1200, "output_tokens": 350,
     "request_id": "req_1", "created_at": "2026-03-01T10:00:00Z"},
    {"session_id": "a", "model": "claude-sonnet-4-5", "input_tokens": 1000, "output_tokens": 500,
     "cache_read_tokens": 10000, "request_id": "req_2", "created_at": "2026-03-01T10:01:00Z"},
    {"session_id": "b", "model": "gpt-4o", "input_tokens": 5, "output_tokens": 6, "cost": "0.000000075",
     "request_id": "req_3", "story_id": "story-1", "created_at": "2026-03-01T10:02:00Z"},
    {"session_id": "b", "model": "mystery-9", "input_tokens": 7, "output_tokens": 8, "cache_write_tokens": 9,
     "created_at": "2026-03-01T10:03:00Z"},
]
TOKEN_COLUMNS = ["session_id", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                 "cost", "request_id", "story_id", "created_at"]
STORED = ("SELECT session_id, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens,"
          " estimated_cost, cost_source, request_id, story_id, created_at::TEXT FROM token_usage ORDER BY created_at")
EXPECTED = [
    ("a", "claude-sonnet-4-5", 1200, 350, 0, 0, 1550, Decimal("0.00885"), "estimated", "req_1", None,
     "2026-03-01 10:00:00"),
    ("a", "claude-sonnet-4-5", 1000, 500, 10000, 0, 11500, Decimal("0.0135"), "estimated", "req_2", None,
     "2026-03-01 10:01:00"),
    ("b", "gpt-4o", 5, 6, 0, 0, 11, Decimal("0.000000075"), "given", "req_3", "story-1", "2026-03-01 10:02:00"),
    ("b", "mystery-9", 7, 8, 0, 9, 24, None, "unknown", None, None, "2026-03-01 10:03:00"),
]


def write(path, rows, columns=TOKEN_COLUMNS):
    """rows as JSON Lines, CSV or TSV according to the file's extension."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, delimiter="\t" if path.suffix == ".tsv" else ",",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buffer.getvalue())
    return path


@pytest.fixture
def sessions(cli):
    cli.ok("new", "--id", "a")
    cli.ok("new", "--id", "b")
    return cli


@pytest.mark.parametrize("extension", [".jsonl", ".csv", ".tsv"])
def test_each_format_imports_exact_values(sessions, tmp_path, extension):
    path = write(tmp_path / f"usage{extension}", TOKEN_ROWS)
    result = sessions("import", "tokens", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert (f"warning: model 'mystery-9' is not in the price data (genai-prices {price_data_version()}); "
            "1 records stored with an unknown cost") in result.stderr
    assert "\nsessionstats: imported 4 token records into 2 sessions in " in result.stderr
    assert table_of(sessions.db, STORED) == EXPECTED


@pytest.mark.parametrize("extension", [".jsonl", ".csv"])
def test_the_same_import_twice_changes_nothing(sessions, tmp_path, extension):
    path = write(tmp_path / f"usage{extension}", [row for row in TOKEN_ROWS if "request_id" in row])
    sessions.ok("import", "tokens", str(path))
    before, stats = snapshot(sessions.db), [sessions.json("show", s) for s in ("a", "b")]
    again = sessions("import", "tokens", str(path))
    assert again.exit_code == 0
    assert "imported 0 token records into 0 sessions" in again.stderr
    assert "3 were recorded already and skipped" in again.stderr
    assert snapshot(sessions.db) == before
    assert [sessions.json("show", s) for s in ("a", "b")] == stats


def test_rows_without_a_request_id_are_flagged_as_unrecognisable(sessions, tmp_path):
    path = write(tmp_path / "usage.jsonl", TOKEN_ROWS)
    first = sessions("import", "tokens", str(path))
    assert "note: 1 of them have no request_id" in first.stderr
    again = sessions("import", "tokens", str(path))
    assert "imported 1 token records into 1 sessions" in again.stderr


def test_a_request_id_repeated_in_the_file_counts_once(sessions, tmp_path):
    rows = [dict(TOKEN_ROWS[0]), dict(TOKEN_ROWS[0], input_tokens=99), dict(TOKEN_ROWS[0], session_id="b")]
    result = sessions("import", "tokens", str(write(tmp_path / "dups.jsonl", rows)))
    assert "imported 2 token records into 2 sessions" in result.stderr
    assert table_of(sessions.db, "SELECT session_id, input_tokens FROM token_usage ORDER BY ALL") == [
        ("a", 1200), ("b", 1200)]


def test_an_import_skips_a_request_recorded_by_hand(sessions, tmp_path):
    sessions.ok("record-tokens", "-s", "a", "--input", "1", "--output", "1", "--request-id", "req_1")
    result = sessions("import", "tokens", str(write(tmp_path / "u.jsonl", TOKEN_ROWS[:1])))
    assert "imported 0 token records" in result.stderr and "1 were recorded already" in result.stderr
    assert table_of(sessions.db, "SELECT input_tokens FROM token_usage") == [(1,)]


BAD_VALUES = [
    ("input_tokens", "-5", "input_tokens: must be a whole number >= 0"),
    ("output_tokens", "1.5", "output_tokens: must be a whole number >= 0"),
    ("cost", "0.0000000000000000001", "cost: has more than 18 decimal places"),
    ("cost", "-1", "cost: must not be negative"),
    ("created_at", "yesterday", "created_at: must be an ISO 8601 time"),
    ("session_id", "x" * 201, "session_id: the id is 201 characters long (at most 200)"),
]


@pytest.mark.parametrize("extension", [".jsonl", ".csv", ".tsv"])
@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_a_bad_row_anywhere_writes_nothing_and_names_line_and_column(sessions, tmp_path, extension, position):
    rows = [dict(TOKEN_ROWS[i % 3], request_id=f"r{i}") for i in range(9)]
    index = {"start": 0, "middle": 4, "end": 8}[position]
    column, value, message = BAD_VALUES[(index + len(extension)) % len(BAD_VALUES)]
    rows[index][column] = value
    path = write(tmp_path / f"bad{extension}", rows)
    sessions.ok("record-tokens", "-s", "a", "--input", "1", "--output", "1")
    before = snapshot(sessions.db)
    result = sessions("import", "tokens", str(path))
    assert result.exit_code == 2
    where = f"line {index + 1}" if extension == ".jsonl" else f"line {index + 2} (row {index + 1})"
    assert result.stderr.startswith(f"sessionstats: {where}: {message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert snapshot(sessions.db) == before


@pytest.mark.parametrize(("content", "message"), [
    ('{"session_id": "a", "input_tokens": 1, "output_tokens": 1}\n{"session_id": "a", "input": 2}\n',
     "line 2: unknown column 'input'"),
    ('{"session_id": "a", "input_tokens": 1, "output_tokens": 1}\n\n{"session_id": "a", "input_tokens": 1,\n',
     "line 3: not valid JSON"),
    ('{"session_id": "a", "input_tokens": 1, "output_tokens": 1}\n[1, 2]\n', "line 2: expected a JSON object"),
    ('{"session_id": "a", "output_tokens": 1}\n', "line 1: input_tokens: is missing"),
    ('{"input_tokens": 1, "output_tokens": 1}\n', "line 1: session_id: is missing (add the column or pass --session)"),
    ('{"session_id": "a", "input_tokens": true, "output_tokens": 1}\n',
     'line 1: input_tokens: must be a whole number >= 0, got "true"'),
    ('{"session_id": "a", "input_tokens": 9223372036854775807, "output_tokens": 1}\n',
     "line 1: the four token counts add up to more than 9223372036854775807"),
    ('{"session_id": "a", "input_tokens": 1, "output_tokens": 1, "cache_write_tokens": 5, '
     '"cache_write_1h_tokens": 6}\n',
     "line 1: cache_write_1h_tokens: 6 is more than the 5 cache_write_tokens it is part of"),
    ('{"session_id": "a", "input_tokens": 1, "output_tokens": 1, "cache_write_1h_tokens": -1}\n',
     'line 1: cache_write_1h_tokens: must be a whole number >= 0, got "-1"'),
    ('{"session_id": "nope", "input_tokens": 1, "output_tokens": 1}\n',
     "line 1: session_id: no session 'nope' (create it first, or pass --create-sessions)"),
    ('{"session_id": "a", "model": "gpt-4o", "provider": "nowhere", "input_tokens": 1, "output_tokens": 1}\n',
     "line 1: provider: unknown provider 'nowhere'"),
])
def test_json_lines_problems_name_their_line(sessions, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    before = snapshot(sessions.db)
    result = sessions("import", "tokens", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sessionstats: {message}"), result.stderr
    assert snapshot(sessions.db) == before


@pytest.mark.parametrize(("content", "message"), [
    ("session_id,input_tokens,output_tokens\na,1,1\na,2,2,2\n", "line 3: expected 3 fields, found 4"),
    ('session_id,input_tokens,output_tokens\na,1,1\n"a,2,2\n', "line 3: a quoted value is never closed"),
    ("session_id,input,output_tokens\na,1,1\n", "line 1: unknown column 'input'"),
    ("session_id,input_tokens,output_tokens,input_tokens\na,1,1,1\n", "line 1: column 'input_tokens' appears twice"),
])
def test_csv_problems_name_their_line(sessions, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = sessions("import", "tokens", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sessionstats: {message}"), result.stderr
    assert table_of(sessions.db, "SELECT count(*) FROM token_usage") == [(0,)]


EMPTY_EXTRAS = ["a,2,2,", "a,2,2,,,", 'a,2,2,""', 'a,2,2,"",""', ",,,", "a,2,2,\r"]


@pytest.mark.parametrize("delimiter", [",", "\t"], ids=["csv", "tsv"])
@pytest.mark.parametrize("extra", EMPTY_EXTRAS)
def test_a_row_with_empty_fields_past_the_header_is_refused_like_one_with_values(sessions, tmp_path, delimiter,
                                                                                extra):
    """DuckDB drops empty fields after the last column; a row longer than its header is refused all the same."""
    path = tmp_path / ("bad.csv" if delimiter == "," else "bad.tsv")
    row = extra.replace(",", delimiter)
    found = len(next(csv.reader([row.rstrip("\r")], delimiter=delimiter)))
    path.write_bytes(delimiter.join(["session_id", "input_tokens", "output_tokens"]).encode()
                     + f"\na{delimiter}1{delimiter}1\n{row}\n".encode())
    before = snapshot(sessions.db)
    result = sessions("import", "tokens", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"sessionstats: line 3: expected 3 fields, found {found}\n"
    assert snapshot(sessions.db) == before


@pytest.mark.parametrize("extension", [".csv", ".tsv"])
def test_a_story_row_with_an_empty_field_past_the_header_is_refused(sessions, tmp_path, extension):
    delimiter = "," if extension == ".csv" else "\t"
    path = tmp_path / f"stories{extension}"
    path.write_text(f"session_id{delimiter}title\na{delimiter}Dawn{delimiter}\n")
    result = sessions("import", "stories", str(path))
    assert result.exit_code == 2
    assert result.stderr == "sessionstats: line 2: expected 2 fields, found 3\n"
    assert table_of(sessions.db, "SELECT count(*) FROM story_history") == [(0,)]


def test_an_empty_last_column_and_a_quoted_line_end_after_a_comma_still_import(sessions, tmp_path):
    """A field left empty in the header's last column, and a narrative whose line ends in a comma, are no extras."""
    path = tmp_path / "stories.csv"
    path.write_text('session_id,title,narrative,tone\na,Dawn,"The sea,\nthe sky,",\na,Dusk,,""\n')
    sessions.ok("import", "stories", str(path))
    assert table_of(sessions.db, "SELECT title, narrative, tone FROM story_history ORDER BY title") == [
        ("Dawn", "The sea,\nthe sky,", None), ("Dusk", None, None)]


@pytest.mark.parametrize("extension", [".jsonl", ".csv"])
def test_the_1_hour_share_of_cache_writes_is_imported_and_priced(sessions, tmp_path, extension):
    rows = [{"session_id": "a", "model": "claude-sonnet-4-5", "input_tokens": 200, "output_tokens": 100,
             "cache_write_tokens": 5000, "cache_write_1h_tokens": 2000, "request_id": "r1"},
            {"session_id": "a", "model": "claude-sonnet-4-5", "input_tokens": 200, "output_tokens": 100,
             "cache_write_tokens": 5000, "request_id": "r2"}]
    columns = ["session_id", "model", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
               "request_id"]
    sessions.ok("import", "tokens", str(write(tmp_path / f"usage{extension}", rows, columns)))
    # 200 x $3/M + 3,000 x $3.75/M + 2,000 x $6/M + 100 x $15/M = 0.0006 + 0.01125 + 0.012 + 0.0015;
    # without the column every write is 5-minute: 0.0006 + 5,000 x $3.75/M + 0.0015 = 0.02085
    assert table_of(sessions.db, "SELECT request_id, cache_write_tokens, cache_write_1h_tokens, total_tokens, "
                                 "estimated_cost FROM token_usage ORDER BY request_id") == [
        ("r1", 5000, 2000, 5300, Decimal("0.02535")), ("r2", 5000, 0, 5300, Decimal("0.02085"))]


def test_missing_sessions_are_created_only_when_asked(cli, tmp_path):
    path = write(tmp_path / "u.csv", TOKEN_ROWS)
    assert cli("import", "tokens", str(path)).exit_code == 2
    assert table_of(cli.db, "SELECT count(*) FROM sessions") in ([(0,)], [])  # a file database is not even made
    result = cli("import", "tokens", str(path), "--create-sessions")
    assert result.exit_code == 0 and "created 2 sessions" in result.stderr
    assert table_of(cli.db, "SELECT user_id, id, status FROM sessions ORDER BY id") == [
        ("alice", "a", "idle"), ("alice", "b", "idle")]
    assert cli.as_user("bob")("import", "tokens", str(path)).exit_code == 2  # alice's sessions are not bob's


def test_stdin_needs_a_format_and_rows_take_the_default_session(sessions):
    lines = "".join(json.dumps({"input_tokens": n, "output_tokens": 1}) + "\n" for n in (1, 2, 3))
    refused = sessions("import", "tokens", "-", "--session", "a", input=lines)
    assert refused.exit_code == 2 and "--format" in refused.stderr
    sessions.ok("import", "tokens", "-", "--format", "jsonl", "--session", "a", input=lines)
    assert table_of(sessions.db, "SELECT session_id, sum(input_tokens) FROM token_usage GROUP BY ALL") == [("a", 6)]


def test_times_without_an_offset_are_read_in_the_given_zone(sessions, tmp_path):
    rows = [{"session_id": "a", "input_tokens": 1, "output_tokens": 1, "created_at": "2026-07-01 12:00"},
            {"session_id": "a", "input_tokens": 1, "output_tokens": 1, "created_at": "2026-07-01T12:00:00+02:00"}]
    sessions.ok("import", "tokens", str(write(tmp_path / "t.jsonl", rows)), "--tz", "Europe/Paris")
    assert table_of(sessions.db, "SELECT created_at::TEXT FROM token_usage") == [
        ("2026-07-01 10:00:00",), ("2026-07-01 10:00:00",)]


def test_json_numbers_and_strings_both_work(sessions, tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text('{"session_id": "a", "input_tokens": "12", "output_tokens": 3.0, "cost": 0.1}\n'
                    '{"session_id": "a", "input_tokens": 1e3, "output_tokens": 0, "cost": "7.5e-8"}\n')
    sessions.ok("import", "tokens", str(path))
    assert table_of(sessions.db, "SELECT input_tokens, output_tokens, estimated_cost FROM token_usage ORDER BY 1") == [
        (12, 3, Decimal("0.1")), (1000, 0, Decimal("0.000000075"))]


STORY_ROWS = [
    {"session_id": "a", "id": "story-1", "title": "Harbour", "narrative": "The fog\u00a0lifted —  slowly.\n",
     "tone": "calm", "priority": "high", "duration": "42.5", "created_at": "2026-03-01T10:00:00Z"},
    {"session_id": "a", "title": "Storm", "narrative": "Winds, force eight!", "word_count": "10"},
    {"session_id": "b", "title": "Empty"},
]
STORY_COLUMNS = ["session_id", "id", "title", "narrative", "tone", "priority", "word_count", "duration",
                 "created_at"]


@pytest.mark.parametrize("extension", [".jsonl", ".csv", ".tsv"])
def test_stories_import_with_word_counts_like_record_story(sessions, tmp_path, extension):
    path = write(tmp_path / f"stories{extension}", STORY_ROWS, STORY_COLUMNS)
    result = sessions("import", "stories", str(path))
    assert result.exit_code == 0, result.stderr
    assert "imported 3 stories into 2 sessions" in result.stderr
    rows = table_of(sessions.db, "SELECT session_id, title, narrative, tone, word_count, duration FROM story_history "
                                 "ORDER BY title")
    assert rows == [("b", "Empty", None, None, 0, None),
                    ("a", "Harbour", "The fog\u00a0lifted —  slowly.\n", "calm", 4, 42.5),
                    ("a", "Storm", "Winds, force eight!", None, 10, None)]
    assert count_words(STORY_ROWS[0]["narrative"]) == 4
    again = sessions("import", "stories", str(path))
    assert "imported 2 stories" in again.stderr and "1 were recorded already" in again.stderr


def test_story_word_counts_match_record_story_on_awkward_text(sessions, tmp_path):
    texts = ["a\u2003b\u3000c", "tab\tand\x1cfile\x1fsep", "— – ...", "x\u0085y", "résumé, naïve 42", "",
             "  leading and trailing  ", "emoji 🙂 counts? 🙂x"]
    rows = [{"session_id": "a", "title": f"t{i}", "narrative": text} for i, text in enumerate(texts)]
    sessions.ok("import", "stories", str(write(tmp_path / "w.jsonl", rows)))
    stored = dict(table_of(sessions.db, "SELECT title, word_count FROM story_history"))
    assert [stored[f"t{i}"] for i in range(len(texts))] == [count_words(text) for text in texts]


def test_a_story_without_a_title_fails_the_whole_import(sessions, tmp_path):
    rows = [dict(STORY_ROWS[0]), {"session_id": "a", "title": "  "}]
    result = sessions("import", "stories", str(write(tmp_path / "s.csv", rows, STORY_COLUMNS)))
    assert result.exit_code == 2
    # the first row's narrative spans two lines inside its quotes
    assert result.stderr.startswith("sessionstats: line 4 (row 2): title: must not be empty")
    assert table_of(sessions.db, "SELECT count(*) FROM story_history") == [(0,)]


def test_import_commands_have_help_with_examples(run_process):
    for kind in ("tokens", "stories"):
        helped = run_process("import", kind, "--help")
        assert helped.returncode == 0 and "Example:" in helped.stdout
    assert "Example:" in run_process("reprice", "--help").stdout


def test_the_progress_line_follows_a_long_query_on_a_terminal(db, monkeypatch, capsys):
    """On a terminal, long commands show their step and DuckDB's percentage on stderr, then clear it."""
    from sessionstats.cli.progress import StepProgress
    from sessionstats.store import open_store

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with open_store(db_argument(db), write=True) as store, StepProgress(store) as progress:
        progress("counting")
        assert store.fetchone("SELECT count(*) FROM range(400000000) AS t(i) WHERE i % 7 = 0") == (57142858,)
    err = capsys.readouterr().err
    assert "sessionstats: counting..." in err and err.endswith("\r\x1b[K")
