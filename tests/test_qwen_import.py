"""`sessionstats import qwen`: Gemini token semantics, /branch copies once, incremental re-runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import snapshot, table_of
from qwen_logs import Chat, write_qwen


def totals(cli) -> dict[str, tuple[int, int, int, int]]:
    rows = table_of(cli.db, """SELECT session_id, count(*), sum(input_tokens), sum(cache_read_tokens),
                                      sum(output_tokens) FROM token_usage GROUP BY 1""")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def expected(chats: dict[str, Chat]) -> dict[str, tuple[int, int, int, int]]:
    return {sid: c.expected() for sid, c in chats.items() if c.rows}


def test_qwen_chats_give_each_session_its_own_replies(cli, tmp_path: Path) -> None:
    chats = write_qwen(tmp_path / "qwen")
    result = cli("import", "qwen", str(tmp_path / "qwen"))
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == expected(chats)
    assert "1 malformed lines skipped" in result.stderr
    assert "2 duplicates skipped" in result.stderr  # the branch's copies of the source's two replies
    assert "model 'qwen-imaginary-9' is not in the price data" in result.stderr
    assert dict(table_of(cli.db, "SELECT id, name FROM sessions")) == {
        "s-main": "/home/me/app", "s-branch": "/home/me/app", "s-lib": "/home/me/lib"}


def test_the_naive_sums_would_be_wrong_by_hand(cli, tmp_path: Path) -> None:
    chat = Chat(tmp_path / "qwen" / "projects" / "p" / "chats" / "s.jsonl", "s", "/p")
    chat.record("assistant", model="qwen3-coder-plus", usageMetadata={
        "promptTokenCount": 9_000, "candidatesTokenCount": 100, "cachedContentTokenCount": 8_000,
        "thoughtsTokenCount": 50, "toolUsePromptTokenCount": 10, "totalTokenCount": 9_160})
    chat.write()
    cli.ok("import", "qwen", str(tmp_path / "qwen"))
    # Naively input 9,000 and cache 8,000 beside it: 17,000 input tokens. Once: 9,000 - 8,000 + 10 tool.
    assert totals(cli) == {"s": (1, 1_010, 8_000, 150)}


def test_running_again_reads_nothing_and_appended_replies_are_added(cli, tmp_path: Path) -> None:
    chats = write_qwen(tmp_path / "qwen")
    cli.ok("import", "qwen", str(tmp_path / "qwen"))
    before = snapshot(cli.db)
    again = cli("import", "qwen", str(tmp_path / "qwen"))
    assert "read 0 of 3 files; 0 usage events; imported 0 token records" in again.stderr
    assert snapshot(cli.db) == before
    main = chats["s-main"]
    written = len(main.lines)
    main.reply(random.Random(4))
    main.reply(random.Random(5))
    with main.path.open("a") as log:
        log.write(main.lines[written] + "\n" + main.lines[written + 1][:30])
    cli.ok("import", "qwen", str(tmp_path / "qwen"))
    with main.path.open("a") as log:
        log.write(main.lines[written + 1][30:] + "\n")
    result = cli("import", "qwen", str(tmp_path / "qwen"))
    assert "imported 1 token records" in result.stderr
    assert totals(cli) == expected(chats)


def test_a_fractional_count_is_malformed(cli, tmp_path: Path) -> None:
    path = tmp_path / "qwen" / "projects" / "p" / "chats" / "s.jsonl"
    path.parent.mkdir(parents=True)
    bad = {"uuid": "u", "sessionId": "s", "type": "assistant", "model": "qwen3-coder-plus",
           "usageMetadata": {"promptTokenCount": 1.5, "candidatesTokenCount": 1}}
    path.write_text(json.dumps(bad) + "\n")
    result = cli("import", "qwen", str(tmp_path / "qwen"))
    assert "1 malformed lines skipped" in result.stderr
    assert totals(cli) == {}


def test_a_session_id_the_field_rules_refuse_is_malformed_and_the_rest_imports(cli, tmp_path: Path) -> None:
    path = tmp_path / "qwen" / "projects" / "p" / "chats" / "s.jsonl"
    path.parent.mkdir(parents=True)
    usage = {"promptTokenCount": 10, "candidatesTokenCount": 1}
    lines = [{"uuid": "a", "sessionId": "x" * 201, "type": "assistant", "model": "m", "usageMetadata": usage},
             {"uuid": "b", "sessionId": "nul\u0000id", "type": "assistant", "model": "m", "usageMetadata": usage},
             {"uuid": "c", "sessionId": "ok", "type": "assistant", "model": "m\u0000", "usageMetadata": usage},
             {"uuid": "d", "sessionId": "ok", "type": "assistant", "model": "m", "usageMetadata": usage}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = cli("import", "qwen", str(tmp_path / "qwen"))
    assert result.exit_code == 0, result.stderr
    assert "3 malformed lines skipped" in result.stderr
    assert "duplicates" not in result.stderr
    assert totals(cli) == {"ok": (1, 10, 0, 1)}


@pytest.mark.parametrize("variable", ["QWEN_RUNTIME_DIR", "QWEN_HOME", "QWEN_DATA_DIR"])
def test_the_chats_are_found_where_qwen_writes_them(cli, tmp_path: Path, monkeypatch, variable: str) -> None:
    # qwen-code's Storage.getRuntimeBaseDir(): $QWEN_RUNTIME_DIR, else $QWEN_HOME, else ~/.qwen (sessions live
    # there); $QWEN_DATA_DIR is ccusage's name for the same folder.
    chats = write_qwen(tmp_path / "elsewhere")
    monkeypatch.setenv(variable, str(tmp_path / "elsewhere"))
    cli.ok("import", "qwen")
    assert totals(cli) == expected(chats)


def test_qwens_runtime_dir_wins_over_its_home(cli, tmp_path: Path, monkeypatch) -> None:
    chats = write_qwen(tmp_path / "runtime")
    monkeypatch.setenv("QWEN_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("QWEN_HOME", str(tmp_path / "config-only"))
    cli.ok("import", "qwen")
    assert totals(cli) == expected(chats)
