"""Every agent importer against ccusage: its report and our first import over the same files, and a re-import.

For Claude Code, Codex, Gemini CLI, OpenCode and Qwen Code it writes a tree of N calls each (with the repeats
each agent writes: streamed copies, rate-limit token_counts, re-appended replies, step-finish parts), then runs,
as real processes and interleaved, `ccusage <agent> session --json --offline` on it (a HOME of its own and the
agent's variable naming the tree), `sessionstats import <source>` into a fresh database, that import again
with nothing new, and, for the JSON-lines sources, import_floor.py: the least any import costs in Python and
DuckDB (read, parse, keep one copy per call, store; no rules). Each step runs --runs times; the table gives the
median wall time, CPU seconds and peak memory (wait4, that process alone). Targets: a first import takes no
more CPU than ccusage's report; a re-import with nothing new takes under 1 s. ccusage is never installed here:
--ccusage PATH or $CCUSAGE.

    CCUSAGE=... python benchmarks/bench_agents.py [--calls 100000] [--sessions 500] [--runs 3] [--only codex,qwen]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_claude_code import run, write_tree
from compare_ccusage import measure
from import_floor import FLOOR_SOURCES


def _compact(value: object) -> str:
    """JSON as the agents write it (JSON.stringify, serde): no spaces."""
    return json.dumps(value, separators=(",", ":"))


_TEXT = "Let me look at the failing test and the function it calls before changing anything. " * 4


def codex(root: Path, calls: int, sessions: int, rng: random.Random) -> None:
    """Rollouts: each call a response_item, its token_count and the rate-limit repeat."""
    per = max(1, calls // sessions)
    for s in range(sessions):
        path = root / "sessions" / "2026" / "01" / f"{1 + s % 28:02d}" / f"rollout-2026-01-01T00-00-00-s{s:06d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        running = [0, 0, 0, 0, 0]
        lines = [_compact({"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta",
                             "payload": {"id": f"s{s:06d}", "cwd": f"/home/me/p{s % 40}"}}),
                 _compact({"timestamp": "2026-01-01T00:00:01Z", "type": "turn_context",
                             "payload": {"model": "gpt-5-codex", "cwd": "/home/me"}})]
        for k in range(per):
            total_in = rng.randrange(2000, 60000)
            usage = [total_in, rng.randrange(total_in), rng.randrange(1, 4000), 0, 0]
            usage[4] = usage[0] + usage[2]
            running = [a + b for a, b in zip(running, usage, strict=True)]
            names = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")
            info = {"total_token_usage": dict(zip(names, running, strict=True)),
                    "last_token_usage": dict(zip(names, usage, strict=True)), "model_context_window": 272000}
            at = f"2026-01-01T{k // 3600 % 24:02d}:{k // 60 % 60:02d}:{k % 60:02d}Z"
            lines.append(_compact({"timestamp": at, "type": "response_item",
                                     "payload": {"type": "message", "role": "assistant", "content": _TEXT}}))
            for limits in (None, {"primary": {"used_percent": 3.0}}):
                lines.append(_compact({"timestamp": at, "type": "event_msg",
                                         "payload": {"type": "token_count", "info": info, "rate_limits": limits}}))
        path.write_text("\n".join(lines) + "\n")


def gemini(root: Path, calls: int, sessions: int, rng: random.Random) -> None:
    """A .gemini folder: tmp/<project>/chats/ .jsonl recordings, each reply appended before and after its tokens."""
    per = max(1, calls // sessions)
    for s in range(sessions):
        chats = root / "tmp" / f"project{s % 40}" / "chats"
        chats.mkdir(parents=True, exist_ok=True)
        lines = [_compact({"sessionId": f"g{s:06d}", "projectHash": "h", "startTime": "2026-01-01T00:00:00Z"})]
        for k in range(per):
            tokens = {"input": rng.randrange(1000, 90000), "output": rng.randrange(1, 3000), "cached": 0,
                      "thoughts": rng.randrange(500), "tool": 0}
            reply = {"id": f"g{s}-{k}", "timestamp": "2026-01-01T00:00:00Z", "type": "gemini", "content": _TEXT,
                     "model": "gemini-2.5-pro"}
            lines += [_compact({**reply, "tokens": None}), _compact({**reply, "tokens": tokens})]
        (chats / f"session-2026-01-01T00-00-g{s:06d}.jsonl").write_text("\n".join(lines) + "\n")


def opencode(root: Path, calls: int, sessions: int, rng: random.Random) -> None:
    """opencode.db: a message per step and its step-finish part."""
    root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(root / "opencode.db")
    con.executescript("""CREATE TABLE session (id TEXT PRIMARY KEY, parent_id TEXT, directory TEXT);
                         CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER,
                                               data TEXT);
                         CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT, data TEXT);""")
    con.executemany("INSERT INTO session VALUES (?, NULL, ?)", [(f"o{s:06d}", f"/p{s % 40}") for s in range(sessions)])
    rows, parts = [], []
    for n in range(calls):
        tokens = {"input": rng.randrange(1, 3000), "output": rng.randrange(1, 2000), "reasoning": 0,
                  "cache": {"read": rng.randrange(80000), "write": rng.randrange(5000)}}
        data = _compact({"role": "assistant", "modelID": "claude-sonnet-4-5", "providerID": "anthropic",
                           "cost": 0.01, "time": {"created": 1767312000000 + n}, "tokens": tokens})
        rows.append((f"m{n:09d}", f"o{n % sessions:06d}", n, data))
        parts.append((f"p{n:09d}", f"m{n:09d}", f"o{n % sessions:06d}",
                       _compact({"type": "step-finish", "tokens": tokens})))
    con.executemany("INSERT INTO message VALUES (?, ?, ?, ?)", rows)
    con.executemany("INSERT INTO part VALUES (?, ?, ?, ?)", parts)
    con.commit()
    con.close()


def qwen(root: Path, calls: int, sessions: int, rng: random.Random) -> None:
    per = max(1, calls // sessions)
    for s in range(sessions):
        chats = root / "projects" / f"p{s % 40}" / "chats"
        chats.mkdir(parents=True, exist_ok=True)
        lines = []
        for k in range(per):
            prompt = rng.randrange(500, 50000)
            usage = {"promptTokenCount": prompt, "candidatesTokenCount": rng.randrange(1, 2000),
                     "cachedContentTokenCount": rng.randrange(prompt), "thoughtsTokenCount": 0}
            lines.append(_compact({"uuid": f"q{s}-{k}", "sessionId": f"q{s:06d}", "type": "assistant",
                                     "timestamp": "2026-01-01T00:00:00Z", "cwd": "/home/me",
                                     "model": "qwen3-coder-plus", "usageMetadata": usage,
                                     "message": {"role": "model", "parts": [{"text": _TEXT}]}}))
        (chats / f"q{s:06d}.jsonl").write_text("\n".join(lines) + "\n")


def claude(root: Path, calls: int, sessions: int, _: random.Random) -> None:
    """bench_claude_code.py's tree: streamed copies, subagent logs."""
    write_tree(root, calls, sessions)


