"""`sessionstats explain`: a record's cost as arithmetic a person can check, and a session's total by source."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import table_of

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
RESPONSES = sorted(p.name for p in FIXTURES.iterdir())


@pytest.mark.parametrize("fixture", RESPONSES)
def test_the_arithmetic_adds_up_to_the_stored_cost_for_every_fixture(cli, fixture):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / fixture))
    for (record_id, stored, source) in table_of(cli.db, "SELECT id, estimated_cost, cost_source FROM token_usage"):
        shown = json.loads(cli.ok("explain", record_id, "--format", "json"), parse_float=Decimal)
        terms = sum((Decimal(line["quantity"]) * Decimal(str(line["rate"])) for line in shown["lines"]), Decimal(0))
        if source == "estimated":
            assert shown["matches_stored_cost"] is True
            assert terms == sum((Decimal(str(line["cost"])) for line in shown["lines"]), Decimal(0)) == stored
            assert Decimal(str(shown["estimate"])) == stored
        elif source == "unknown":
            assert stored is None and shown["lines"] == [] and shown["note"]
        else:
            assert Decimal(str(shown["estimated_cost"])) == stored


def test_a_record_reads_as_arithmetic(cli):
    # Sonnet 4.5 $3 / $15 and 10 web searches at $10 per 1,000
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--from-response",
                       str(FIXTURES / "anthropic_web_search.json")).strip()
    text = cli.ok("explain", record_id, "--format", "table")
    assert "  6,000 input          x $3.00/M        = $0.018000\n" in text
    assert "    800 output         x $15.00/M       = $0.012000\n" in text
    assert "     10 web searches   x $0.01 each     = $0.100000\n" in text
    assert text.endswith("total $0.130000\n")


def test_a_reported_cost_shows_the_estimate_beside_it(cli):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--from-response",
                       str(FIXTURES / "openrouter_chat_cost.json")).strip()
    text = cli.ok("explain", record_id, "--format", "table")
    assert "total $0.003500\n" in text and "stored cost $0.003510 (reported;" in text


def test_a_session_splits_into_given_reported_estimated_and_unknown(cli):
    cli.ok("new", "--id", "s")
    for fixture in ("openrouter_chat_cost.json", "openai_chat_priority.json", "anthropic_batch.json"):
        cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / fixture))
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0.25")
    split = json.loads(cli.ok("explain", "--session", "s", "--format", "json"), parse_float=Decimal)
    assert split == {"session_id": "s", "total_cost": Decimal("0.26101"), "given_records": 1, "reported_records": 1,
                     "estimated_records": 1, "unknown_records": 1, "given_cost": Decimal("0.25"),
                     "reported_cost": Decimal("0.00351"), "estimated_cost": Decimal("0.0075"), "unknown_cost": 0}
    shown = cli.json("show", "s")
    assert Decimal(str(shown["total_cost"])) == split["total_cost"]


def test_after_a_price_data_change_explain_says_the_stored_cost_is_stale(cli):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--model", "gpt-4o", "--input", "1000", "--output", "10").strip()
    from conftest import execute_in
    execute_in(cli.db, "UPDATE token_usage SET estimated_cost = 1")
    text = cli.ok("explain", record_id, "--format", "table")
    assert "stored cost $1.000000 was priced with other price data" in text


@pytest.mark.parametrize(("args", "code", "message"), [
    (("explain",), 2, "name one record, or a session with --session"),
    (("explain", "r1", "--session", "s"), 2, "name one record, or a session with --session"),
    (("explain", "no-such-record"), 1, "token record 'no-such-record' not found"),
    (("explain", "--session", "nobody"), 1, "session 'nobody' not found"),
])
def test_explain_refuses_what_it_cannot_explain_in_one_line(cli, args, code, message):
    cli.ok("new", "--id", "s")
    result = cli(*args)
    assert result.exit_code == code and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_another_users_record_reads_as_not_found(cli):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--model", "gpt-4o", "--input", "1", "--output", "1").strip()
    result = cli.as_user("mallory")("explain", record_id)
    assert result.exit_code == 1 and "not found" in result.stderr


def _assert_every_estimate_adds_up(cli) -> int:
    checked = 0
    for record_id, stored in table_of(cli.db, "SELECT id, estimated_cost FROM token_usage "
                                              "WHERE cost_source = 'estimated'"):
        shown = json.loads(cli.ok("explain", record_id, "--format", "json"), parse_float=Decimal)
        assert sum((Decimal(line["quantity"]) * Decimal(str(line["rate"])) for line in shown["lines"]),
                   Decimal(0)) == stored
        checked += 1
    return checked


def test_the_arithmetic_adds_up_for_imported_claude_code_lines(cli, tmp_path):
    from claude_logs import write_lines
    from test_billed_claude_code import logged
    usage = {"input_tokens": 100, "output_tokens": 3000, "cache_read_input_tokens": 20000,
             "cache_creation_input_tokens": 900, "cache_creation": {"ephemeral_1h_input_tokens": 600},
             "speed": "fast", "server_tool_use": {"web_search_requests": 3},
             "iterations": [{"type": "compaction", "input_tokens": 5000, "output_tokens": 70}]}
    write_lines(tmp_path / "claude" / "projects" / "p" / "s.jsonl", [
        logged("msg_a", "req_a", "claude-opus-4-6", usage),
        logged("msg_b", "req_b", "claude-sonnet-4-20250514", {"input_tokens": 10, "output_tokens": 1000,
                                                              "cache_read_input_tokens": 210000})])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    assert _assert_every_estimate_adds_up(cli) == 3


def test_the_arithmetic_adds_up_for_imported_llm_rows(cli, tmp_path):
    from test_billed_llm_logs import CASES
    from test_llm_import import make_logs
    logs = make_logs(tmp_path / "logs.db", [(f"01JR{n}", "01JCONV1", model, inp, out, json.dumps(details),
                                             "2026-10-01T10:00:00")
                                            for n, (model, inp, out, details, _) in enumerate(CASES)])
    cli.ok("import", "llm", str(logs))
    assert _assert_every_estimate_adds_up(cli) == len(CASES)
