"""`import claude-code` records what Anthropic bills for each logged message (issue 14).

Lines are shaped as Claude Code writes them (tests/claude_logs.py); costs are worked out by hand with
genai-prices' bundled prices per MTok, or the sourced rows of sessionstats/pricing/overrides.py where named.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from claude_logs import assistant_line, write_lines
from conftest import table_of

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROW = ("SELECT model, input_tokens, output_tokens, cache_read_tokens, estimated_cost, cost_source, speed, "
       "tool_calls, tool_cost, reported_cost FROM token_usage ORDER BY request_id")


def logged(message_id: str, request_id: str, model: str, usage: dict, **top: object) -> str:
    line = json.loads(assistant_line("s", message_id, request_id, model, usage, AT))
    line.update(top)
    return json.dumps(line, separators=(",", ":"))


def import_lines(cli, tmp_path: Path, lines: list[str], name: str = "s.jsonl") -> str:
    write_lines(tmp_path / "claude" / "projects" / "p" / name, lines)
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_fast_mode_lines_are_priced_at_six_times(cli, tmp_path: Path) -> None:
    # Opus 4.6 $5 / $25 / read $0.50, fast mode x6 (price_overrides.FAST_MODE):
    # (100 x 5 + 3,000 x 25 + 20,000 x 0.5) x 6 = (500 + 75,000 + 10,000) x 6 = $0.513 (before: $0.0855)
    import_lines(cli, tmp_path, [logged("msg_fast", "req_fast", "claude-opus-4-6", {
        "input_tokens": 100, "output_tokens": 3000, "cache_read_input_tokens": 20000, "speed": "fast"})])
    assert table_of(cli.db, ROW) == [
        ("claude-opus-4-6", 100, 3000, 20000, Decimal("0.513"), "estimated", "fast", 0, None, None)]


def test_web_searches_are_part_of_the_cost_and_shown_apart(cli, tmp_path: Path) -> None:
    # Sonnet 4.5 $3 / $15 and $10 per 1,000 searches: 1,000 x 3 + 100 x 15 = $0.0045, + 10 x $0.01 = $0.1045
    import_lines(cli, tmp_path, [logged("msg_ws", "req_ws", "claude-sonnet-4-5-20250929", {
        "input_tokens": 1000, "output_tokens": 100, "server_tool_use": {"web_search_requests": 10}})])
    assert table_of(cli.db, ROW) == [("claude-sonnet-4-5-20250929", 1000, 100, 0, Decimal("0.1045"), "estimated",
                                      None, 10, Decimal("0.1"), None)]


def test_a_stated_cost_usd_is_recorded_as_reported(cli, tmp_path: Path) -> None:
    import_lines(cli, tmp_path, [logged("msg_cost", "req_cost", "claude-sonnet-4-5-20250929",
                                        {"input_tokens": 1000, "output_tokens": 100}, costUSD=0.0046)])
    assert table_of(cli.db, ROW) == [("claude-sonnet-4-5-20250929", 1000, 100, 0, Decimal("0.0046"), "reported",
                                      None, 0, None, Decimal("0.0046"))]


def test_sonnet_4_over_200k_input_is_long_context_for_every_token(cli, tmp_path: Path) -> None:
    # price_overrides LONG_CONTEXT_ROWS: 10 x 6 + 210,000 x 0.6 + 1,000 x 22.5 = 60 + 126,000 + 22,500 = $0.14856
    # (before: at base rates, 30 + 63,000 + 15,000 = $0.07803)
    import_lines(cli, tmp_path, [logged("msg_long", "req_long", "claude-sonnet-4-20250514", {
        "input_tokens": 10, "output_tokens": 1000, "cache_read_input_tokens": 210000})])
    assert table_of(cli.db, "SELECT estimated_cost, price_source FROM token_usage") == [
        (Decimal("0.14856"), "anthropic-sonnet-4-long-context-2025-08-12")]


def test_a_sidechain_replay_under_a_new_request_id_counts_once(cli, tmp_path: Path) -> None:
    use = {"input_tokens": 7, "output_tokens": 70, "cache_read_input_tokens": 700}
    main = logged("msg_btw", "req_main", "claude-sonnet-4-5-20250929", use)
    replay = logged("msg_btw", "req_aside", "claude-sonnet-4-5-20250929", use, isSidechain=True)
    write_lines(tmp_path / "claude" / "projects" / "p" / "s" / "subagents" / "agent-aside_question-1.jsonl",
                [replay])
    stderr = import_lines(cli, tmp_path, [main])
    assert "1 duplicate copies skipped" in stderr
    assert table_of(cli.db, "SELECT count(*), sum(total_tokens) FROM token_usage") == [(1, 777)]


def test_a_replay_read_in_a_later_run_is_not_counted_again(cli, tmp_path: Path) -> None:
    use = {"input_tokens": 7, "output_tokens": 70}
    import_lines(cli, tmp_path, [logged("msg_btw", "req_main", "claude-sonnet-4-5-20250929", use)])
    write_lines(tmp_path / "claude" / "projects" / "p" / "s" / "subagents" / "agent-aside_question-1.jsonl",
                [logged("msg_btw", "req_aside", "claude-sonnet-4-5-20250929", use, isSidechain=True)])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT count(*), sum(total_tokens) FROM token_usage") == [(1, 77)]


def test_a_batch_tier_line_is_half_price(cli, tmp_path: Path) -> None:
    # Haiku 4.5 $1 / $5, Message Batches x0.5: (2,000 x 1 + 400 x 5) / 2 = $0.002
    line = json.loads(logged("msg_b", "req_b", "claude-haiku-4-5-20251001", {"input_tokens": 2000,
                                                                              "output_tokens": 400}))
    line["message"]["usage"]["service_tier"] = "batch"
    import_lines(cli, tmp_path, [json.dumps(line)])
    assert table_of(cli.db, "SELECT estimated_cost, service_tier FROM token_usage") == [(Decimal("0.002"), "batch")]


def test_reprice_keeps_the_modifiers_and_never_touches_a_reported_cost(cli, tmp_path: Path) -> None:
    import_lines(cli, tmp_path, [
        logged("msg_fast", "req_fast", "claude-opus-4-6", {"input_tokens": 100, "output_tokens": 3000,
                                                           "cache_read_input_tokens": 20000, "speed": "fast"}),
        logged("msg_cost", "req_cost", "claude-sonnet-4-5-20250929", {"input_tokens": 1000, "output_tokens": 100},
               costUSD=0.0046)])
    before = table_of(cli.db, "SELECT request_id, estimated_cost, cost_source FROM token_usage ORDER BY request_id")
    cli.ok("reprice", "s")
    assert table_of(cli.db, "SELECT request_id, estimated_cost, cost_source FROM token_usage "
                            "ORDER BY request_id") == before


def test_an_advisor_iteration_in_a_line_is_its_own_model_under_the_same_request(cli, tmp_path: Path) -> None:
    # Sonnet 4.5 executor 2,390 x 3 + 500 x 15 = $0.01467; Opus 4.1 advisor 1,800 x 15 + 150 x 75 = $0.03825
    usage = {"input_tokens": 2390, "output_tokens": 500, "iterations": [
        {"type": "message", "input_tokens": 1200, "output_tokens": 260},
        {"type": "advisor_message", "model": "claude-opus-4-1-20250805", "input_tokens": 1800, "output_tokens": 150},
        {"type": "message", "input_tokens": 1190, "output_tokens": 240}]}
    line = logged("msg_adv", "req_adv", "claude-sonnet-4-5-20250929", usage)
    import_lines(cli, tmp_path, [line, line])  # a streamed copy too
    assert table_of(cli.db, "SELECT call_part, model, input_tokens, output_tokens, estimated_cost, request_id "
                            "FROM token_usage ORDER BY call_part") == [
        (0, "claude-sonnet-4-5-20250929", 2390, 500, Decimal("0.01467"), "msg_adv:req_adv"),
        (1, "claude-opus-4-1-20250805", 1800, 150, Decimal("0.03825"), "msg_adv:req_adv")]
    shown = cli.json("show", "s")
    assert (shown["api_calls"], Decimal(str(shown["total_cost"]))) == (1, Decimal("0.05292"))
    again = cli("import", "claude-code", str(tmp_path / "claude"))
    assert again.exit_code == 0
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(2,)]


def test_a_line_is_priced_at_its_own_timestamp_and_says_so(cli, tmp_path: Path) -> None:
    timed = logged("msg_t", "req_t", "claude-sonnet-4-5-20250929", {"input_tokens": 1, "output_tokens": 1})
    untimed = json.loads(logged("msg_u", "req_u", "claude-sonnet-4-5-20250929", {"input_tokens": 1,
                                                                                 "output_tokens": 1}))
    del untimed["timestamp"]
    import_lines(cli, tmp_path, [timed, json.dumps(untimed)])
    rows = table_of(cli.db, "SELECT request_id, priced_at, priced_at_source FROM token_usage ORDER BY request_id")
    assert rows[0] == ("msg_t:req_t", datetime(2026, 3, 2, 12, 0), "response")
    assert rows[1][0] == "msg_u:req_u" and rows[1][2] == "now"


def test_lines_a_tier_or_speed_leaves_unpriced_are_said_in_the_summary_never_priced_at_zero(cli, tmp_path) -> None:
    """record-tokens warns of a tier with no published price; the import stored such lines in silence."""
    lines = []
    for number, (model, key, value) in enumerate([("claude-sonnet-4-20250514", "service_tier", "priority"),
                                                   ("claude-sonnet-4-20250514", "service_tier", " PRIORITY "),
                                                   ("claude-sonnet-4-5-20250929", "speed", "fast"),
                                                   ("claude-haiku-4-5-20251001", "service_tier", "batch")]):
        line = json.loads(logged(f"msg_{number}", f"req_{number}", model, {"input_tokens": 2000,
                                                                           "output_tokens": 400}))
        line["message"]["usage"][key] = value
        lines.append(json.dumps(line))
    stderr = import_lines(cli, tmp_path, lines)
    assert ("warning: claude-sonnet-4-20250514: priority tier (priced by commitment); 2 records stored with an "
            "unknown cost") in stderr
    assert ("warning: claude-sonnet-4-5-20250929: fast mode on claude-sonnet-4-5 (no published price); 1 records "
            "stored with an unknown cost") in stderr
    assert stderr.count("warning:") == 2  # the batch line is priced: (2,000 x 1 + 400 x 5) / 2 = $0.002
    assert table_of(cli.db, "SELECT count(*) FILTER (WHERE estimated_cost IS NULL), sum(estimated_cost) "
                            "FROM token_usage") == [(3, Decimal("0.002"))]


@pytest.mark.parametrize(("message_length", "request_length"), [(190, 30), (120, 150), (128, 100), (129, 100),
                                                                (30, 400), (5000, 10)])
def test_a_replay_of_a_message_with_a_long_id_read_in_a_later_run_is_not_counted_again(
        cli, tmp_path: Path, message_length: int, request_length: int) -> None:
    """Past 200 characters the stored request id is hashed; the replay check finds it by the same key."""
    message, request = "msg_" + "m" * (message_length - 4), "req_" + "r" * (request_length - 4)
    use = {"input_tokens": 7, "output_tokens": 70}
    import_lines(cli, tmp_path, [logged(message, request, "claude-sonnet-4-5-20250929", use)])
    write_lines(tmp_path / "claude" / "projects" / "p" / "s" / "subagents" / "agent-aside_question-1.jsonl",
                [logged(message, "req_aside", "claude-sonnet-4-5-20250929", use, isSidechain=True)])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT count(*), sum(total_tokens), max(length(request_id)) <= 200 FROM token_usage") \
        == [(1, 77, True)]


def test_messages_whose_long_ids_share_their_first_characters_are_two_calls(cli, tmp_path: Path) -> None:
    use = {"input_tokens": 7, "output_tokens": 70}
    lines = [logged("msg_" + "m" * 200 + tail, f"req_{tail}", "claude-sonnet-4-5-20250929", use) for tail in "ab"]
    import_lines(cli, tmp_path, lines)
    assert table_of(cli.db, "SELECT count(*), count(DISTINCT request_id) FROM token_usage") == [(2, 2)]
