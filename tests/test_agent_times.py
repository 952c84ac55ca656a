"""An agent's timestamp is read by one rule whichever reader meets it: Python's (Gemini .json, OpenCode, OTel)
or DuckDB's (Codex, Gemini .jsonl, Qwen, Claude Code). Each parser alone takes forms the other refuses
(20251003T090007Z, 24:00, year 0 or 10000), and a refused time is stored as the import's: the same line gave
two different times by source. The rule is the one `--at` and `import tokens` follow (times.ISO_TIME: spaces
around it dropped, a time to the minute, any fraction cut to the microsecond), naive being UTC in a log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import table_of
from gemini_logs import write_session
from test_claude_code_lines import SOURCES

from sessionstats.ingest.json_lines import utc_text
from sessionstats.ingest.json_lines import utc_time as sql_utc_time
from sessionstats.ingest.log_values import utc_time

READ = [("2025-10-03T09:00:07.123Z", datetime(2025, 10, 3, 9, 0, 7, 123000)),
        ("2025-10-03T09:00:07.123456789Z", datetime(2025, 10, 3, 9, 0, 7, 123456)),
        ("2025-10-03T09:00:07+05:30", datetime(2025, 10, 3, 3, 30, 7)),
        ("2025-10-03T09:00:07.5-0800", datetime(2025, 10, 3, 17, 0, 7, 500000)),
        ("2025-10-03 09:00:07", datetime(2025, 10, 3, 9, 0, 7)),  # naive is UTC, never the local zone
        ("2025-10-03", datetime(2025, 10, 3)),
        (1767312000000, datetime(2026, 1, 2)), (1767312000000.5, datetime(2026, 1, 2, 0, 0, 0, 500)),
        (-62135510400000, datetime(1, 1, 2)),  # the store's first and last times (times.EARLIEST, LATEST)
        ("0001-01-02T00:00:00Z", datetime(1, 1, 2)), ("9999-12-30T00:00:00Z", datetime(9999, 12, 30)),
        # as every path reads them: spaces around a time dropped, a time to the minute, 7 or 20 fraction digits
        ("2025-10-03T09:00:07Z ", datetime(2025, 10, 3, 9, 0, 7)),
        (" 2025-10-03T09:00:07Z", datetime(2025, 10, 3, 9, 0, 7)),
        ("2025-10-03T09:00Z", datetime(2025, 10, 3, 9)), ("2025-10-03 09:00+01", datetime(2025, 10, 3, 8)),
        ("2025-10-03T09:00", datetime(2025, 10, 3, 9)),
        ("2025-10-03T09:00:07.1234567Z", datetime(2025, 10, 3, 9, 0, 7, 123456)),
        ("2025-10-03T09:00:07.99999999999999999999+00:00", datetime(2025, 10, 3, 9, 0, 7, 999999))]
REFUSED = ["20251003T090007Z", "\t2025-10-03T09:00:07Z", "2025-10-03T09:00:07Z\n", "2025-10-03T24:00:00Z",
           "2025-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
           "2025-10-03T09:00:07.Z", "2025-10-03+01:00", "2025-10-03T09:00:07+24:00", "2025-10-03t09:00:07z",
           "1767312000000",
           253402300800000, 1e20, -62135596800001, True, None, [2025],
           # times Python reads that the store cannot keep: no time, not a refused import
           -62135596800000, "0001-01-01T05:00:00Z", "0001-01-01T23:59:59.999999Z", "9999-12-30T00:00:00.000001Z",
           "9999-12-31T10:00:00Z", "9999-12-31T23:59:59Z"]


@pytest.mark.parametrize(("value", "expected"), [*READ, *((value, None) for value in REFUSED)])
def test_python_and_duckdb_read_an_agent_time_alike(value: object, expected: datetime | None) -> None:
    con = duckdb.connect()
    as_json = con.execute(f"SELECT {sql_utc_time('t')} FROM (SELECT ?::JSON AS t)", [json.dumps(value)]).fetchone()
    assert utc_time(value) == expected
    assert as_json == (expected,)
    if isinstance(value, str):
        assert con.execute(f"SELECT {utc_text('t')} FROM (SELECT ?::VARCHAR AS t)", [value]).fetchone() == (expected,)


@pytest.mark.file_only
def test_a_gemini_reply_gets_the_same_time_from_a_json_session_and_a_jsonl_one(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    times = ["2025-10-03T09:00:07.5-0800", "20251003T090007Z", "2025-10-03T24:00:00Z"]
    for kind in ("json", "jsonl"):
        session = {"sessionId": f"s-{kind}", "projectHash": "h"}
        messages = [{"id": f"m{n}", "timestamp": at, "type": "gemini", "model": "gemini-2.5-pro",
                     "tokens": {"input": 10 + n, "output": 1}} for n, at in enumerate(times)]
        write_session(chats / f"session-{kind}.{kind}", session, messages)
    before = datetime.now(UTC).replace(tzinfo=None)
    cli.ok("import", "gemini", str(tmp_path / "tmp"))
    rows = table_of(cli.db, "SELECT session_id, input_tokens, created_at FROM token_usage ORDER BY 1, 2")
    by_kind = {kind: [at for sid, _, at in rows if sid == f"s-{kind}"] for kind in ("json", "jsonl")}
    assert by_kind["json"][0] == by_kind["jsonl"][0] == datetime(2025, 10, 3, 17, 0, 7, 500000)
    assert all(at >= before for kind in by_kind for at in by_kind[kind][1:])  # refused: the import's time


@pytest.mark.file_only
def test_the_summary_says_how_many_calls_were_stored_at_the_imports_time_by_either_reader(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    for kind in ("json", "jsonl"):  # Python reads the .json session, DuckDB the .jsonl one
        session = {"sessionId": f"s-{kind}", "projectHash": "h"}
        messages = [{"id": f"m{n}", "timestamp": at, "type": "gemini", "model": "gemini-2.5-pro",
                     "tokens": {"input": 10 + n, "output": 1}}
                    for n, at in enumerate(["2025-10-03T09:00:07Z", "2025-10-03T24:00:00Z", "yesterday"])]
        write_session(chats / f"session-{kind}.{kind}", session, messages)
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert "; 4 stored at the import's time (their lines gave no time that could be read)" in result.stderr
    # priced at the import's time, and saying so, not as if the response had been timed
    assert table_of(cli.db, "SELECT priced_at_source, count(*) FROM token_usage GROUP BY 1 ORDER BY 1") == [
        ("now", 4), ("response", 2)]


@pytest.mark.parametrize("edge", ["0001-01-01T05:00:00Z", "9999-12-31T10:00:00Z"])
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_time_the_store_cannot_keep_is_no_time_not_a_failed_import(cli, tmp_path: Path, source, edge) -> None:
    """Python reads year 1 and 9999 whole, the store keeps 0001-01-02 to 9999-12-30: such a line's call is
    stored at the import's time beside the others, where it used to refuse the whole import (exit 2)."""
    relative, make = SOURCES[source]
    path = tmp_path / "root" / relative
    path.parent.mkdir(parents=True)
    lines = [{**json.loads(make(count)), "timestamp": at}
             for count, at in ((40, "2026-01-02T03:04:05Z"), (50, edge))]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    before = datetime.now(UTC).replace(tzinfo=None)
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "1 stored at the import's time" in result.stderr
    (good, good_at), (edged, edged_at) = table_of(
        cli.db, "SELECT input_tokens, created_at FROM token_usage ORDER BY input_tokens")
    assert (good, good_at, edged) == (40, datetime(2026, 1, 2, 3, 4, 5), 50)
    assert edged_at >= before
