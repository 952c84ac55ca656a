"""OpenCode's values read exactly as its data has them: stated costs to the digit, epoch times to the microsecond,
and which of two copies of one step counts (written from OpenCode's message schema, as tests/opencode_logs.py).

The reader parses the data with DuckDB; each case here is one where a JSON reader's doubles, a cast's rounding or
the order of reading would give another record than the rules of log_values (stated_cost, utc_time) give.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import table_of
from opencode_logs import create_database

V2_TABLE = """CREATE TABLE session_message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL,
                                             seq INTEGER, time_created INTEGER, time_updated INTEGER,
                                             data TEXT NOT NULL)"""


def step(cost: str = "0", created: str = "1767312000000", tokens: str = '{"input":1000,"output":200}',
         before: str = "") -> str:
    """An assistant message's data as OpenCode writes it, its values given as JSON text."""
    return (f'{{{before}"role":"assistant","modelID":"gpt-5","providerID":"openai","cost":{cost},'
            f'"time":{{"created":{created}}},"tokens":{tokens}}}')


def database(path: Path, *messages: tuple[str, str]) -> sqlite3.Connection:
    """An OpenCode database holding (id, data) messages of session ses_1, left open for more."""
    con = create_database(path)
    con.executemany("INSERT INTO message VALUES (?, 'ses_1', 0, 0, ?)", messages)
    con.commit()
    return con


def test_stated_costs_are_summed_as_written_with_their_trailing_zeros(cli, tmp_path: Path) -> None:
    # The third step's data names a cost inside an object first: its own cost is the one at the top.
    database(tmp_path / "opencode" / "opencode.db", ("m1", step("0.1000")), ("m2", step("0.0200")),
             ("m3", step("0.0100", before='"summary":{"cost":0.5},'))).close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert ("OpenCode stated its own cost, $0.1300, for 3 of these calls: stored as their reported cost "
            "(the others are estimated)") in result.stderr
    assert table_of(cli.db, "SELECT reported_cost FROM token_usage ORDER BY request_id") == [
        (Decimal("0.1"),), (Decimal("0.02"),), (Decimal("0.01"),)]


@pytest.mark.parametrize(("written", "stored"), [
    ("0.0000000000000000125", "0.000000000000000012"),  # a tie goes to the even digit
    ("0.0000000000000000135", "0.000000000000000014"),
    ("0.0031234567891234565", "0.003123456789123456"),  # a double's 17 digits, as JavaScript writes a cost
    ("0.0031234567891234575", "0.003123456789123458"),
    ("0.00312345678912345651", "0.003123456789123457"),  # past the tie: up
    ("3.1234567891234565e-3", "0.003123456789123456"),
])
def test_a_stated_cost_past_eighteen_places_is_rounded_half_to_even(
        cli, tmp_path: Path, written: str, stored: str) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step(written))).close()
    cli.ok("import", "opencode", str(tmp_path / "opencode"))
    assert Decimal(written).quantize(Decimal("1e-18")) == Decimal(stored)  # Python's rounding, the rule
    assert table_of(cli.db, "SELECT reported_cost, cost_source FROM token_usage") == [(Decimal(stored), "reported")]


# Far from 1970 a double of seconds holds no exact microsecond: Python's rounding of it is the one kept.
@pytest.mark.parametrize("created", ["1767312000123", "4102444800001", "253402041599999", "-62135424000001"])
def test_epoch_milliseconds_are_read_as_python_reads_them_to_the_microsecond(
        cli, tmp_path: Path, created: str) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step(created=created))).close()
    cli.ok("import", "opencode", str(tmp_path / "opencode"))
    expected = datetime.fromtimestamp(int(created) / 1000, UTC).replace(tzinfo=None)  # log_values.utc_time
    assert table_of(cli.db, "SELECT created_at, priced_at_source FROM token_usage") == [(expected, "response")]


@pytest.mark.parametrize("created", ["1767312000000.5", "1.767312e12", "253402300800000", "true", '"soon"'])
def test_a_time_that_is_no_whole_millisecond_count_in_python_years_is_no_time(
        cli, tmp_path: Path, created: str) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step(created=created))).close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT input_tokens, priced_at_source FROM token_usage") == [(1000, "now")]


