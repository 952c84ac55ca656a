"""`sessionstats import claude-code`: layouts, de-duplication, incremental re-runs and malformed lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from claude_logs import Totals, assistant_line, user_line, write_lines, write_tree
from conftest import table_of

AT = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


def usage(inp: int, out: int, write: int = 0, read: int = 0) -> dict[str, int]:
    return {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read}


def line(session: str, tag: str, use: dict, model: str = "claude-sonnet-4-20250514") -> str:
    return assistant_line(session, f"msg_{tag}", f"req_{tag}", model, use, AT)


def totals_by_session(cli) -> dict[str, tuple]:
    rows = cli.json("list")
    return {r["session_id"]: (r["api_calls"], r["input_tokens"], r["output_tokens"], r["cache_write_tokens"],
                              r["cache_read_tokens"]) for r in rows}


def expected(totals: dict[str, Totals]) -> dict[str, tuple]:
    return {s: (t.records, t.input_tokens, t.output_tokens, t.cache_write_tokens, t.cache_read_tokens)
            for s, t in totals.items() if t.records}


def test_a_generated_tree_gives_each_sessions_exact_totals(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "claude", sessions=6, messages=40)
    result = cli("import", "claude-code", str(tree.root))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"{tree.malformed:,} malformed lines skipped" in result.stderr
    assert totals_by_session(cli) == expected(tree.expected)
    one_hour = dict(table_of(cli.db, "SELECT session_id, sum(cache_write_1h_tokens) FROM token_usage GROUP BY 1"))
    assert one_hour == {s: t.cache_write_1h_tokens for s, t in tree.expected.items() if t.records}
    assert any(one_hour.values())
    names = dict(table_of(cli.db, "SELECT id, name FROM sessions WHERE user_id = 'alice'"))
    assert names == {s: p for s, p in tree.projects.items() if tree.expected[s].records}


def test_running_again_with_nothing_new_changes_nothing(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "claude", sessions=3, messages=30)
    cli("import", "claude-code", str(tree.root))
    before = table_of(cli.db, "SELECT * FROM token_usage ORDER BY ALL")
    again = cli("import", "claude-code", str(tree.root))
    assert again.exit_code == 0
    assert "read 0 log files; imported 0 token records" in again.stderr
    assert table_of(cli.db, "SELECT * FROM token_usage ORDER BY ALL") == before


def test_subagent_logs_count_for_their_session(cli, tmp_path: Path) -> None:
    project = tmp_path / "claude" / "projects" / "-home-me-app"
    write_lines(project / "s1.jsonl", [line("s1", "a", usage(10, 20))])
    write_lines(project / "s1" / "subagents" / "agent-1.jsonl", [line("agent", "b", usage(1, 2, 3, 4))])
    write_lines(project / "s1" / "deeper" / "more" / "agent-2.jsonl", [line("agent", "c", usage(100, 0))])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    assert totals_by_session(cli) == {"s1": (3, 111, 22, 3, 4)}


def test_streamed_copies_keep_the_biggest_even_when_a_smaller_one_comes_last(cli, tmp_path: Path) -> None:
    project = tmp_path / "claude" / "projects" / "p"
    write_lines(project / "s.jsonl", [line("s", "a", usage(5, 1, 100, 0)), line("s", "a", usage(5, 90, 100, 0)),
                                      line("s", "a", usage(5, 30, 100, 0)), line("s", "b", usage(1, 1)),
                                      line("s", "b", usage(1, 1))])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert "3 duplicate copies skipped" in result.stderr
    assert totals_by_session(cli) == {"s": (2, 6, 91, 100, 0)}


def test_same_message_under_another_request_id_is_one_api_response(cli, tmp_path: Path) -> None:
    # A message id names one API response; a replay under a new requestId (issue 14, case 6) counts once.
    project = tmp_path / "claude" / "projects" / "p"
    first = assistant_line("s", "msg_1", "req_1", "claude-sonnet-4-20250514", usage(1, 1), AT)
    second = assistant_line("s", "msg_1", "req_2", "claude-sonnet-4-20250514", usage(1, 1), AT)
    write_lines(project / "s.jsonl", [first, second])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    assert totals_by_session(cli) == {"s": (1, 1, 1, 0, 0)}


def test_synthetic_messages_and_lines_without_usage_are_skipped(cli, tmp_path: Path) -> None:
    project = tmp_path / "claude" / "projects" / "p"
    write_lines(project / "s.jsonl", [user_line("s", AT), json.dumps({"type": "summary", "usage": "none"}),
                                      line("s", "syn", usage(0, 0), model="<synthetic>"), line("s", "a", usage(7, 8))])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert "1 <synthetic> messages skipped" in result.stderr
    assert "malformed" not in result.stderr
    assert totals_by_session(cli) == {"s": (1, 7, 8, 0, 0)}


def test_the_cache_creation_split_is_used_when_the_total_is_absent(cli, tmp_path: Path) -> None:
    split = {"input_tokens": 3, "output_tokens": 4,
             "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 70},
             "cache_read_input_tokens": 9}
    write_lines(tmp_path / "claude" / "projects" / "p" / "s.jsonl", [line("s", "a", split)])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    assert totals_by_session(cli) == {"s": (1, 3, 4, 120, 9)}
    # The 1-hour share is kept and priced as such: 3 x $3/M + 4 x $15/M + 50 x $3.75/M + 70 x $6/M + 9 x $0.30/M
    # = (9 + 60 + 187.5 + 420 + 2.7) / 1,000,000
    assert table_of(cli.db, "SELECT cache_write_1h_tokens, estimated_cost FROM token_usage") == [
        (70, Decimal("0.0006792"))]


def test_the_1_hour_split_is_stored_beside_the_total_and_a_bigger_copy_replaces_it(cli, tmp_path: Path) -> None:
    def with_split(out: int, five: int, hour: int) -> dict:
        return {**usage(10, out, five + hour), "cache_creation": {"ephemeral_5m_input_tokens": five,
                                                                "ephemeral_1h_input_tokens": hour}}

    log = tmp_path / "claude" / "projects" / "p" / "s.jsonl"
    write_lines(log, [line("s", "a", with_split(1, 100, 0)), line("s", "b", with_split(2, 0, 300))])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    write_lines(log, [line("s", "a", with_split(50, 100, 400))], mode="a")  # the final copy of a arrives later
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    # a: 10 x $3/M + 50 x $15/M + 100 x $3.75/M + 400 x $6/M = (30 + 750 + 375 + 2,400) / 1,000,000
    # b: 10 x $3/M + 2 x $15/M + 300 x $6/M = (30 + 30 + 1,800) / 1,000,000
    assert table_of(cli.db, "SELECT request_id, cache_write_tokens, cache_write_1h_tokens, estimated_cost "
                            "FROM token_usage ORDER BY request_id") == [
        ("msg_a:req_a", 500, 400, Decimal("0.003555")), ("msg_b:req_b", 300, 300, Decimal("0.00186"))]


def test_malformed_lines_are_counted_and_never_fatal(cli, tmp_path: Path) -> None:
    good = line("s", "a", usage(2, 3))
    bad_count = line("s", "b", usage(2, 3)).replace('"output_tokens":3', '"output_tokens":-3')
    write_lines(tmp_path / "claude" / "projects" / "p" / "s.jsonl",
                [good[:40], "not json at all", good, bad_count, "{\"usage\": "])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert result.exit_code == 0
    assert "4 malformed lines skipped" in result.stderr
    assert totals_by_session(cli) == {"s": (1, 2, 3, 0, 0)}


def test_appended_bytes_and_a_late_bigger_copy_are_read_once(cli, tmp_path: Path) -> None:
    log = tmp_path / "claude" / "projects" / "p" / "s.jsonl"
    write_lines(log, [line("s", "a", usage(5, 10)), line("s", "b", usage(1, 1))])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    write_lines(log, [line("s", "a", usage(5, 400)), line("s", "c", usage(2, 2)), line("s", "b", usage(1, 1))],
                mode="a")
    write_lines(log.parent / "t.jsonl", [line("t", "d", usage(9, 9))])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert "read 2 log files; imported 2 token records into 2 sessions" in result.stderr
    assert "1 updated to a bigger copy" in result.stderr
    assert totals_by_session(cli) == {"s": (3, 8, 403, 0, 0), "t": (1, 9, 9, 0, 0)}
    cost = table_of(cli.db, "SELECT estimated_cost, cost_source FROM token_usage WHERE request_id = 'msg_a:req_a'")
    assert cost == [(table_of(cli.db, "SELECT 5 * 0.000003 + 400 * 0.000015")[0][0], "estimated")]


def test_a_line_still_being_written_is_read_when_it_is_complete(cli, tmp_path: Path) -> None:
    log = tmp_path / "claude" / "projects" / "p" / "s.jsonl"
    full = line("s", "b", usage(4, 4))
    write_lines(log, [line("s", "a", usage(1, 1))])
    with log.open("a") as out:
        out.write(full[:50])
    first = cli("import", "claude-code", str(tmp_path / "claude"))
    assert "malformed" not in first.stderr
    with log.open("a") as out:
        out.write(full[50:] + "\n")
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    assert totals_by_session(cli) == {"s": (2, 5, 5, 0, 0)}


def test_a_rewritten_log_is_read_again_without_double_counting(cli, tmp_path: Path) -> None:
    log = tmp_path / "claude" / "projects" / "p" / "s.jsonl"
    write_lines(log, [line("s", "a", usage(1, 1)), line("s", "b", usage(2, 2))])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    write_lines(log, [line("s", "a", usage(1, 1))])
    cli.ok("import", "claude-code", str(tmp_path / "claude"))
    assert totals_by_session(cli) == {"s": (2, 3, 3, 0, 0)}


def test_config_dirs_come_from_the_environment_then_the_home_folders(cli, tmp_path: Path, monkeypatch) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    write_lines(first / "projects" / "p" / "s1.jsonl", [line("s1", "a", usage(1, 1))])
    write_lines(second / "projects" / "q" / "s2.jsonl", [line("s2", "b", usage(2, 2))])
    write_lines(tmp_path / "home" / ".claude" / "projects" / "r" / "s3.jsonl", [line("s3", "c", usage(3, 3))])
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{first},{second}")
    cli.ok("import", "claude-code")
    assert set(totals_by_session(cli)) == {"s1", "s2"}
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    cli.ok("import", "claude-code")
    assert set(totals_by_session(cli)) == {"s1", "s2", "s3"}


def test_another_user_imports_the_same_logs_for_themselves(cli, tmp_path: Path) -> None:
    write_lines(tmp_path / "c" / "projects" / "p" / "s.jsonl", [line("s", "a", usage(1, 1))])
    cli.ok("import", "claude-code", str(tmp_path / "c"))
    cli.as_user("bob").ok("import", "claude-code", str(tmp_path / "c"))
    assert totals_by_session(cli.as_user("bob")) == totals_by_session(cli) == {"s": (1, 1, 1, 0, 0)}


def test_a_missing_directory_is_refused_and_writes_nothing(cli, tmp_path: Path) -> None:
    result = cli("import", "claude-code", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stderr.startswith("sessionstats: DIR:")
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") in ([], [(0,)])


def test_a_message_copied_into_a_resumed_session_counts_once(cli, tmp_path: Path) -> None:
    project = tmp_path / "claude" / "projects" / "p"
    write_lines(project / "first.jsonl", [line("first", "a", usage(5, 50))])
    write_lines(project / "second.jsonl", [line("second", "a", usage(5, 50)), line("second", "b", usage(1, 1))])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert "1 duplicate copies skipped" in result.stderr
    assert totals_by_session(cli) == {"first": (1, 5, 50, 0, 0), "second": (1, 1, 1, 0, 0)}


def test_copies_without_a_request_id_are_one_message_by_their_message_id(cli, tmp_path: Path) -> None:
    # With or without a requestId, one message id is one API response: the biggest copy counts.
    bare = json.loads(line("s", "a", usage(9, 90)))
    del bare["requestId"]
    write_lines(tmp_path / "claude" / "projects" / "p" / "s.jsonl",
                [json.dumps(bare), json.dumps(bare), line("s", "a", usage(1, 2))])
    result = cli("import", "claude-code", str(tmp_path / "claude"))
    assert "2 duplicate copies skipped" in result.stderr
    assert totals_by_session(cli) == {"s": (1, 9, 90, 0, 0)}
