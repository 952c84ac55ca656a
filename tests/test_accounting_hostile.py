"""Accounting against a hostile, careless user: exact money end to end, budgets at their edge, one request
counted once whichever path brought it, and ids that cannot hide a difference a person cannot see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from claude_logs import assistant_line, write_lines
from conftest import snapshot, table_of

from sessionstats.errors import InvalidInput
from sessionstats.ingest.records import TokenUsageInput, checked_usage

pytestmark = pytest.mark.file_only
INVISIBLE = ["\u200b", "\u200d", "\u202e", "\u2066", "\u00ad", "\ufeff", "\u2060"]


@pytest.fixture
def session_s(cli, db) -> tuple:
    cli.ok("new", "--id", "s")
    return snapshot(db)


# ---- the core names fields, never flags ----

@pytest.mark.parametrize(("values", "field"), [({"tool_calls": -1}, "tool_calls"), ({"tool_calls": 1.5}, "tool_calls"),
                                               ({"service_tier": "x" * 1001}, "service_tier"),
                                               ({"speed": "f\x00st"}, "speed")])
def test_the_core_names_a_bad_provenance_field_by_its_name(values, field):
    with pytest.raises(InvalidInput) as raised:
        checked_usage(TokenUsageInput(session_id="s", input_tokens=1, output_tokens=1, **values))
    assert raised.value.field == field and str(raised.value).startswith(f"{field}: ")


def test_the_record_command_names_its_service_tier_option(cli, db, session_s):
    result = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--service-tier", "x" * 1001)
    assert result.exit_code == 2
    assert result.stderr == "sessionstats: --service-tier: is 1,001 characters long (at most 1,000)\n"
    assert snapshot(db) == session_s


# ---- ids: an invisible character is refused on every path, so no request counts twice ----

@pytest.mark.parametrize("mark", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_an_invisible_character_in_a_request_id_is_refused_by_the_record_command(cli, db, session_s, mark):
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--request-id", "r1")
    before = snapshot(db)
    result = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--request-id", f"r1{mark}")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sessionstats: --request-id: the id contains a control character "
                                    f"(U+{ord(mark):04X})")
    assert snapshot(db) == before


@pytest.mark.parametrize("mark", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["request_id", "session_id", "story_id", "model"])
def test_an_invisible_character_in_an_imported_id_refuses_the_file_naming_the_line(cli, db, session_s, tmp_path,
                                                                                   mark, field):
    path = tmp_path / "rows.jsonl"
    row = {"session_id": "s", "input_tokens": 1, "output_tokens": 1, "request_id": "r0"}
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, field: f"x{mark}y"}) + "\n")
    result = cli("import", "tokens", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"sessionstats: line 2: {field}: the id contains a control character (U+{ord(mark):04X})\n"
    assert snapshot(db) == session_s


@pytest.mark.parametrize("mark", ["\u200b", "\u202e"], ids=lambda c: f"U+{ord(c):04X}")
def test_a_session_id_with_an_invisible_character_is_never_made(cli, db, mark):
    result = cli("new", "--id", f"s{mark}")
    assert result.exit_code == 2 and f"(U+{ord(mark):04X})" in result.stderr
    assert table_of(db, "SELECT count(*) FROM sessions") in ([], [(0,)])  # no database made, or no session in it


def test_a_claude_code_line_with_an_invisible_character_in_its_message_id_is_one_malformed_line(cli, db, tmp_path):
    lines = [assistant_line("s1", mid, "req_1", "claude-sonnet-4-20250514", {"input_tokens": 5, "output_tokens": 1},
                            datetime(2025, 6, 1, tzinfo=UTC))
             for mid in ("msg_1", "msg_1\u200b")]
    write_lines(tmp_path / "claude" / "projects" / "-p" / "s1.jsonl", lines)
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert table_of(db, "SELECT count(*), sum(input_tokens) FROM token_usage") == [(1, 5)]


def test_one_request_id_counts_once_whichever_path_brings_it_again(cli, db, session_s, tmp_path):
    cli.ok("record-tokens", "-s", "s", "--input", "5", "--output", "1", "--request-id", "r1", "--cost", "0.5")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"session_id": "s", "input_tokens": 9, "output_tokens": 1, "request_id": " r1 "}) + "\n")
    cli.ok("import", "tokens", str(rows))
    csv_rows = tmp_path / "rows.csv"
    csv_rows.write_text("session_id,input_tokens,output_tokens,request_id\ns,9,1,r1\n")
    cli.ok("import", "tokens", str(csv_rows))
    body = '{"type": "message", "id": "r1", "model": "my-own-model", "usage": {"input_tokens": 3, "output_tokens": 1}}'
    cli.ok("record-tokens", "-s", "s", "--from-response", "-", input=body)
    assert table_of(db, "SELECT count(*), sum(input_tokens), sum(estimated_cost) FROM token_usage") == [
        (1, 5, Decimal("0.5"))]


# ---- money: exact in JSON and CSV, four places in tables, half up ----

def test_tiny_costs_sum_exactly_in_json_and_csv_and_show_four_places_in_a_table(cli, db, session_s, tmp_path):
    for _ in range(3):
        cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", "0.000000000000000001")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", "0.00004999")
    shown = cli("show", "s", "--format", "json")
    assert json.loads(shown.stdout, parse_float=Decimal)["total_cost"] == Decimal("0.000049990000000003")
    assert '"total_cost": 0.000049990000000003' in shown.stdout  # a plain JSON number, every digit
    csv_out = cli("list", "--format", "csv").stdout.splitlines()
    header, row = csv_out[0].split(","), csv_out[1].split(",")
    assert row[header.index("total_cost")] == "0.000049990000000003"
    table = cli("show", "s", "--format", "table").stdout
    assert "$0.0000" in table  # 0.00004999... rounds down at the fourth place
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", "0.00000001")
    assert "$0.0001" in cli("show", "s", "--format", "table").stdout  # 0.00005000...3: half up


@pytest.mark.parametrize("path", ["option", "jsonl", "csv"])
def test_a_cost_of_19_places_is_refused_and_18_kept_exactly_on_every_path(cli, db, session_s, tmp_path, path):
    def record(cost: str):
        if path == "option":
            return cli("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", cost)
        rows = tmp_path / f"rows.{path}"
        rows.write_text(json.dumps({"session_id": "s", "input_tokens": 1, "output_tokens": 0, "cost": cost}) + "\n"
                        if path == "jsonl" else f"session_id,input_tokens,output_tokens,cost\ns,1,0,{cost}\n")
        return cli("import", "tokens", str(rows))

    refused = record("0.0000000000000000001")
    assert refused.exit_code == 2 and "has more than 18 decimal places" in refused.stderr
    assert snapshot(db) == session_s
    assert record("999999999.999999999999999999").exit_code == 0
    assert table_of(db, "SELECT estimated_cost FROM token_usage") == [(Decimal("999999999.999999999999999999"),)]


# ---- budgets at their edge ----

@pytest.mark.parametrize(("limit", "code"), [("0.000000000000000003", 3), ("0.000000000000000004", 0),
                                             ("0.0000000000000000030", 3), ("3e-18", 3)])
def test_a_cost_budget_is_reached_at_exactly_its_limit_and_not_a_billionth_of_a_billionth_before(
        cli, session_s, limit, code):
    for _ in range(3):
        cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", "0.000000000000000001")
    result = cli("check", "s", "--max-cost", limit)
    assert result.exit_code == code, result.stderr
    assert (result.stderr.count("\n"), "Traceback" in result.stderr) == ((1 if code else 0), False)


@pytest.mark.parametrize("limit", ["-1", "nan", "inf", "1e999", "0x10", "", " ", "１"])
def test_a_cost_budget_that_is_no_amount_is_one_line_exit_2(cli, session_s, limit):
    result = cli("check", "s", "--max-cost", limit)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "--max-cost" in result.stderr


def test_a_token_budget_at_the_largest_count_and_past_it(cli, session_s):
    assert cli("check", "s", "--max-tokens", str(2**63 - 1)).exit_code == 0
    past = cli("check", "s", "--max-tokens", str(2**63))
    assert past.exit_code == 2 and past.stderr.count("\n") == 1 and "--max-tokens" in past.stderr


def test_json_costs_read_back_exactly_by_a_script(cli, session_s, tmp_path: Path):
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", "0.1")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "0", "--cost", "0.2")
    total = json.loads(cli("show", "s", "--format", "json").stdout, parse_float=Decimal)["total_cost"]
    assert total == Decimal("0.3")  # not 0.30000000000000004
