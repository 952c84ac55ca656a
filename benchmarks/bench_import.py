"""Bulk import speed: 1,000,000 token records from JSON Lines and from CSV, each into a fresh database.

Each import runs as a real `python -m sessionstats import tokens` process; its wall time and peak
resident memory (from wait4, for that process alone) are printed as a table. Target on the 2-core
reference machine: at least 250,000 rows per second and under 1 GiB.

    python benchmarks/bench_import.py [--rows 1000000] [--sessions 1200]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TARGET_ROWS_PER_SECOND = 250_000
TARGET_PEAK_BYTES = 1 << 30
MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini"]
COLUMNS = ["session_id", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
           "cost", "request_id", "created_at"]


def generate(rows: int, sessions: int, seed: int = 7) -> Iterator[tuple[str, ...]]:
    """Token records as text: a mix of models, cache use, 30% with a given cost, all with a request id."""
    rng = random.Random(seed)
    for n in range(rows):
        cost = f"0.{rng.randrange(10**6):06d}" if rng.random() < 0.3 else ""
        yield (
            f"session-{n % sessions:05d}", MODELS[n % len(MODELS)], str(rng.randrange(4000)),
            str(rng.randrange(1500)), str(rng.randrange(20000) if n % 3 else 0),
            str(rng.randrange(3000) if n % 7 == 0 else 0), cost, f"req_{n:09d}",
            f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
        )


def write_files(jsonl: Path, csv: Path, rows: int, sessions: int) -> None:
    """Both files in one streaming pass: this process stays small, so it cannot inflate the children's
    peak memory (Linux carries ru_maxrss across fork and exec)."""
    with jsonl.open("w") as json_out, csv.open("w") as csv_out:
        csv_out.write(",".join(COLUMNS) + "\n")
        for r in generate(rows, sessions):
            cost = f', "cost": "{r[6]}"' if r[6] else ""
            json_out.write(f'{{"session_id": "{r[0]}", "model": "{r[1]}", "input_tokens": {r[2]}, '
                           f'"output_tokens": {r[3]}, "cache_read_tokens": {r[4]}, "cache_write_tokens": {r[5]}'
                           f'{cost}, "request_id": "{r[7]}", "created_at": "{r[8]}"}}\n')
            csv_out.write(",".join(r) + "\n")


def run_import(source: Path, db: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in bytes (that process alone, from wait4) and the import's summary line."""
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "bench"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "sessionstats", "import", "tokens", str(source),
                                "--create-sessions"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"import of {source.name} failed ({process.returncode}): {stderr}")
    summary = next(line for line in stderr.splitlines() if " imported " in line)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=1_200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sessionstats-bench-") as folder:
        root = Path(folder)
        files = {"jsonl": root / "tokens.jsonl", "csv": root / "tokens.csv"}
        write_files(files["jsonl"], files["csv"], args.rows, args.sessions)
        results = []
        for name, path in files.items():
            db = root / f"{name}.duckdb"
            results.append((f"{name}, fresh database", path.stat().st_size, *run_import(path, db)))
            # the same file again: every row is recognised and skipped
            results.append((f"{name}, same file again", path.stat().st_size, *run_import(path, db)))
    print(f"{'import':26} {'rows':>10} {'file MiB':>9} {'seconds':>8} {'CPU s':>6} {'rows/s':>10} {'peak MiB':>9}"
          "  target")
    for label, size, seconds, cpu, peak, _ in results:
        rate = args.rows / seconds
        met = rate >= TARGET_ROWS_PER_SECOND and peak < TARGET_PEAK_BYTES
        print(f"{label:26} {args.rows:>10,} {size / 2**20:>9.0f} {seconds:>8.2f} {cpu:>6.2f} {rate:>10,.0f} "
              f"{peak / 2**20:>9.0f}  {'met' if met else 'MISSED'}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other work slows the imports)")
    for label, *_, summary in results:
        print(f"  {label}: {summary.removeprefix('sessionstats: ')}")


if __name__ == "__main__":
    main()
