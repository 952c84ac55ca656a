"""record-tokens --from-response records what a provider bills (issue 14): every usage field and price modifier.

Each fixture under tests/fixtures/responses is written from the provider's documented format; the expected
cost is worked out by hand below, with the price's source. Prices per million tokens (MTok) come from
genai-prices' bundled data unless a comment names sessionstats/pricing/overrides.py.
"""

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import snapshot, table_of

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
ROWS = ("SELECT call_part, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
        "estimated_cost, cost_source, tool_calls, tool_cost FROM token_usage ORDER BY call_part")

BILLED = [
    # Advisor: the top-level usage is the Sonnet executor's; the Opus 4.1 advisor iteration is billed too.
    # Sonnet 4.5 $3 / $15: 2,390 x 3 + 500 x 15 = 7,170 + 7,500 = $0.01467
    # Opus 4.1 $15 / $75: 1,800 x 15 + 150 x 75 = 27,000 + 11,250 = $0.03825   (before: only $0.01467 recorded)
    ("anthropic_advisor_iterations.json", [
        (0, "claude-sonnet-4-5-20250929", 2390, 500, 0, 0, Decimal("0.01467"), "estimated", 0, None),
        (1, "claude-opus-4-1-20250805", 1800, 150, 0, 0, Decimal("0.03825"), "estimated", 0, None)]),
    # Compaction in a stream: the iterations arrive in message_delta. Sonnet 4.5 $3 / $15:
    # main 2,300 x 3 + 100 x 15 = $0.0084; compaction 18,000 x 3 + 350 x 15 = 54,000 + 5,250 = $0.05925
    ("anthropic_compaction_stream.sse", [
        (0, "claude-sonnet-4-5-20250929", 2300, 100, 0, 0, Decimal("0.0084"), "estimated", 0, None),
        (1, "claude-sonnet-4-5-20250929", 18000, 350, 0, 0, Decimal("0.05925"), "estimated", 0, None)]),
    # 10 web searches at $10 per 1,000 (genai-prices web_searches_kcount; Anthropic pricing page):
    # 6,000 x 3 + 800 x 15 = $0.03, + 10 x $0.01 = $0.13 (before: $0.03)
    ("anthropic_web_search.json", [
        (0, "claude-sonnet-4-5-20250929", 6000, 800, 0, 0, Decimal("0.13"), "estimated", 10, Decimal("0.1"))]),
    # Fast mode on Opus 4.6 is 6x (price_overrides.FAST_MODE; Anthropic fast-mode docs): $5 / $25 / read $0.50:
    # (1,000 x 5 + 2,000 x 25 + 10,000 x 0.5) x 6 = 60,000 x 6 = $0.36 (before: $0.06)
    ("anthropic_fast_mode.json", [
        (0, "claude-opus-4-6", 1000, 2000, 10000, 0, Decimal("0.36"), "estimated", 0, None)]),
    # Message Batches are half price (price_overrides.SERVICE_TIERS): Haiku 4.5 $1 / $5:
    # (10,000 x 1 + 1,000 x 5) / 2 = $0.0075 (before: $0.015)
    ("anthropic_batch.json", [
        (0, "claude-haiku-4-5-20251001", 10000, 1000, 0, 0, Decimal("0.0075"), "estimated", 0, None)]),
    # Sonnet 4 over 200k input (cache reads count): every token at the long-context rate (price_overrides
    # LONG_CONTEXT_ROWS, $6 / $22.50 / read $0.60): 150,000 x 6 + 60,000 x 0.6 + 2,000 x 22.5 = $0.981
    # (before: base rates, 450,000 + 18,000 + 30,000 = $0.498)
    ("anthropic_sonnet_4_long_context.json", [
        (0, "claude-sonnet-4-20250514", 150000, 2000, 60000, 0, Decimal("0.981"), "estimated", 0, None)]),
    # OpenAI cache writes are inside prompt_tokens: 4,020 = 8 uncached + 4,012 written. gpt-5.6 after the
    # 2026-08-21 price change $4 / write $5 / $20: 8 x 4 + 4,012 x 5 + 100 x 20 = 32 + 20,060 + 2,000 = $0.022092
    ("openai_chat_cache_write.json", [
        (0, "gpt-5.6", 8, 100, 0, 4012, Decimal("0.022092"), "estimated", 0, None)]),
    # Flex is priced at Batch API rates, half (OpenAI flex-processing guide). gpt-5 $1.25 / read $0.125 / $10;
    # reasoning tokens are inside output_tokens: (176 x 1.25 + 1,024 x 0.125 + 300 x 10) / 2 = 3,348 / 2 = $0.001674
    ("openai_response_flex_stream.sse", [
        (0, "gpt-5", 176, 300, 1024, 0, Decimal("0.001674"), "estimated", 0, None)]),
    # A stream ending in response.incomplete (max_output_tokens) is billed: gpt-4o $2.50 / $10:
    # 500 x 2.5 + 4,096 x 10 = $0.04221 (before: refused, exit 2)
    ("openai_response_incomplete_stream.sse", [
        (0, "gpt-4o-2024-08-06", 500, 4096, 0, 0, Decimal("0.04221"), "estimated", 0, None)]),
    # response.failed with usage: 800 x 2.5 + 20 x 10 = $0.0022
    ("openai_response_failed_stream.sse", [
        (0, "gpt-4o-2024-08-06", 800, 20, 0, 0, Decimal("0.0022"), "estimated", 0, None)]),
    # Two web_search_call items at the data's $10 per 1,000 for gpt-5.6: 3,000 x 4 + 400 x 20 = $0.02, + $0.02
    ("openai_response_web_search.json", [
        (0, "gpt-5.6", 3000, 400, 0, 0, Decimal("0.04"), "estimated", 2, Decimal("0.02"))]),
    # OpenRouter states what it charged (usage.cost): recorded as reported, exactly as written.
    ("openrouter_chat_cost.json", [
        (0, "openai/gpt-4o", 1000, 100, 0, 0, Decimal("0.00351"), "reported", 0, None)]),
    # Gemini through its OpenAI-compatible endpoint: gemini-2.5-flash $0.30 / $2.50:
    # 2,000 x 0.3 + 500 x 2.5 = 600 + 1,250 = $0.00185
    ("gemini_openai_compatible.json", [
        (0, "gemini-2.5-flash", 2000, 500, 0, 0, Decimal("0.00185"), "estimated", 0, None)]),
    # Priority processing has its own price list, not in the data: unknown, never the standard price.
    ("openai_chat_priority.json", [
        (0, "gpt-5", 1000, 100, 0, 0, None, "unknown", 0, None)]),
]


