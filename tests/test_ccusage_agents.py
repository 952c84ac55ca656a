"""Opt-in: our Codex, Gemini CLI, OpenCode and Qwen Code imports agree with `ccusage <agent> session --json`.

Runs only when ccusage is installed (the `CCUSAGE` environment variable naming its executable, else `ccusage`
on PATH; CI installs 20.0.24); it is never downloaded here. ccusage runs `--offline` with a HOME of its own and
its data-dir variable pointing at a tree the fixture generators wrote, so it sees nothing else.
Where both read a call the same way the per-session totals are equal; where ccusage reads it otherwise the
test asserts the exact difference, computed from the files as written, and says why sessionstats is right.
One backend is enough: what is compared is how the logs are read, which both backends share.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from codex_logs import write_home
from conftest import table_of
from gemini_logs import write_tree
from opencode_logs import add_legacy_only, write_dir
from qwen_logs import write_qwen

CCUSAGE = os.environ.get("CCUSAGE") or shutil.which("ccusage")
pytestmark = [
    pytest.mark.skipif(CCUSAGE is None,
                       reason="ccusage not installed: set CCUSAGE to its executable (npm install ccusage@20.0.24)"),
    pytest.mark.file_only,
]
COST_TOLERANCE = Decimal("0.0001")  # ccusage sums float dollars; ours are exact
Tokens = tuple[int, int, int, int]  # input (uncached), cache reads, output, cache writes


def ccusage(agent: str, tmp_path: Path, **data_dir: Path) -> list[dict]:
    """ccusage's per-session rows for one agent, reading only the data dir given in its variable."""
    home = tmp_path / "ccusage-home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),  # no user config either
           **{name: str(path) for name, path in data_dir.items()}}
    done = subprocess.run([str(CCUSAGE), agent, "session", "--json", "--offline"], env=env, cwd=home,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout, parse_float=Decimal)["sessions"]


def theirs(row: dict) -> Tokens:
    return (row["inputTokens"], row["cacheReadTokens"], row["outputTokens"], row["cacheCreationTokens"])


def imported(cli, source: str, root: Path) -> dict[str, dict]:
    """Our per-session rows (`list --format json`) after importing `root`."""
    result = cli("import", source, str(root))
    assert result.exit_code == 0, result.stderr
    rows = json.loads(cli.ok("list", "--format", "json"), parse_float=Decimal)
    return {row["session_id"]: row for row in rows}


