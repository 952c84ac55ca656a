"""Agent importers' speed: Codex, Gemini CLI, OpenCode and Qwen trees of N calls each, imported and re-run.

Each step runs as a real `python -m sessionstats` process (wall, CPU and peak memory from wait4, as in
bench_claude_code.py). Targets: a re-run with nothing new under 1 s.

    python benchmarks/bench_agents.py [--calls 100000] [--sessions 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_claude_code import run

_TEXT = "Let me look at the failing test and the function it calls before changing anything. " * 4


def codex(root: Path, calls: int, sessions: int, rng: random.Random) -> None:
    """Rollouts: each call a response_item, its token_count and the rate-limit repeat."""
    per = max(1, calls // sessions)
    for s in range(sessions):
        path = root / "sessions" / "2026" / "01" / f"{1 + s % 28:02d}" / f"rollout-2026-01-01T00-00-00-s{s:06d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        running = [0, 0, 0, 0, 0]
        lines = [json.dumps({"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta",
                             "payload": {"id": f"s{s:06d}", "cwd": f"/home/me/p{s % 40}"}}),
                 json.dumps({"timestamp": "2026-01-01T00:00:01Z", "type": "turn_context",
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
            lines.append(json.dumps({"timestamp": at, "type": "response_item",
                                     "payload": {"type": "message", "role": "assistant", "content": _TEXT}}))
            for limits in (None, {"primary": {"used_percent": 3.0}}):
                lines.append(json.dumps({"timestamp": at, "type": "event_msg",
                                         "payload": {"type": "token_count", "info": info, "rate_limits": limits}}))
        path.write_text("\n".join(lines) + "\n")


def gemini(root: Path, calls: int, sessions: int, rng: random.Random) -> None:
    """.jsonl recordings: each reply appended before and after its tokens arrive."""
    per = max(1, calls // sessions)
    for s in range(sessions):
        chats = root / f"project{s % 40}" / "chats"
        chats.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"sessionId": f"g{s:06d}", "projectHash": "h", "startTime": "2026-01-01T00:00:00Z"})]
        for k in range(per):
            tokens = {"input": rng.randrange(1000, 90000), "output": rng.randrange(1, 3000), "cached": 0,
                      "thoughts": rng.randrange(500), "tool": 0}
            reply = {"id": f"g{s}-{k}", "timestamp": "2026-01-01T00:00:00Z", "type": "gemini", "content": _TEXT,
                     "model": "gemini-2.5-pro"}
            lines += [json.dumps({**reply, "tokens": None}), json.dumps({**reply, "tokens": tokens})]
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
        data = json.dumps({"role": "assistant", "modelID": "claude-sonnet-4-5", "providerID": "anthropic",
                           "cost": 0.01, "time": {"created": 1767312000000 + n}, "tokens": tokens})
        rows.append((f"m{n:09d}", f"o{n % sessions:06d}", n, data))
        parts.append((f"p{n:09d}", f"m{n:09d}", f"o{n % sessions:06d}",
                       json.dumps({"type": "step-finish", "tokens": tokens})))
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
            lines.append(json.dumps({"uuid": f"q{s}-{k}", "sessionId": f"q{s:06d}", "type": "assistant",
                                     "timestamp": "2026-01-01T00:00:00Z", "cwd": "/home/me",
                                     "model": "qwen3-coder-plus", "usageMetadata": usage,
                                     "message": {"role": "model", "parts": [{"text": _TEXT}]}}))
        (chats / f"q{s:06d}.jsonl").write_text("\n".join(lines) + "\n")


SOURCES = {"codex": codex, "gemini": gemini, "opencode": opencode, "qwen": qwen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="write the trees here and keep them (else a temporary folder)")
    options = parser.parse_args()
    from tabulate import tabulate

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-agents-") as scratch:
        base = options.keep or Path(scratch)
        for name, write in SOURCES.items():
            root = base / name
            write(root, options.calls, options.sessions, random.Random(7))
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            db = Path(scratch) / f"{name}.duckdb"
            for step in ("first import", "re-run, nothing new"):
                seconds, cpu, peak, summary = run(["import", name, str(root)], db)
                rows.append([name, f"{size / 1e6:,.0f}", step, f"{seconds:.2f}", f"{cpu:.2f}", f"{peak / 2**20:,.0f}",
                             summary.removeprefix("sessionstats: ")[:70]])
    print(f"{options.calls:,} calls per source in {options.sessions:,} sessions; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}", file=sys.stderr)
    print(tabulate(rows, headers=["source", "MB", "step", "wall s", "CPU s", "peak MiB", "summary"]))


if __name__ == "__main__":
    main()