@dataclass(frozen=True)
class Agent:
    """How to write an agent's tree, and how ccusage and sessionstats are pointed at it."""

    write: Callable[[Path, int, int, random.Random], None]
    ccusage: str  # ccusage's subcommand
    variable: str  # the environment variable ccusage reads the tree's place from
    ours: str = ""  # the folder under the tree that `sessionstats import` is given


AGENTS = {"claude-code": Agent(claude, "claude", "CLAUDE_CONFIG_DIR"),
          "codex": Agent(codex, "codex", "CODEX_HOME"),
          "gemini": Agent(gemini, "gemini", "GEMINI_DATA_DIR", ours="tmp"),
          "opencode": Agent(opencode, "opencode", "OPENCODE_DATA_DIR"),
          "qwen": Agent(qwen, "qwen", "QWEN_DATA_DIR")}
_STEPS = ("ccusage report", "first import", "re-import, nothing new")
_FLOOR = "floor: read, parse, store"  # import_floor.py: the stack's least cost, for the sources it knows
_FLOOR_SCRIPT = Path(__file__).with_name("import_floor.py")


def bench(name: str, agent: Agent, root: Path, scratch: Path, ccusage: str, runs: int) -> dict[str, list[tuple]]:
    """Each step's (wall, CPU, peak) for every run, and the last run's note (sessions seen, our summary)."""
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), agent.variable: str(root)}
    report = scratch / f"{name}.json"
    steps = (*_STEPS, _FLOOR) if name in FLOOR_SOURCES else _STEPS
    figures: dict[str, list[tuple]] = {step: [] for step in steps}
    notes = {}
    for number in range(runs):
        figures[_STEPS[0]].append(measure([ccusage, agent.ccusage, "session", "--json", "--offline"], env, report))
        notes[_STEPS[0]] = f"{_sessions(report):,} sessions"
        if name in FLOOR_SOURCES:
            floor_db = scratch / f"{name}-floor-{number}.duckdb"
            figures[_FLOOR].append(measure([sys.executable, str(_FLOOR_SCRIPT), name, str(root), str(floor_db)],
                                           env, report))
            notes[_FLOOR] = f"{int(report.read_text()):,} calls; no rules, prices or sessions"
            floor_db.unlink()
        db = scratch / f"{name}-{number}.duckdb"
        for step in _STEPS[1:]:
            *measured, summary = run(["import", name, str(root / agent.ours)], db)
            figures[step].append(tuple(measured))
            notes[step] = summary.removeprefix("sessionstats: ")
        db.unlink()
    return {step: [*map(statistics.median, zip(*figures[step], strict=True)), notes[step]] for step in steps}


