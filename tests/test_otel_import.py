"""`sessionstats import otel`: GenAI spans and Claude Code events from OTLP JSON files, once each."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from conftest import snapshot, table_of
from otel_files import api_request, genai_span, logs, traces


def totals(cli) -> dict[str, tuple[int, ...]]:
    rows = table_of(cli.db, """SELECT session_id, count(*), sum(input_tokens), sum(output_tokens),
                                      sum(cache_read_tokens), sum(cache_write_tokens) FROM token_usage GROUP BY 1""")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_spans_and_claude_code_events_are_imported_by_their_semantics(cli, tmp_path: Path) -> None:
    spans = traces(genai_span("t1", "s1", model="gpt-5", inp=10_000, out=700, read=6_000),
                   genai_span("t1", "s2", model="gpt-5", inp=300, out=20, read=250, write=10),
                   {"traceId": "t1", "spanId": "s3", "name": "execute_tool", "attributes": []})
    events = logs(api_request("cc-1", 1, model="claude-sonnet-4-5", inp=12, out=400, read=30_000, write=2_000,
                              cost=0.0213),
                  {"body": {"stringValue": "claude_code.user_prompt"}, "attributes": []})
    path = write(tmp_path / "export.jsonl", spans, events, "{truncated", json.dumps({"resourceMetrics": []}))
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    # GenAI input includes its cache: 10,000 - 6,000 and 300 - 250 - 10. Claude Code's input is uncached.
    assert totals(cli) == {"conv-1": (2, 4_000 + 40, 720, 6_250, 10), "cc-1": (1, 12, 400, 30_000, 2_000)}
    assert "1 malformed lines skipped" in result.stderr
    assert "otel: 1 records of types this version does not read: (not resourceSpans or resourceLogs) (1)" in (
        result.stderr)
    names = dict(table_of(cli.db, "SELECT id, name FROM sessions"))
    assert names == {"conv-1": "copilot-cli", "cc-1": "claude-code"}


def test_the_same_export_read_twice_or_in_two_files_counts_once(cli, tmp_path: Path) -> None:
    line = traces(genai_span("t9", "a1", model="gpt-5", inp=1_000, out=100, read=400))
    first = write(tmp_path / "a.jsonl", line, line)
    second = write(tmp_path / "b.jsonl", line)
    result = cli("import", "otel", str(first), str(second))
    assert "imported 1 token records" in result.stderr
    assert "2 duplicates skipped" in result.stderr
    # gpt-5 per MTok (OpenAI's price list, as in genai-prices): input $1.25, cached input $0.125, output $10.
    cost = table_of(cli.db, "SELECT estimated_cost FROM token_usage")[0][0]
    assert Decimal(cost) == (600 * Decimal("1.25") + 400 * Decimal("0.125") + 100 * 10) / 1_000_000


def test_a_growing_file_is_read_from_where_the_last_import_stopped(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "export.jsonl", traces(genai_span("t1", "s1", model="gpt-5", inp=100, out=10)))
    cli.ok("import", "otel", str(path))
    before = snapshot(cli.db)
    again = cli("import", "otel", str(path))
    assert "read 0 of 1 files" in again.stderr
    assert snapshot(cli.db) == before
    later = logs(api_request("cc-2", 7, model="claude-sonnet-4-5", inp=5, out=6, read=7, write=8, cost=0.01))
    with path.open("a") as out:
        out.write(later[:50])
    cli.ok("import", "otel", str(path))
    with path.open("a") as out:
        out.write(later[50:] + "\n")
    result = cli("import", "otel", str(path))
    assert "imported 1 token records" in result.stderr
    assert totals(cli) == {"conv-1": (1, 100, 10, 0, 0), "cc-2": (1, 5, 6, 7, 8)}


def test_standard_input_is_read_whole(cli, tmp_path: Path) -> None:
    text = traces(genai_span("t1", "s1", model="gpt-5", inp=100, out=10)) + "\n"
    result = cli("import", "otel", "-", input=text)
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == {"conv-1": (1, 100, 10, 0, 0)}
    assert table_of(cli.db, "SELECT count(*) FROM import_files") == [(0,)]


def test_a_fractional_token_count_is_malformed_and_a_missing_file_is_refused(cli, tmp_path: Path) -> None:
    span = genai_span("t1", "s1", model="gpt-5", inp=100, out=10)
    span["attributes"][-1]["value"] = {"doubleValue": 10.5}
    result = cli("import", "otel", str(write(tmp_path / "x.jsonl", traces(span))))
    assert "1 malformed lines skipped" in result.stderr
    assert totals(cli) == {}
    missing = cli("import", "otel", str(tmp_path / "nowhere.jsonl"))
    assert missing.exit_code == 2
    assert len(missing.stderr.strip().splitlines()) == 1


def test_claude_codes_cost_usd_is_stored_as_the_reported_cost_and_zero_is_estimated(cli, tmp_path: Path) -> None:
    events = logs(api_request("cc-1", 1, model="claude-sonnet-4-5", inp=12, out=400, read=0, write=0, cost=0.0213),
                  api_request("cc-1", 2, model="claude-sonnet-4-5", inp=1_000, out=100, read=0, write=0, cost=0.0))
    cli.ok("import", "otel", str(write(tmp_path / "export.jsonl", events)))
    rows = table_of(cli.db, "SELECT input_tokens, estimated_cost, cost_source, reported_cost FROM token_usage "
                            "ORDER BY input_tokens")
    # The float 0.0213 is kept as its shortest decimal form, exactly. Zero states nothing: claude-sonnet-4-5 per
    # MTok (Anthropic's price list, as in genai-prices): input $3, output $15.
    assert rows == [(12, Decimal("0.0213"), "reported", Decimal("0.0213")),
                    (1_000, (1_000 * Decimal(3) + 100 * Decimal(15)) / 1_000_000, "estimated", None)]