def test_a_step_in_two_databases_is_stored_once_as_the_database_read_last_has_it(cli, tmp_path: Path) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step())).close()
    database(tmp_path / "opencode" / "opencode-dev.db", ("m1", step(tokens='{"input":7,"output":1}'))).close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "2 usage events; imported 1 token records" in result.stderr
    assert table_of(cli.db, "SELECT request_id, input_tokens, output_tokens FROM token_usage") == [
        ("opencode:m1", 7, 1)]


def test_a_v2_copy_of_a_message_that_billed_nothing_is_a_step_of_its_own(cli, tmp_path: Path) -> None:
    con = database(tmp_path / "opencode" / "opencode.db", ("m1", step(tokens='{"input":0,"output":0}')))
    con.execute(V2_TABLE)
    v2 = {"model": {"id": "gpt-5", "providerID": "openai"}, "cost": 0, "time": {"created": 1767312000000},
          "tokens": {"input": 30, "output": 3, "reasoning": 2, "cache": {"read": 0, "write": 0}}}
    con.execute("INSERT INTO session_message VALUES ('m1', 'ses_1', 'assistant', 0, 0, 0, ?)", (json.dumps(v2),))
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "duplicates skipped" not in result.stderr
    assert table_of(cli.db, "SELECT input_tokens, output_tokens FROM token_usage") == [(30, 5)]


def test_a_legacy_copy_that_is_no_json_named_after_a_database_step_is_a_copy_not_malformed(
        cli, tmp_path: Path) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step())).close()
    copy = tmp_path / "opencode" / "storage" / "message" / "ses_1" / "m1.json"
    copy.parent.mkdir(parents=True)
    copy.write_text('{"id": "m1", "tok')
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 duplicates skipped" in result.stderr
    assert "malformed" not in result.stderr
    assert table_of(cli.db, "SELECT input_tokens FROM token_usage") == [(1000,)]


def test_a_message_holding_a_record_separator_is_malformed_and_its_neighbours_are_read(cli, tmp_path: Path) -> None:
    odd = step(before='"title":"a\x1eb",')  # a control character in a string: no JSON
    database(tmp_path / "opencode" / "opencode.db", ("m1", step(tokens='{"input":11,"output":1}')), ("m2", odd),
             ("m3", step(tokens='{"input":33,"output":3}'))).close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(cli.db, "SELECT request_id, input_tokens FROM token_usage ORDER BY 1") == [
        ("opencode:m1", 11), ("opencode:m3", 33)]


@pytest.mark.parametrize("odd", ['"x":[1,],', '"x":{"a":1,},', '"x":nan,', '"x":-inf,', '"x":INFINITY,'])
def test_a_message_python_s_json_reader_refuses_is_malformed_though_duckdb_s_would_take_it(
        cli, tmp_path: Path, odd: str) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step(before=odd)), ("m2", step())).close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(cli.db, "SELECT request_id FROM token_usage") == [("opencode:m2",)]


@pytest.mark.parametrize("odd", ['"x":NaN,', '"x":-Infinity,', '"note":"info, ]",'])
def test_nan_and_infinity_as_python_writes_them_are_json_to_the_reader(cli, tmp_path: Path, odd: str) -> None:
    database(tmp_path / "opencode" / "opencode.db", ("m1", step(before=odd))).close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "malformed" not in result.stderr
    assert table_of(cli.db, "SELECT request_id FROM token_usage") == [("opencode:m1",)]


def test_a_session_two_databases_name_differently_gets_the_same_name_whichever_is_read_first(
        cli, tmp_path: Path) -> None:
    """The least of its names: any_value took the row the scan met first, which changed with the reading order."""
    for name, folder in (("opencode.db", "/home/me/zeta"), ("opencode-dev.db", "/home/me/alpha")):
        con = database(tmp_path / "opencode" / name, (f"m-{name}", step()))
        con.execute("INSERT INTO session VALUES ('ses_1', 'proj', NULL, 'slug', ?, 'title', '1.2.6', 0, 0)",
                    (folder,))
        con.commit()
        con.close()
    cli.ok("import", "opencode", str(tmp_path / "opencode"))
    assert table_of(cli.db, "SELECT id, name FROM sessions") == [("ses_1", "/home/me/alpha")]
