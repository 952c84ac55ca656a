"""`sessionstats import --all` / `import detect`: every agent found, one summary table, drift is loud."""

from __future__ import annotations

import json
from pathlib import Path

from codex_logs import write_home
from conftest import table_of
from gemini_logs import write_tree
from opencode_logs import write_dir
from qwen_logs import write_qwen


def machine(tmp_path: Path) -> dict[str, str]:
    """A home with Codex, Gemini CLI, OpenCode and Qwen Code history, each at its default place."""
    home = tmp_path / "home"
    write_home(home / ".codex")
    write_tree(home / ".gemini" / "tmp")
    write_dir(home / ".local" / "share" / "opencode")
    write_qwen(home / ".qwen")
    return {"HOME": str(home), "XDG_DATA_HOME": "", "CODEX_HOME": "", "GEMINI_CLI_HOME": "", "QWEN_DATA_DIR": "",
            "OPENCODE_DB": "", "CLAUDE_CONFIG_DIR": "", "LLM_USER_PATH": str(home / "no-llm")}


def rows_of(table: str) -> dict[str, list[str]]:
    lines = [line.split() for line in table.splitlines() if line and not line.startswith(("-", "source"))]
    return {cells[0]: cells[1:] for cells in lines if cells[0] in {"codex", "gemini", "opencode", "qwen"}}


def test_all_finds_every_agent_and_prints_one_table(cli, tmp_path: Path) -> None:
    result = cli("import", "--all", env=machine(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    rows = rows_of(result.stderr)
    assert set(rows) == {"codex", "gemini", "opencode", "qwen"}
    stored = dict(table_of(cli.db, """SELECT json_extract_string(s.settings, '$.source'), count(*)
                                      FROM token_usage t JOIN sessions s ON s.id = t.session_id GROUP BY 1"""))
    for source, cells in rows.items():
        assert int(cells[2].replace(",", "")) == stored[source], source  # records stored
    assert " ".join(rows["qwen"][5:]) == "qwen-imaginary-9, qwen3-coder-plus"  # unpriced models are named
    assert "not found: claude-code, llm" in result.stderr


def test_detect_twice_stores_nothing_more(cli, tmp_path: Path) -> None:
    env = machine(tmp_path)
    cli.ok("import", "detect", env=env)
    before = table_of(cli.db, "SELECT count(*), sum(total_tokens) FROM token_usage")
    again = cli("import", "detect", env=env)
    assert again.exit_code == 0, again.stderr
    assert all(cells[:3] == ["0", "0", "0"] for cells in rows_of(again.stderr).values())
    assert table_of(cli.db, "SELECT count(*), sum(total_tokens) FROM token_usage") == before


def test_a_source_whose_files_yield_no_usage_is_a_warning_and_strict_exits_2(cli, tmp_path: Path) -> None:
    env = machine(tmp_path)
    chats = Path(env["HOME"]) / ".qwen" / "projects" / "p2" / "chats"
    chats.mkdir(parents=True)
    for number, path in enumerate(sorted((Path(env["HOME"]) / ".qwen" / "projects").glob("*/chats/*.jsonl"))):
        path.write_text(json.dumps({"kind": "reply_v2", "usage": {"in": number}}) + "\n")
    loose = cli("import", "--all", env=env)
    assert loose.exit_code == 0
    assert "warning: qwen: 3 files with 3 lines gave no token usage" in loose.stderr
    assert "probably changed in an update" in loose.stderr
    for path in (Path(env["HOME"]) / ".qwen" / "projects").glob("*/chats/*.jsonl"):
        path.write_text(path.read_text() * 2)
    strict = cli("import", "--all", "--strict", env=env)
    assert strict.exit_code == 2
    assert strict.stderr.strip().splitlines()[-1].startswith("sessionstats: qwen: files yield no token usage")


def test_nothing_found_says_so(cli, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "empty"), "XDG_DATA_HOME": "", "CODEX_HOME": "", "GEMINI_CLI_HOME": "",
           "QWEN_DATA_DIR": "", "OPENCODE_DB": "", "CLAUDE_CONFIG_DIR": "", "LLM_USER_PATH": str(tmp_path / "x")}
    result = cli("import", "detect", env=env)
    assert result.exit_code == 0, result.stderr
    assert "no agent history found" in result.stderr
