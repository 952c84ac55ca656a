"""Claude Code import speed: a log tree of N assistant messages, imported, re-run, appended to, reported on.

Each step runs as a real `python -m sessionstats` process; its wall time, CPU seconds and peak resident
memory (from wait4, for that process alone) are printed as a table. Targets on the 2-core reference
machine, for 1,000,000 messages (about 1.6 GB of logs): import under 15 s, a re-run with nothing new
under 1 s, a report after import well under 1 s.

    python benchmarks/bench_claude_code.py [--messages 1000000] [--sessions 2000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ["claude-sonnet-4-20250514", "claude-opus-4-20250514", "claude-3-5-haiku-20241022"]
_TEXT = "Let me look at the failing test and the function it calls before changing anything. " * 4
_ASSISTANT = ('{{"parentUuid":"p-{n}","isSidechain":false,"userType":"external","cwd":"/home/me/work",'
              '"sessionId":"{session}","version":"1.0.80","gitBranch":"main","message":{{"id":"msg_{n:09d}",'
              '"type":"message","role":"assistant","model":"{model}","content":[{{"type":"text","text":"{text}"}}],'
              '"stop_reason":null,"stop_sequence":null,"usage":{{"input_tokens":{i},"cache_creation_input_tokens":{w},'
              '"cache_read_input_tokens":{r},"cache_creation":{{"ephemeral_5m_input_tokens":{f},'
              '"ephemeral_1h_input_tokens":{h}}},"output_tokens":{o},"service_tier":"standard"}}}},'
              '"requestId":"req_{n:09d}","type":"assistant","uuid":"u-{n}-{o}","timestamp":"{at}"}}\n')
_USER = ('{{"parentUuid":"p-{n}","isSidechain":false,"userType":"external","cwd":"/home/me/work",'
         '"sessionId":"{session}","type":"user","message":{{"role":"user","content":"{text}"}},'
         '"uuid":"q-{n}","timestamp":"{at}"}}\n')


def write_tree(root: Path, messages: int, sessions: int, seed: int = 7) -> int:
    """Write the tree, streaming (this process stays small); return its size in bytes."""
    rng = random.Random(seed)
    per_session = max(1, messages // sessions)
    size = 0
    for s in range(sessions):
        session = f"{s:08d}-aaaa-4bbb-8ccc-{rng.getrandbits(48):012x}"
        folder = root / "projects" / f"-home-me-project{s % 40}"
        folder.mkdir(parents=True, exist_ok=True)
        main = (folder / f"{session}.jsonl").open("w")
        sub_path = folder / session / "subagents" / "agent-1.jsonl"
        sub_path.parent.mkdir(parents=True, exist_ok=True)
        sub = sub_path.open("w")
        count = per_session if s < sessions - 1 else messages - per_session * (sessions - 1)
        for k in range(count):
            n = s * per_session + k
            at = f"2025-{1 + s % 12:02d}-{1 + k % 28:02d}T{k % 24:02d}:{k % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z"
            out = sub if k % 7 == 6 else main
            values = {"n": n, "session": session, "model": MODELS[n % 3], "text": _TEXT, "at": at,
                      "i": rng.randrange(1, 400), "w": rng.randrange(3000), "r": rng.randrange(90000)}
            values["h"] = values["w"] // 3 if n % 4 == 0 else 0  # a quarter of the calls write 1-hour cache too
            values["f"] = values["w"] - values["h"]
            out.write(_USER.format(**values))
            final = rng.randrange(1, 1500)
            if k % 10 < 3:  # streamed: a partial copy first
                out.write(_ASSISTANT.format(**values, o=max(1, final // 4)))
            out.write(_ASSISTANT.format(**values, o=final))
        size += main.tell() + sub.tell()
        main.close()
        sub.close()
    return size


def append_some(root: Path, share: float = 0.01) -> None:
    """Append one message to a share of the main logs (a re-run must read only these bytes)."""
    logs = sorted((root / "projects").glob("*/*.jsonl"))
    for number, log in enumerate(logs[: max(1, int(len(logs) * share))]):
        values = {"n": 10**8 + number, "session": log.stem, "model": MODELS[0], "text": "done",
                  "at": "2026-01-01T00:00:00.000Z", "i": 3, "w": 0, "f": 0, "h": 0, "r": 100}
        with log.open("a") as out:
            out.write(_ASSISTANT.format(**values, o=10))


def run(args: list[str], db: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS bytes (that process alone) and its last stderr line."""
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "bench"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "sessionstats", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    lines = process.stderr.read().decode().strip().splitlines()  # type: ignore[union-attr]
    if status != 0:
        raise SystemExit(f"sessionstats {' '.join(args)} failed: {lines[-1] if lines else status}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--keep", type=Path, help="write the tree here and keep it (else a temporary folder)")
    options = parser.parse_args()
    from tabulate import tabulate

    with tempfile.TemporaryDirectory(prefix="bench-claude-") as scratch:
        root = options.keep or Path(scratch) / "claude"
        started = time.perf_counter()
        size = write_tree(root, options.messages, options.sessions)
        print(f"wrote {options.messages:,} messages, {size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
        db = Path(scratch) / "bench.duckdb"
        steps = [("import", ["import", "claude-code", str(root)]),
                 ("re-run, nothing new", ["import", "claude-code", str(root)]),
                 ("re-run, 1% of logs appended", ["import", "claude-code", str(root)]),
                 ("list (report on every session)", ["list", "--format", "json"])]
        rows = []
        for name, args in steps:
            if name.startswith("re-run, 1%"):
                append_some(root)
            seconds, cpu, peak, summary = run(args, db)
            rows.append([name, f"{seconds:.2f}", f"{cpu:.2f}", f"{peak / 2**20:,.0f}", summary[:90]])
        print(tabulate(rows, headers=["step", "wall s", "CPU s", "peak MiB", "summary"]))


if __name__ == "__main__":
    main()
