"""`sessionstats import gemini`: .json and .jsonl, last copy wins, rewinds kept, resumed copies once, prices."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

from conftest import snapshot, table_of
from gemini_logs import line, write_tree


def totals(cli) -> dict[str, tuple[int, int, int, int]]:
    rows = table_of(cli.db, """SELECT session_id, count(*), sum(input_tokens), sum(cache_read_tokens),
                                      sum(output_tokens) FROM token_usage GROUP BY 1""")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def test_a_gemini_tree_gives_each_session_its_replies_once(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tmp")
    result = cli("import", "gemini", str(tree.root))
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == tree.expected()
    assert f"; {tree.malformed} malformed lines skipped" in result.stderr
    names = dict(table_of(cli.db, "SELECT id, name FROM sessions"))
    assert names == {"aaaaaaaa-1111-4111-8111-111111111111": "my-app",
                     "bbbbbbbb-2222-4222-8222-222222222222": "/home/me/my-app",
                     "cccccccc-3333-4333-8333-333333333333": "/home/me/my-app",
                     "dddddddd-4444-4444-8444-444444444444": None}


def test_the_naive_sums_would_be_wrong_by_hand(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    tokens = {"input": 10_000, "output": 500, "cached": 4_000, "thoughts": 300, "tool": 200, "total": 11_000}
    reply = {"id": "r1", "timestamp": "2026-05-02T10:00:00Z", "type": "gemini", "model": "gemini-2.5-pro",
             "tokens": tokens}
    old = {"sessionId": "s", "projectHash": "h", "messages": [reply]}
    (chats / "session-2026-05-02T10-00-s.json").write_text(json.dumps(old))
    (chats / "session-2026-05-02T10-00-s.jsonl").write_text(
        line({"sessionId": "s", "projectHash": "h"}) + line(reply) + line({**reply, "toolCalls": []})
        + line({"$rewindTo": "r1"}))
    cli.ok("import", "gemini", str(tmp_path / "tmp"))
    # Naively: 3 copies of input 10,000 + cached 4,000 beside it, output 500 without the 300 thoughts.
    # Once: uncached input 10,000 - 4,000 + 200 tool, cache reads 4,000, output 500 + 300 thoughts.
    assert totals(cli) == {"s": (1, 6_200, 4_000, 800)}
    # gemini-2.5-pro per MTok, prompts up to 200k (Google's price list, as in genai-prices): input $1.25,
    # cached input $0.125 (genai-prices' cache-read rate), output (thinking included) $10.
    cost = table_of(cli.db, "SELECT estimated_cost FROM token_usage")[0][0]
    assert Decimal(cost) == (6_200 * Decimal("1.25") + 4_000 * Decimal("0.125") + 800 * 10) / 1_000_000


def test_running_again_with_nothing_new_changes_nothing(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tmp")
    cli.ok("import", "gemini", str(tree.root))
    before = snapshot(cli.db)
    again = cli("import", "gemini", str(tree.root))
    assert "read 0 of 5 files; 0 usage events; imported 0 token records" in again.stderr
    assert snapshot(cli.db) == before


def test_replies_appended_later_are_added_and_a_grown_reply_replaces_its_copy(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tmp")
    cli.ok("import", "gemini", str(tree.root))
    fresh = tree.sessions["bbbbbbbb-2222-4222-8222-222222222222"]
    rng = random.Random(5)
    fresh.user(9)
    reply = fresh.reply(9, rng)
    with tree.files["fresh"].open("a") as log:
        log.write(line(fresh.messages[-2]) + line({**reply, "tokens": None}) + json.dumps(reply)[:40])
    cli.ok("import", "gemini", str(tree.root))
    with tree.files["fresh"].open("a") as log:
        log.write(json.dumps(reply)[40:] + "\n")
    result = cli("import", "gemini", str(tree.root))
    assert "imported 1 token records" in result.stderr
    assert totals(cli) == tree.expected()


def test_a_rewritten_json_session_adds_only_its_new_replies(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tmp")
    cli.ok("import", "gemini", str(tree.root))
    hashed = tree.sessions["dddddddd-4444-4444-8444-444444444444"]
    hashed.user(1)
    hashed.reply(1, random.Random(9))
    document = next((tree.root / ("0123456789abcdef" * 4) / "chats").glob("*.json"))
    document.write_text(json.dumps({**hashed.metadata(), "messages": hashed.messages}, indent=1))
    result = cli("import", "gemini", str(tree.root))
    assert "imported 1 token records" in result.stderr
    assert "1 duplicates skipped" in result.stderr
    assert totals(cli) == tree.expected()


def test_a_reply_with_a_fractional_count_is_malformed_and_the_rest_imports(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    good = {"id": "a", "type": "gemini", "model": "gemini-2.5-flash", "tokens": {"input": 5, "output": 1}}
    bad = {"id": "b", "type": "gemini", "model": "gemini-2.5-flash", "tokens": {"input": 5.5, "output": 1}}
    negative = {"id": "c", "type": "gemini", "model": "gemini-2.5-flash", "tokens": {"input": -1, "output": 1}}
    (chats / "session-x.jsonl").write_text(line({"sessionId": "x", "projectHash": "h"}) + line(good) + line(bad)
                                           + line(negative) + "[1, 2]\n")
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert "3 malformed lines skipped" in result.stderr
    assert totals(cli) == {"x": (1, 5, 0, 1)}


def test_gemini_cli_home_is_where_it_looks_by_default(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "home" / ".gemini" / "tmp")
    result = cli("import", "gemini", env={"GEMINI_CLI_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == tree.expected()


def test_a_pro_prompt_over_200k_with_its_tool_tokens_is_priced_whole_at_long_context_rates(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    tokens = {"input": 199_900, "output": 1_000, "cached": 100_000, "thoughts": 500, "tool": 200}
    reply = {"id": "r", "timestamp": "2026-05-02T10:00:00Z", "type": "gemini", "model": "gemini-2.5-pro",
             "tokens": tokens}
    (chats / "session-l.jsonl").write_text(line({"sessionId": "l", "projectHash": "h"}) + line(reply))
    cli.ok("import", "gemini", str(tmp_path / "tmp"))
    # The prompt is 199,900 + 200 tool tokens = 200,100 > 200k, so every token is at the long-context rates
    # (Google's price list, as in genai-prices, per MTok): input $2.50, cached $0.25, output $15.
    cost = table_of(cli.db, "SELECT estimated_cost FROM token_usage")[0][0]
    assert Decimal(cost) == (100_100 * Decimal("2.5") + 100_000 * Decimal("0.25") + 1_500 * 15) / 1_000_000
