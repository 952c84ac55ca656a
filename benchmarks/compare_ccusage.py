"""Our Claude Code import against `ccusage session --json --offline` on one log tree: agreement and speed.

Writes the benchmark's log tree (or reads --tree), imports it into a fresh database, and runs ccusage on
the same tree with a HOME of its own. Prints each step's wall time, CPU seconds and peak memory, then how
many sessions agree on all four token totals and the largest per-session cost difference. ccusage is
never downloaded here: name its executable with --ccusage or $CCUSAGE (npm install ccusage@20).

    python benchmarks/compare_ccusage.py [--messages 1000000] [--sessions 2000] [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bench_claude_code import write_tree

_OUR_FIGURES = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
_THEIR_FIGURES = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


def measure(command: list[str], env: dict[str, str], out: Path) -> tuple[float, float, int]:
    """Run `command` with stdout to `out`; wall seconds, CPU seconds and peak RSS bytes of that process."""
    started = time.perf_counter()
    with out.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode().strip()[-300:]}")  # type: ignore[union-attr]
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def compare(ours: list[dict], theirs: list[dict]) -> tuple[int, list[str], Decimal]:
    """(sessions compared, sessions whose token totals or presence differ, largest cost difference)."""
    by_id = {row["period"]: row for row in theirs}
    mine = {row["session_id"]: row for row in ours}
    differ = sorted(set(mine) ^ set(by_id))
    worst = Decimal(0)
    for session in sorted(set(mine) & set(by_id)):
        row, other = mine[session], by_id[session]
        if tuple(row[f] for f in _OUR_FIGURES) != tuple(other[f] for f in _THEIR_FIGURES):
            differ.append(session)
        worst = max(worst, abs(Decimal(str(row["total_cost"])) - Decimal(str(other["totalCost"]))))
    return len(set(mine) & set(by_id)), differ, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--tree", type=Path, help="an existing Claude config dir (with projects/) to compare on")
    parser.add_argument("--ccusage", default=os.environ.get("CCUSAGE") or shutil.which("ccusage"))
    options = parser.parse_args()
    if not options.ccusage:
        raise SystemExit("ccusage not found: pass --ccusage PATH or set CCUSAGE")
    from tabulate import tabulate

    with tempfile.TemporaryDirectory(prefix="compare-ccusage-") as scratch:
        work = Path(scratch)
        root = options.tree or work / "claude"
        if options.tree is None:
            size = write_tree(root, options.messages, options.sessions)
            print(f"wrote {options.messages:,} messages, {size / 1e9:.2f} GB", file=sys.stderr)
        (work / "home").mkdir()
        ours_env = {**os.environ, "SESSIONSTATS_DB": str(work / "db.duckdb"), "SESSIONSTATS_USER": "bench"}
        their_env = {**os.environ, "HOME": str(work / "home"), "CLAUDE_CONFIG_DIR": str(root)}
        steps = [("ccusage session --json --offline", [options.ccusage, "session", "--json", "--offline"],
                  their_env, work / "ccusage.json"),
                 ("sessionstats import claude-code", [sys.executable, "-m", "sessionstats", "import", "claude-code",
                                                      str(root)], ours_env, work / "import.out"),
                 ("sessionstats list --format json", [sys.executable, "-m", "sessionstats", "list", "--format", "json"],
                  ours_env, work / "ours.json")]
        rows = []
        for name, command, env, out in steps:
            seconds, cpu, peak = measure(command, env, out)
            rows.append([name, f"{seconds:.2f}", f"{cpu:.2f}", f"{peak / 2**20:,.0f}"])
        print(tabulate(rows, headers=["step", "wall s", "CPU s", "peak MiB"]))
        theirs = json.loads((work / "ccusage.json").read_text(), parse_float=Decimal)["session"]
        compared, differ, worst = compare(json.loads((work / "ours.json").read_text()), theirs)
        print(f"sessions compared {compared:,}; token totals differ in {len(differ):,}"
              f"{' (' + ', '.join(differ[:5]) + ')' if differ else ''}; largest cost difference ${worst}")


if __name__ == "__main__":
    main()
