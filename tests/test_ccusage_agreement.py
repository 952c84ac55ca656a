"""Opt-in: our Claude Code import agrees with `ccusage session --json` on the same generated log tree.

Runs only when ccusage is installed (the `CCUSAGE` environment variable naming its executable, else
`ccusage` on PATH); it is never downloaded here. ccusage runs with `--offline` (its bundled prices) and
a HOME of its own, so it sees only the generated tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from claude_logs import LogTree, write_tree

CCUSAGE = os.environ.get("CCUSAGE") or shutil.which("ccusage")
pytestmark = pytest.mark.skipif(
    CCUSAGE is None, reason="ccusage not installed: set CCUSAGE to its executable (npm install ccusage@20)")
COST_TOLERANCE = Decimal("0.0001")


def ccusage_sessions(tree: LogTree, home: Path) -> dict[str, dict]:
    """ccusage's per-session rows for the tree, by session id (its `period`)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(tree.root)}
    done = subprocess.run([str(CCUSAGE), "session", "--json", "--offline"], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    report = json.loads(done.stdout, parse_float=Decimal)
    return {row["period"]: row for row in report["session"]}


def our_sessions(cli) -> dict[str, dict]:
    return {row["session_id"]: row for row in json.loads(cli.ok("list", "--format", "json"), parse_float=Decimal)}


@pytest.fixture
def both(cli, tmp_path: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """(ours, ccusage's) per-session rows for one realistic generated tree."""
    tree = write_tree(tmp_path / "claude", sessions=8, messages=60, projects=3)
    imported = cli("import", "claude-code", str(tree.root))
    assert imported.exit_code == 0, imported.stderr
    return our_sessions(cli), ccusage_sessions(tree, tmp_path / "ccusage-home")


def test_every_sessions_token_totals_equal_ccusages(both) -> None:
    ours, theirs = both
    assert len(ours) == 8
    assert set(ours) == set(theirs)
    for session, row in ours.items():
        other = theirs[session]
        assert (row["input_tokens"], row["output_tokens"], row["cache_write_tokens"], row["cache_read_tokens"]) == (
            other["inputTokens"], other["outputTokens"], other["cacheCreationTokens"], other["cacheReadTokens"])


def test_every_sessions_cost_agrees_with_ccusages_within_a_hundredth_of_a_cent(both) -> None:
    ours, theirs = both
    worst = max(abs(row["total_cost"] - theirs[session]["totalCost"]) for session, row in ours.items())
    assert worst <= COST_TOLERANCE