def ours(row: dict) -> Tokens:
    return (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"], row["cache_write_tokens"])


def plus(*parts: Iterable[int]) -> Tokens:
    return tuple(sum(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]


# --- Codex -------------------------------------------------------------------------------------------------

def test_codex_sessions_equal_ccusages_with_rate_limit_repeats_forks_and_subagents(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    mine = imported(cli, "codex", home.root)
    other = {row["sessionFile"][-36:]: row for row in ccusage("codex", tmp_path, CODEX_HOME=home.root)}
    # Both count each call once: not its rate-limit repeat, not a fork's or a subagent's copy of its parent.
    assert set(mine) == set(other) == set(home.expected()) and len(mine) == 6
    for session, row in mine.items():
        assert ours(row) == theirs(other[session])
        assert abs(row["total_cost"] - other[session]["costUSD"]) <= COST_TOLERANCE


def test_a_rollout_left_in_sessions_and_archived_sessions_counts_twice_in_ccusage(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    main = home.rollouts["0199a000-0000-7000-8000-00000000000a"]
    shutil.copy(main.path, home.root / "archived_sessions" / main.path.name)  # a restored backup, a sync tool
    mine = imported(cli, "codex", home.root)
    rows = [row for row in ccusage("codex", tmp_path, CODEX_HOME=home.root)
            if row["sessionFile"].endswith(main.session_id)]
    # ccusage reports each path as a session (it drops an archived copy only at the same relative path); here
    # each call is known by its running total within its lineage, so the copy adds nothing.
    assert len(rows) == 2
    assert [theirs(row) for row in rows] == [ours(mine[main.session_id])] * 2


# --- Gemini CLI --------------------------------------------------------------------------------------------

RESUMED = "aaaaaaaa-1111-4111-8111-111111111111"  # a legacy .json session, resumed into a .jsonl


def gemini_counts(tokens: dict[str, int]) -> Tokens:
    """A reply as ccusage reports it: input without the cache, tool prompt added; output without thoughts."""
    return (tokens["input"] - tokens["cached"] + tokens["tool"], tokens["cached"], tokens["output"], 0)


def test_gemini_sessions_equal_ccusages_but_for_thoughts_and_resumed_copies(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "gemini")
    mine = imported(cli, "gemini", tree.root)
    other = {row["sessionId"]: row for row in ccusage("gemini", tmp_path, GEMINI_DATA_DIR=tree.root)}
    legacy = tree.root / "my-app" / "chats" / "session-2026-03-01T10-00-aaaaaaaa.json"
    copied = [m["tokens"] for m in json.loads(legacy.read_text())["messages"] if m["type"] == "gemini"]
    assert set(mine) == set(other) == set(tree.expected()) and len(copied) == 3
    replies = [t for session in tree.sessions.values() for t in session.billed.values()]
    assert any(t["tool"] for t in replies) and any(t["thoughts"] for t in replies)  # each rule is exercised
    for session_id, session in tree.sessions.items():
        replies = list(session.billed.values())
        thoughts = sum(t["thoughts"] for t in replies)
        assert ours(mine[session_id]) == plus(*(gemini_counts(t) for t in replies), (0, 0, thoughts, 0))
        # ccusage leaves thoughts out of its output column (it bills them: its cost includes them), and counts
        # the replies of a resumed `.json` session again in the `.jsonl` that opens with copies of them.
        again = copied if session_id == RESUMED else []
        expected = plus(ours(mine[session_id]), (0, 0, -thoughts, 0),
                        *(gemini_counts(t) for t in again))
        assert theirs(other[session_id]) == expected, session_id


def test_gemini_costs_equal_ccusages_but_for_the_resumed_copies_it_bills_again(cli, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "gemini")
    mine = imported(cli, "gemini", tree.root)
    other = {row["sessionId"]: row for row in ccusage("gemini", tmp_path, GEMINI_DATA_DIR=tree.root)}
    resumed = RESUMED
    copies = table_of(cli.db, f"""SELECT sum(estimated_cost) FROM token_usage WHERE session_id = '{resumed}'
                                  AND request_id IN ('gemini:{resumed}:aaaaaaaa-g0', 'gemini:{resumed}:aaaaaaaa-g1',
                                                     'gemini:{resumed}:aaaaaaaa-g2')""")[0][0]
    for session_id, row in mine.items():
        extra = Decimal(copies) if session_id == resumed else 0
        assert abs(row["total_cost"] + extra - other[session_id]["totalCost"]) <= COST_TOLERANCE, session_id


def test_a_gemini_pro_prompt_over_200k_costs_the_same_in_both(cli, tmp_path: Path) -> None:
    chats = tmp_path / "gemini" / "big" / "chats"
    chats.mkdir(parents=True)
    reply = {"id": "r1", "timestamp": "2026-03-01T10:00:10Z", "type": "gemini", "content": "ok", "model":
             "gemini-2.5-pro", "tokens": {"input": 250_000, "output": 1_000, "cached": 50_000, "thoughts": 0,
                                          "tool": 0, "total": 251_000}}
    header = {"sessionId": "eeeeeeee", "projectHash": "f" * 64, "kind": "main"}
    (chats / "session-2026-03-01T10-00-eeeeeeee.jsonl").write_text(f"{json.dumps(header)}\n{json.dumps(reply)}\n")
    mine = imported(cli, "gemini", tmp_path / "gemini")["eeeeeeee"]
    other = {row["sessionId"]: row for row in ccusage("gemini", tmp_path, GEMINI_DATA_DIR=tmp_path / "gemini")}
    # gemini-2.5-pro over 200k prompt tokens, per MTok: input $2.50, cached input $0.25, output $15, the whole
    # request at these rates (Google's price list, as in genai-prices and LiteLLM).
    cost = (200_000 * Decimal("2.50") + 50_000 * Decimal("0.25") + 1_000 * 15) / 1_000_000
    assert mine["total_cost"] == cost
    assert abs(other["eeeeeeee"]["totalCost"] - cost) <= COST_TOLERANCE


# --- OpenCode ----------------------------------------------------------------------------------------------

def opencode_steps(database: Path) -> dict[str, list[dict]]:
    """Each session's assistant messages as the database holds them."""
    steps: dict[str, list[dict]] = {}
    with sqlite3.connect(database) as con:
        for session_id, data in con.execute("SELECT session_id, data FROM message ORDER BY id"):
            try:
                message = json.loads(data, parse_float=Decimal)
            except ValueError:
                continue
            if message.get("role") == "assistant" and "cost" in message:
                steps.setdefault(session_id, []).append(message)
    return steps


def test_opencode_sessions_equal_ccusages_but_for_reasoning(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    add_legacy_only(made, random.Random(1))  # a message only storage/ has: both read it
    mine = imported(cli, "opencode", made.root)
    other = {row["sessionId"]: row for row in ccusage("opencode", tmp_path, OPENCODE_DATA_DIR=made.root)}
    assert set(mine) == set(other) == set(made.rows()) and len(mine) == 4
    steps = opencode_steps(made.database)
    for session_id, row in mine.items():
        reasoning = sum(step["tokens"]["reasoning"] for step in steps.get(session_id, []))
        # OpenCode bills reasoning on top of output (its own cost formula); ccusage's output leaves it out.
        assert theirs(other[session_id]) == plus(ours(row), (0, 0, -reasoning, 0)), session_id
    assert sum(step["tokens"]["reasoning"] for step in steps["ses_main"]) > 0


def test_opencode_costs_it_reported_itself_are_ccusages_and_ours(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    mine = imported(cli, "opencode", made.root)
    other = {row["sessionId"]: row for row in ccusage("opencode", tmp_path, OPENCODE_DATA_DIR=made.root)}
    steps = opencode_steps(made.database)
    for session_id in ("ses_main", "ses_child"):  # every step states its cost
        stated = sum(step["cost"] for step in steps[session_id])
        assert mine[session_id]["total_cost"] == stated
        assert abs(other[session_id]["totalCost"] - stated) <= Decimal("1e-9")  # a float sum of the same
    # A zero cost is not a statement: both estimate from the tokens (gemini-2.5-pro, the same list price).
    assert abs(mine["ses_other"]["total_cost"] - other["ses_other"]["totalCost"]) <= COST_TOLERANCE


# --- Qwen Code ---------------------------------------------------------------------------------------------

def usage_lines(lines: list[str], *, copies: bool) -> list[dict]:
    """The usageMetadata of a chat's assistant records: a /branch's copies (forkedFrom) or its own."""
    records = [json.loads(text) for text in lines if text.startswith("{\"")]
    return [r["usageMetadata"] for r in records
            if r.get("type") == "assistant" and ("forkedFrom" in r) == copies]


def test_qwen_sessions_equal_ccusages_but_for_cached_input_thoughts_and_branch_copies(cli, tmp_path: Path) -> None:
    chats = write_qwen(tmp_path / "qwen")
    mine = imported(cli, "qwen", tmp_path / "qwen")
    other = {row["sessionId"]: row for row in ccusage("qwen", tmp_path, QWEN_DATA_DIR=tmp_path / "qwen")}
    assert set(mine) == set(other) == set(chats)
    for session_id, chat in chats.items():
        own, copied = usage_lines(chat.lines, copies=False), usage_lines(chat.lines, copies=True)
        _, uncached, cached, output = chat.expected()
        assert ours(mine[session_id]) == (uncached, cached, output, 0)
        thoughts = sum(u["thoughtsTokenCount"] for u in own)
        # ccusage: input is promptTokenCount, the cached part left in (it is counted again as cache reads);
        # thoughts are out of its output column; a /branch's copies of its source's replies count again.
        assert theirs(other[session_id]) == plus(
            (uncached + cached, cached, output - thoughts, 0),
            *((u["promptTokenCount"], u["cachedContentTokenCount"], u["candidatesTokenCount"], 0) for u in copied))
    assert len(usage_lines(chats["s-branch"].lines, copies=True)) == 2
    assert any(u["thoughtsTokenCount"] and u["cachedContentTokenCount"] for u in usage_lines(
        chats["s-main"].lines, copies=False))
    # genai-prices has no Qwen model: ours stay unpriced and named; ccusage prices them from LiteLLM.
    assert all(row["unpriced_records"] == row["api_calls"] for row in mine.values())
