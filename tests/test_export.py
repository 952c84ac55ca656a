"""`sessionstats export`: formats by extension, filters, ownership, and a round trip through import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, table_of

FIGURES = ("story_count", "api_calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
           "total_tokens", "total_cost", "unpriced_records", "word_count", "first_record_at", "last_record_at")


@pytest.fixture
def recorded(cli: Cli) -> Cli:
    for session in ("a", "b"):
        cli.ok("new", "--id", session)
    cli.ok("record-story", "-s", "a", "--id", "st1", "--title", "Fog", "--narrative", "The fog lifted slowly.",
           "--tone", "calm", "--duration", "12.5", "--at", "2026-03-01T10:00:00Z")
    cli.ok("record-story", "-s", "b", "--id", "st2", "--title", "Storm", "--narrative", "Thunder.",
           "--at", "2026-03-02T10:00:00Z")
    cli.ok("record-tokens", "-s", "a", "--model", "claude-sonnet-4-5", "--input", "1200", "--output", "350",
           "--cache-read", "10000", "--cache-write", "500", "--cache-write-1h", "200", "--story", "st1",
           "--request-id", "r1", "--at", "2026-03-01T10:00:01Z")
    cli.ok("record-tokens", "-s", "a", "--model", "gpt-4o", "--input", "5", "--output", "6", "--cost",
           "0.000000075", "--at", "2026-03-01T11:00:00Z")
    cli.ok("record-tokens", "-s", "b", "--model", "mystery-9", "--input", "7", "--output", "8",
           "--cache-write", "9", "--request-id", "r2", "--at", "2026-03-02T10:00:01Z")
    cli.as_user("bob").ok("new", "--id", "a")
    cli.as_user("bob").ok("record-tokens", "-s", "a", "--input", "999", "--output", "999")
    return cli


def figures(cli: Cli) -> dict[str, dict]:
    return {row["session_id"]: {k: row[k] for k in FIGURES} for row in cli.json("list")}


@pytest.mark.parametrize("extension", [".jsonl", ".csv"])
def test_exported_tokens_and_stories_import_into_a_fresh_database_with_the_same_stats(
        recorded: Cli, tmp_path: Path, extension: str) -> None:
    tokens, stories = tmp_path / f"tokens{extension}", tmp_path / f"stories{extension}"
    assert "wrote 3 rows of tokens" in recorded("export", "--to", str(tokens)).stderr
    assert "wrote 2 rows of stories" in recorded("export", "--to", str(stories), "--what", "stories").stderr
    fresh = Cli(tmp_path / "fresh.duckdb")
    fresh.ok("import", "stories", str(stories), "--create-sessions")
    fresh.ok("import", "tokens", str(tokens), "--create-sessions")
    assert figures(fresh) == figures(recorded)
    one_hour = "SELECT request_id, cache_write_tokens, cache_write_1h_tokens FROM token_usage ORDER BY ALL"
    assert table_of(fresh.db, one_hour) == [("r1", 500, 200), ("r2", 9, 0), (None, 0, 0)]
    sources = "SELECT request_id, cost_source, estimated_cost FROM token_usage WHERE user_id = ? ORDER BY ALL"
    assert table_of(fresh.db, sources.replace("?", "'" + fresh.user + "'")) == table_of(
        recorded.db, sources.replace("?", "'alice'"))  # an estimated cost stays estimated, an unknown one unknown


def test_an_import_refuses_a_cost_source_that_does_not_fit_its_cost(cli: Cli, tmp_path: Path) -> None:
    cli.ok("new", "--id", "s")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"session_id": "s", "input_tokens": 1, "output_tokens": 1, "cost_source": "unknown", '
                   '"cost": "0.5"}\n')
    result = cli("import", "tokens", str(bad))
    assert result.exit_code == 2
    assert "line 1" in result.stderr and "cost_source" in result.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]


def test_parquet_keeps_exact_types(recorded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    recorded.ok("export", "--to", str(path))
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))",
                             {"p": str(path)}).fetchall())
    assert types["cost"] == "DECIMAL(38,18)" and types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    costs = con.execute("SELECT request_id, cost::VARCHAR FROM read_parquet($p) ORDER BY created_at",
                        {"p": str(path)}).fetchall()
    assert costs[1] == (None, "0.000000075000000000")


def test_another_users_data_never_leaves(recorded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    recorded.ok("export", "--to", str(path))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["input_tokens"] for r in rows) == [5, 7, 1200]
    bob = tmp_path / "bob.jsonl"
    recorded.as_user("bob").ok("export", "--to", str(bob))
    assert [json.loads(line)["input_tokens"] for line in bob.read_text().splitlines()] == [999]


def test_sessions_and_filters_choose_the_rows(recorded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    recorded.ok("export", "a", "--to", str(path), "--model", "gpt-4o")
    assert [json.loads(line)["cost"] for line in path.read_text().splitlines()] == [7.5e-08]
    recorded.ok("export", "--to", str(path), "--what", "stories", "--since", "2026-03-02T00:00:00Z")
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["st2"]


def test_stats_rows_match_list(recorded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stats.csv"
    recorded.ok("export", "--to", str(path), "--what", "stats")
    import csv

    rows = {r["session_id"]: r for r in csv.DictReader(path.open())}
    listed = figures(recorded)
    assert set(rows) == {"a", "b"}
    assert rows["a"]["total_tokens"] == str(listed["a"]["total_tokens"]) == "12061"  # 1,200+350+10,000+500+6+5
    assert rows["a"]["story_count"] == "1"


def test_an_unknown_session_or_format_writes_nothing(recorded: Cli, tmp_path: Path) -> None:
    missing = recorded("export", "zzz", "--to", str(tmp_path / "x.csv"))
    assert missing.exit_code == 1 and missing.stderr.startswith("sessionstats: ")
    unknown = recorded("export", "--to", str(tmp_path / "x.xlsx"))
    assert unknown.exit_code == 2 and "--to:" in unknown.stderr
    nowhere = recorded("export", "--to", str(tmp_path / "no" / "x.csv"))
    assert nowhere.exit_code == 2
    assert list(tmp_path.glob("x.*")) == []


def test_a_path_with_quotes_is_written_as_named(recorded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "it's; DROP TABLE sessions; --.csv"
    recorded.ok("export", "--to", str(path))
    assert path.read_text().count("\n") == 4
    assert table_of(recorded.db, "SELECT count(*) FROM sessions") == [(3,)]