@pytest.mark.parametrize(("fixture", "expected"), BILLED, ids=[b[0] for b in BILLED])
def test_each_response_is_recorded_as_the_provider_bills_it(cli, fixture, expected):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / fixture))
    assert table_of(cli.db, ROWS) == expected


def test_a_call_with_an_advisor_iteration_splits_by_model_and_counts_its_total(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_advisor_iterations.json"))
    again = cli("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_advisor_iterations.json"))
    assert again.exit_code == 0 and "recorded already" in again.stderr
    assert table_of(cli.db, "SELECT count(*), sum(estimated_cost), count(DISTINCT request_id) FROM token_usage") == [
        (2, Decimal("0.05292"), 1)]  # 0.01467 + 0.03825


def test_the_response_time_prices_the_call_not_the_time_it_is_recorded(cli):
    # gpt-5.6 before the 2026-08-21 price change was $5 / $30: 1,000 x 5 + 200 x 30 = $0.011 (at today's
    # $4 / $20 it would be $0.008). `created` is 2026-08-01 10:00 UTC.
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "openai_chat_before_price_cut.json"))
    assert table_of(cli.db, "SELECT estimated_cost, priced_at, priced_at_source, created_at FROM token_usage") == [
        (Decimal("0.011"), datetime(2026, 8, 1, 10), "response", datetime(2026, 8, 1, 10))]


def test_a_saved_responses_http_date_is_its_time(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_with_date_header.http"),
           "--at", "2026-11-01T00:00:00Z")
    assert table_of(cli.db, "SELECT priced_at, priced_at_source, created_at, request_id FROM token_usage") == [
        (datetime(2025, 8, 12, 9, 30), "response", datetime(2026, 11, 1), "msg_01DatedHeader")]


def test_without_a_time_in_the_response_at_prices_it_and_says_so(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--model", "gpt-5.6", "--input", "1000", "--output", "200",
           "--at", "2026-08-01T10:00:00Z")
    cli.ok("record-tokens", "-s", "s", "--model", "gpt-5.6", "--input", "1000", "--output", "200")
    assert table_of(cli.db, "SELECT estimated_cost, priced_at_source FROM token_usage ORDER BY priced_at") == [
        (Decimal("0.011"), "at"), (Decimal("0.008"), "now")]


def test_a_service_tier_the_response_does_not_state_can_be_given(cli):
    # gpt-4o Batch API, half of $2.50 / $10: (1,000 x 2.5 + 100 x 10) / 2 = $0.00175
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--model", "gpt-4o", "--input", "1000", "--output", "100",
           "--service-tier", "batch")
    assert table_of(cli.db, "SELECT estimated_cost, service_tier FROM token_usage") == [(Decimal("0.00175"), "batch")]


