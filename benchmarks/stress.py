"""Many shell processes recording at once: does every record land exactly once, and how fast?

Each writer runs its calls one after another as real `sessionstats` processes, alternating
record-tokens and record-story across two users' sessions; readers run `show` and `list` in a loop
meanwhile. Then the same calls run one after another (the sequential baseline) in a fresh database.
Prints one line per run:

    python benchmarks/stress.py                       # 16 writers x 100 calls + 2 readers
    python benchmarks/stress.py --writers 64 --calls 25
    python benchmarks/stress.py --mechanism duckdb-retry   # compare: no flock, DuckDB's lock error retried

The sequential baseline runs `--sequential-calls` of the same calls (default 200) and its rate is
compared with the concurrent one; a rate needs no more calls than it takes to be steady.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

USERS = ("alice", "bob")
SESSIONS_PER_USER = 4
HERE = Path(__file__).resolve().parent
LAUNCHERS = {
    "flock": [sys.executable, "-m", "sessionstats"],
    "duckdb-retry": [sys.executable, str(HERE / "duckdb_retry.py")],
}


@dataclass
class Outcome:
    """What one batch of commands did."""

    ids: list[str] = field(default_factory=list)
    write_latencies: list[float] = field(default_factory=list)
    read_latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_call(writer: int, call: int) -> tuple[str, list[str]]:
    """The user and arguments of one writer's call: tokens on even calls, a story on odd ones."""
    user = USERS[writer % len(USERS)]
    session = f"s{(writer // len(USERS)) % SESSIONS_PER_USER}"
    if call % 2 == 0:
        return user, ["record-tokens", "-s", session, "--input", "1", "--output", "2", "--cost", "0.001",
                      "--model", "claude-sonnet-4-5"]
    return user, ["record-story", "-s", session, "--title", f"w{writer}-c{call}", "--narrative", "one two three"]


def run(launcher: list[str], db: Path, user: str, args: list[str], timeout: float) -> tuple[float, int, str, str]:
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": user,
           "SESSIONSTATS_LOCK_TIMEOUT": str(timeout)}
    started = time.perf_counter()
    done = subprocess.run([*launcher, *args], env=env, capture_output=True, text=True, timeout=timeout + 60)
    return time.perf_counter() - started, done.returncode, done.stdout, done.stderr


def prepare(db: Path) -> None:
    """Each user's sessions, made in this process: the set-up is not what is measured."""
    from sessionstats.sessions import create_session
    from sessionstats.store import open_store

    with open_store(db, write=True) as store:
        for user in USERS:
            for index in range(SESSIONS_PER_USER):
                create_session(store, user=user, session_id=f"s{index}")


def writer_loop(launcher: list[str], db: Path, writer: int, calls: range, timeout: float, outcome: Outcome) -> None:
    for call in calls:
        user, args = write_call(writer, call)
        latency, code, out, err = run(launcher, db, user, args, timeout)
        with outcome.lock:
            outcome.write_latencies.append(latency)
            if code or err or len(out.split()) != 1:
                outcome.failures.append(f"{args[0]} exit {code}: {err.strip()[:200]}")
            else:
                outcome.ids.append(out.strip())


def reader_loop(launcher: list[str], db: Path, reader: int, stop: threading.Event, timeout: float,
                outcome: Outcome) -> None:
    while not stop.is_set():
        user = USERS[reader % len(USERS)]
        args = ["show", "s0", "--format", "json"] if reader % 2 == 0 else ["list", "--format", "json"]
        latency, code, _, err = run(launcher, db, user, args, timeout)
        with outcome.lock:
            outcome.read_latencies.append(latency)
            if code or err:
                outcome.failures.append(f"{args[0]} exit {code}: {err.strip()[:200]}")


def stored_ids(db: Path) -> Counter[str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT id FROM token_usage UNION ALL SELECT id FROM story_history").fetchall()
    finally:
        con.close()
    return Counter(row[0] for row in rows)


def concurrent_run(launcher: list[str], db: Path, writers: int, calls: int, readers: int,
                   timeout: float) -> tuple[Outcome, float]:
    """Writers and readers at once; returns the outcome and the writers' wall time."""
    outcome = Outcome()
    stop = threading.Event()
    reader_threads = [threading.Thread(target=reader_loop, args=(launcher, db, r, stop, timeout, outcome))
                      for r in range(readers)]
    writer_threads = [threading.Thread(target=writer_loop, args=(launcher, db, w, range(calls), timeout, outcome))
                      for w in range(writers)]
    for thread in reader_threads:
        thread.start()
    started = time.perf_counter()
    for thread in writer_threads:
        thread.start()
    for thread in writer_threads:
        thread.join()
    wall = time.perf_counter() - started
    stop.set()
    for thread in reader_threads:
        thread.join()
    return outcome, wall


def sequential_run(launcher: list[str], db: Path, writers: int, count: int, timeout: float) -> tuple[Outcome, float]:
    """The first `count` calls of the same plan, in the order they interleave, one after another."""
    outcome = Outcome()
    started = time.perf_counter()
    for index in range(count):
        writer_loop(launcher, db, index % writers, range(index // writers, index // writers + 1), timeout, outcome)
    return outcome, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--calls", type=int, default=100, help="calls per writer")
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--sequential-calls", type=int, default=200, help="0 skips the baseline")
    parser.add_argument("--mechanism", choices=sorted(LAUNCHERS), default="flock")
    parser.add_argument("--lock-timeout", type=float, default=10.0)
    options = parser.parse_args()
    launcher = LAUNCHERS[options.mechanism]
    expected = options.writers * options.calls

    with tempfile.TemporaryDirectory(prefix="sessionstats-stress-") as folder:
        db = Path(folder) / "concurrent.duckdb"
        prepare(db)
        outcome, wall = concurrent_run(launcher, db, options.writers, options.calls, options.readers,
                                       options.lock_timeout)
        stored = stored_ids(db)
        found = sum(1 for record_id in set(outcome.ids) if stored[record_id] == 1)
        extra = sum(stored.values()) - found
        throughput = len(outcome.ids) / wall
        line = (f"{options.mechanism}: {options.writers} writers x {options.calls} + {options.readers} readers | "
                f"records expected {expected}, found {found}, extra {extra}, failures {len(outcome.failures)} | "
                f"throughput {throughput:.2f} calls/s over {wall:.1f} s | "
                f"write p50 {percentile(outcome.write_latencies, 0.5):.3f} s "
                f"p99 {percentile(outcome.write_latencies, 0.99):.3f} s "
                f"max {max(outcome.write_latencies):.3f} s | "
                f"reads {len(outcome.read_latencies)} p50 {percentile(outcome.read_latencies, 0.5):.3f} s "
                f"p99 {percentile(outcome.read_latencies, 0.99):.3f} s")
        if options.sequential_calls:
            sequential_db = Path(folder) / "sequential.duckdb"
            prepare(sequential_db)
            count = min(options.sequential_calls, expected)
            baseline, sequential_wall = sequential_run(launcher, sequential_db, options.writers, count,
                                                       options.lock_timeout)
            sequential_rate = len(baseline.ids) / sequential_wall
            line += (f" | sequential {sequential_rate:.2f} calls/s ({count} calls, "
                     f"p50 {percentile(baseline.write_latencies, 0.5):.3f} s, "
                     f"failures {len(baseline.failures)}) | ratio {throughput / sequential_rate:.0%}")
        print(line)
        for failure in sorted(set(outcome.failures))[:5]:
            print(f"  failure: {failure}", file=sys.stderr)
    if found != expected or extra or outcome.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
