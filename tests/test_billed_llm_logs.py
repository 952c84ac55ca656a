"""`import llm` reads every billed usage field llm keeps in token_details (issue 14), and refuses odd rows.

logs.db is built with llm's documented schema (the `responses` table, and llm 0.32's `threads`/`turns`), see
tests/test_llm_import.py. Costs are worked out by hand with genai-prices' bundled prices (per MTok).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import snapshot, table_of
from test_llm_import import THREADS_SCHEMA, add_turns, make_logs

ROW = "SELECT model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, " \
      "estimated_cost FROM token_usage"

CASES = [
    # OpenAI Responses API via llm: input_tokens 2,087 includes 2,048 cached. gpt-4.1 $2 / cached $0.50 / $8:
    # 39 x 2 + 2,048 x 0.5 + 100 x 8 = 78 + 1,024 + 800 = $0.001902 (before: 2,087 x 2 + 800 = $0.004974)
    ("gpt-4.1", 2087, 100, {"input_tokens_details": {"cached_tokens": 2048}, "output_tokens_details": {}},
     ("gpt-4.1", 39, 100, 2048, 0, 0, Decimal("0.001902"))),
    # llm-anthropic keeps the cache_creation split: 89,928 one-hour writes. Sonnet 4.5 $3 / $15 / 1h write $6:
    # 10 x 3 + 500 x 15 + 89,928 x 6 = 30 + 7,500 + 539,568 = $0.547098 (before: at $3.75, $0.34476)
    ("claude-sonnet-4-5", 10, 500, {"cache_creation_input_tokens": 89928, "cache_read_input_tokens": 0,
                                     "cache_creation": {"ephemeral_1h_input_tokens": 89928,
                                                        "ephemeral_5m_input_tokens": 0}},
     ("claude-sonnet-4-5", 10, 500, 0, 89928, 89928, Decimal("0.547098"))),
    # OpenAI cache writes inside prompt_tokens: gpt-5.6 (2026-10-01) $4 / write $5 / $20:
    # 8 x 4 + 4,012 x 5 + 100 x 20 = $0.022092 (before: 4,020 x 4 + 2,000 = $0.01808)
    ("gpt-5.6", 4020, 100, {"prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 4012}},
     ("gpt-5.6", 8, 100, 0, 4012, 0, Decimal("0.022092"))),
    # The same through the Responses API's details.
    ("gpt-5.6", 4020, 100, {"input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 4012}},
     ("gpt-5.6", 8, 100, 0, 4012, 0, Decimal("0.022092"))),
]


@pytest.mark.parametrize(("model", "input_tokens", "output_tokens", "details", "expected"), CASES,
                         ids=["responses-cached", "anthropic-1h", "chat-cache-write", "responses-cache-write"])
def test_each_llm_response_is_priced_as_billed(cli, tmp_path: Path, model, input_tokens, output_tokens, details,
                                               expected) -> None:
    logs = make_logs(tmp_path / "logs.db", [("01JR1", "01JCONV1", model, input_tokens, output_tokens,
                                             json.dumps(details), "2026-10-01T10:00:00")])
    cli.ok("import", "llm", str(logs))
    assert table_of(cli.db, ROW) == [expected]


def test_turns_in_threads_read_the_same_details(cli, tmp_path: Path) -> None:
    model, input_tokens, output_tokens, details, expected = CASES[0]
    logs = add_turns(tmp_path / "logs.db", [("01JT1", "01JTHREADX", model, input_tokens, output_tokens,
                                             json.dumps(details), "2026-10-01T10:00:00")],
                     schema=THREADS_SCHEMA, parents="threads", session="thread_id")
    cli.ok("import", "llm", str(logs))
    assert table_of(cli.db, ROW) == [expected]


HOSTILE = [
    # (input_tokens, output_tokens, token_details, datetime_utc, what stderr names)
    ("many", 5, None, "2026-10-01T10:00:00", "input_tokens: must be a whole number"),
    (12.7, 5, None, "2026-10-01T10:00:00", "input_tokens: must be a whole number"),
    (-3, 5, None, "2026-10-01T10:00:00", "input_tokens: must be a whole number"),
    (10, "x", None, "2026-10-01T10:00:00", "output_tokens: must be a whole number"),
    (10, 5, None, 1700000000, "datetime_utc must be ISO 8601 text"),
    (10, 5, None, "yesterday", "datetime_utc must be ISO 8601 text"),
    (10, 5, json.dumps({"prompt_tokens_details": [1]}), "2026-10-01T10:00:00", "prompt_tokens_details must be"),
    (10, 5, json.dumps({"prompt_tokens_details": {"cached_tokens": 11}}), "2026-10-01T10:00:00", "11 of 10"),
    (10, 5, json.dumps({"cache_creation": "lots"}), "2026-10-01T10:00:00", "cache_creation must be an object"),
    (10, 5, json.dumps({"cache_read_input_tokens": 2.5}), "2026-10-01T10:00:00", "cache_read_input_tokens: must"),
    (10, 5, b"\x00{}", "2026-10-01T10:00:00", "token_details must be JSON text"),
]


@pytest.mark.parametrize(("input_tokens", "output_tokens", "details", "when", "message"), HOSTILE,
                         ids=range(len(HOSTILE)))
def test_an_odd_row_is_refused_naming_the_response_and_field(cli, tmp_path: Path, input_tokens, output_tokens,
                                                             details, when, message) -> None:
    logs = make_logs(tmp_path / "logs.db", [("01JBAD", "01JCONV1", "gpt-4o", input_tokens, output_tokens, details,
                                             when)])
    cli.ok("new", "--id", "kept")
    before = snapshot(cli.db)
    result = cli("import", "llm", str(logs))
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "'01JBAD'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(cli.db) == before