def test_an_unpriced_tier_warns_and_records_the_cost_as_unknown(cli):
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "openai_chat_priority.json"))
    assert result.exit_code == 0
    assert "priority tier" in result.stderr


def test_the_price_provenance_is_kept_with_the_record(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_sonnet_4_long_context.json"))
    [(source, detail)] = table_of(cli.db, "SELECT price_source, price_detail FROM token_usage")
    assert source == "anthropic-sonnet-4-long-context-2025-08-12"
    assert '"tier": "long context"' in detail and '"input": "0.000006' in detail


HOSTILE = [
    ('{"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 1, '
     '"prompt_tokens_details": [1]}}', "usage.prompt_tokens_details must be an object, got [1]"),
    ('{"object": "response", "model": "gpt-4o", "usage": {"input_tokens": 5, "output_tokens": 1, '
     '"input_tokens_details": 5}}', "usage.input_tokens_details must be an object, got 5"),
    ('data: {"type": "message_start", "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": [1, 2]}}\n',
     "message_start.message.usage must be an object"),
    ('data: {"type": "message_start", "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": "lots"}}\n',
     "message_start.message.usage must be an object"),
    ('data: {"type": "message_start", "message": "hello"}\n', "message_start.message must be an object"),
    ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
    ("data: " + "[" * 100_000 + "\n", "nests too deeply"),
    ('{"type": "message", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1, "iterations": 3}}',
     "usage.iterations must be a list"),
    ('{"type": "message", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1, "iterations": [7]}}',
     "usage.iterations[0] must be an object"),
    ('{"type": "message", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1, '
     '"iterations": [{"type": "compaction", "input_tokens": 1.5}]}}', "usage.iterations[0].input_tokens: must be"),
    ('{"type": "message", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1, "server_tool_use": []}}',
     "usage.server_tool_use must be an object"),
    ('{"type": "message", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1, "speed": 6}}',
     "usage.speed must be text"),
    ('{"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 1, '
     '"cost": "free"}}', "usage.cost must be a dollar amount"),
    ('{"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 1, '
     '"cost": -1}}', "usage.cost: "),
    ('{"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 1, '
     '"cost": 1e20}}', "usage.cost: "),
    ('{"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 1, '
     '"prompt_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 3}}}', "6 of 5 input tokens"),
    ('data: {"type": "response.incomplete", "response": {"id": "r", "object": "response", "usage": null}}\n',
     "ended in response.incomplete with no usage"),
    ('data: {"type": "response.failed", "response": {"id": "r", "object": "response", "usage": [1]}}\n',
     "usage must be an object"),
    # a key named twice: Python would keep the last, DuckDB's import the first; every path refuses it
    ('{"type": "message", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 1, "input_tokens": 900, '
     '"output_tokens": 1}}', "response: key 'input_tokens' appears twice in the object"),
    ('data: {"type": "message_start", "message": {"id": "m", "model": "claude-sonnet-4-5", "id": "n", '
     '"usage": {"input_tokens": 1, "output_tokens": 1}}}\n', "a data: line of the stream: key 'id' appears twice"),
]


@pytest.mark.parametrize(("document", "message"), HOSTILE, ids=range(len(HOSTILE)))
def test_an_odd_shape_is_refused_naming_the_field_and_writes_nothing(cli, document, message):
    cli.ok("new", "--id", "s")
    before = snapshot(cli.db)
    result = cli("record-tokens", "-s", "s", "--from-response", "-", input=document)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(cli.db) == before


def test_show_by_model_splits_a_call_that_holds_two_models_and_counts_it_once(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_advisor_iterations.json"))
    shown = cli.json("show", "s")
    assert (shown["api_calls"], shown["total_tokens"], Decimal(str(shown["total_cost"]))) == (
        1, 2390 + 500 + 1800 + 150, Decimal("0.05292"))
    assert shown["first_record_at"] == shown["last_record_at"]  # one call, one time
    by_model = {row["model"]: row for row in cli.json("show", "s", "--by", "model")["breakdown"]["rows"]}
    assert {m: (r["api_calls"], r["input_tokens"], Decimal(str(r["total_cost"]))) for m, r in by_model.items()} == {
        "claude-sonnet-4-5": (1, 2390, Decimal("0.01467")),  # each under the price data's name for its model
        "claude-opus-4-1": (0, 1800, Decimal("0.03825"))}


def test_a_litellm_proxys_cost_header_is_the_reported_cost(cli, tmp_path):
    body = (FIXTURES / "openai_chat_completion.json").read_text()
    saved = tmp_path / "litellm.http"
    saved.write_bytes(("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-litellm-response-cost: 0.0056\r\n\r\n"
                       + body).encode())
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(saved))
    assert table_of(cli.db, "SELECT estimated_cost, cost_source, reported_cost FROM token_usage") == [
        (Decimal("0.0056"), "reported", Decimal("0.0056"))]


def test_a_reported_cost_survives_export_and_import(cli, tmp_path):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "openrouter_chat_cost.json"))
    exported = tmp_path / "tokens.jsonl"
    cli.ok("export", "s", "--what", "tokens", "--to", str(exported))
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    moved = tmp_path / "moved.jsonl"
    moved.write_text("".join(json.dumps({**row, "session_id": "t"}) + "\n" for row in rows))
    cli.ok("new", "--id", "t")
    result = cli("import", "tokens", str(moved))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT session_id, estimated_cost, cost_source FROM token_usage ORDER BY session_id") == [
        ("s", Decimal("0.00351"), "reported"), ("t", Decimal("0.00351"), "reported")]