def _sessions(report: Path) -> int:
    """How many sessions ccusage reported (0 would mean it found nothing: the tree is not where it looks)."""
    document = json.loads(report.read_text())
    count = len(document.get("sessions") or document.get("session") or [])
    if count == 0:
        raise SystemExit(f"ccusage found no sessions in {report.stem}'s tree")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(AGENTS), help="comma-separated sources (default: all)")
    parser.add_argument("--ccusage", default=os.environ.get("CCUSAGE") or shutil.which("ccusage"))
    parser.add_argument("--keep", type=Path, help="write the trees here and keep them (else a temporary folder)")
    options = parser.parse_args()
    if not options.ccusage:
        raise SystemExit("ccusage not found: pass --ccusage PATH or set CCUSAGE (npm install ccusage@20.0.24)")
    from tabulate import tabulate

    rows = []
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="bench-agents-") as scratch:
        base = options.keep or Path(scratch)
        for name in options.only.split(","):
            agent, root = AGENTS[name], base / name
            if not root.exists():
                agent.write(root, options.calls, options.sessions, random.Random(7))
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            medians = bench(name, agent, root, Path(scratch), options.ccusage, options.runs)
            theirs = medians[_STEPS[0]][1]
            for step, (seconds, cpu, peak, note) in medians.items():
                versus = f"{cpu / theirs:.2f}" if step in (_STEPS[1], _FLOOR) else ""
                rows.append([name, f"{size / 1e6:,.0f}", step, f"{seconds:.2f}", f"{cpu:.2f}", f"{peak / 2**20:,.0f}",
                             versus, note[:60]])
            loads.append(os.getloadavg()[0])
    print(f"{options.calls:,} calls per source in {options.sessions:,} sessions, median of {options.runs} runs; "
          f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}")
    print(tabulate(rows, headers=["source", "MB", "step", "wall s", "CPU s", "peak MiB", "CPU / ccusage", "note"],
                   disable_numparse=True, colalign=("left", "right", "left", "right", "right", "right", "right")))


if __name__ == "__main__":
    main()