@pytest.mark.parametrize("created", [253402214400, -62135596800 + 3600])  # 9999-12-31, 0001-01-01 01:00 UTC
def test_a_response_time_the_store_cannot_keep_is_no_time(cli, tmp_path, created):
    """A `created` Python reads but the store cannot keep (it keeps 0001-01-02 to 9999-12-30) is treated as no
    time, as the agents' logs treat one: priced at the time of recording, never a refused record."""
    response = {"id": "chatcmpl-edge", "object": "chat.completion", "created": created, "model": "gpt-4o",
                "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}}
    (tmp_path / "r.json").write_text(json.dumps(response))
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(tmp_path / "r.json"))
    assert table_of(cli.db, "SELECT priced_at_source, request_id FROM token_usage") == [("now", "chatcmpl-edge")]


def _moved_to(text: str, suffix: str, *, session: str, request: str) -> str:
    """An exported file's rows under another session and request id."""
    if suffix == "jsonl":
        rows = [{**json.loads(line), "session_id": session, "request_id": request} for line in text.splitlines()]
        return "".join(json.dumps(row) + "\n" for row in rows)
    delimiter = "," if suffix == "csv" else "\t"
    rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "session_id": session, "request_id": request} for row in rows)
    return out.getvalue()


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "tsv"])
def test_a_tier_speed_and_web_searches_survive_export_import_and_reprice(cli, tmp_path, suffix):
    """Export wrote neither the tier nor the searches, so a moved batch call repriced at twice its cost."""
    # gpt-4o Batch API: (1,000 x 2.5 + 100 x 10) / 2 / 1e6 = $0.00175 (OpenAI's pricing page, genai-prices)
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--model", "gpt-4o", "--input", "1000", "--output", "100",
           "--service-tier", "batch", "--request-id", "r1")
    exported = tmp_path / f"tokens.{suffix}"
    cli.ok("export", "s", "--what", "tokens", "--to", str(exported))
    moved = tmp_path / f"moved.{suffix}"
    moved.write_text(_moved_to(exported.read_text(), suffix, session="t", request="r2"))
    cli.ok("new", "--id", "t")
    cli.ok("import", "tokens", str(moved))
    cli.ok("reprice", "t")
    assert table_of(cli.db, "SELECT session_id, estimated_cost, service_tier, speed, tool_calls FROM token_usage "
                            "ORDER BY session_id") == [("s", Decimal("0.00175"), "batch", None, 0),
                                                       ("t", Decimal("0.00175"), "batch", None, 0)]


def test_an_imported_row_is_priced_with_its_tier_and_web_searches(cli, tmp_path):
    # gpt-4o's scale tier has no published price; claude-sonnet-4-5 with 10 web searches: 1,000 x 3 + 100 x 15 = $0.0045
    # plus 10 x $0.01 = $0.1045 (genai-prices, Anthropic's web search fee of $10 per 1,000)
    rows = [{"session_id": "s", "model": "claude-sonnet-4-5-20250929", "input_tokens": 1000, "output_tokens": 100,
             "tool_calls": 10},
            {"session_id": "s", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100, "service_tier": "scale"}]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    cli.ok("new", "--id", "s")
    cli.ok("import", "tokens", str(tmp_path / "rows.jsonl"))
    assert table_of(cli.db, "SELECT model, estimated_cost, cost_source, tool_cost FROM token_usage ORDER BY model") == [
        ("claude-sonnet-4-5-20250929", Decimal("0.1045"), "estimated", Decimal("0.1")),
        ("gpt-4o", None, "unknown", None)]


def test_a_bad_tier_in_an_import_is_one_line_naming_its_row_and_writes_nothing(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    (tmp_path / "rows.csv").write_text("session_id,input_tokens,output_tokens,service_tier\ns,1,1,ok\n"
                                       f"s,1,1,{'x' * 1001}\n")
    result = cli("import", "tokens", str(tmp_path / "rows.csv"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "service_tier: is 1,001 characters long" in result.stderr
    assert snapshot(db) == before
