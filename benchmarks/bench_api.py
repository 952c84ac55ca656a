"""The Python API's speed: one record in a warm process, what `track` adds to a call, and `record_many`.

    python benchmarks/bench_api.py [--runs 30] [--rows 1000000]

1. Recording one call through the API (`session.record_tokens`, given cost and priced from the model) in
   this warm process, against a copy of the cached 1m database (1,000,000 token records), next to a
   `record-tokens` process on the same copy. Target: API median under 35 ms, and at most a fifth of the
   process's.
2. `track`: the same non-streamed `messages.create` through a real Anthropic client on a mocked transport,
   tracked and untracked; the difference is what tracking adds to an LLM call (target: under 35 ms).
3. `record_many` of `--rows` token records into a fresh database (one transaction, through the bulk import).
   Target: at least 250,000 rows per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import data_path, ensure
from timing import Command, copy_file, product_argv, run_once

import sessionstats

TARGET_RECORD_MS = 35.0
TARGET_ROWS_PER_SECOND = 250_000
FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "responses" / "anthropic_message.json"


Figure = tuple[str, float, float]  # what, wall, CPU (this process's threads, or the child's)


def median_ms(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `runs` calls, after three untimed ones."""
    for _ in range(3):
        action()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def record_one(folder: Path, runs: int) -> list[Figure]:
    meta = ensure("1m")
    db = folder / "1m.duckdb"
    copy_file(data_path("1m"), db)
    user, session_id = meta["user"], meta["big_session"]["id"]
    session = sessionstats.connect(db, user=user).session(session_id)
    given = median_ms(lambda: session.record_tokens(1200, 350, cost="0.0089"), runs)
    priced = median_ms(lambda: session.record_tokens(1200, 350, model="claude-sonnet-4-5"), runs)
    command = Command([*product_argv(), "record-tokens", "-s", session_id, "--input", "1200", "--output", "350",
                       "--cost", "0.0089"], env={"SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": user})
    run_once(command)
    samples = [run_once(command) for _ in range(max(5, runs // 3))]
    process = (statistics.median(s[0] * 1000 for s in samples), statistics.median(s[2] * 1000 for s in samples))
    return [("API record_tokens, given cost", *given), ("API record_tokens, priced from the model", *priced),
            ("record-tokens process, given cost", *process)]


def track_overhead(folder: Path, runs: int) -> list[Figure]:
    try:
        import anthropic
    except ImportError:
        return [("track: n/a (pip install anthropic)", float("nan"), float("nan"))]
    body = FIXTURE.read_bytes()
    base = next(k for k in type(anthropic.Anthropic(api_key="k")._client).__mro__ if k.__module__.startswith("httpx"))
    http = sys.modules[base.__module__.split(".")[0]]

    def client() -> object:
        def answer(request: object) -> object:
            return http.Response(200, headers={"content-type": "application/json"}, content=iter([body]))

        transport = http.MockTransport(answer)
        return anthropic.Anthropic(api_key="k", max_retries=0, http_client=http.Client(transport=transport))

    def call(sdk: object) -> Callable[[], object]:
        return lambda: sdk.messages.create(model="claude-sonnet-4-6", max_tokens=10,  # type: ignore[attr-defined]
                                           messages=[{"role": "user", "content": "hi"}])

    db = sessionstats.connect(folder / "track.duckdb", user="bench")
    session = db.new_session(id="tracked")
    plain = median_ms(call(client()), runs)
    tracked = median_ms(call(sessionstats.track(client(), session=session)), runs)
    return [("messages.create, untracked (mocked transport)", *plain), ("messages.create, tracked", *tracked),
            ("what track adds", tracked[0] - plain[0], tracked[1] - plain[1])]


def records(rows: int, sessions: int = 1200) -> Iterator[dict]:
    for n in range(rows):
        yield {"session_id": f"session-{n % sessions:05d}", "model": "claude-sonnet-4-5",
               "input_tokens": n % 4000, "output_tokens": n % 1500, "cache_read_tokens": n % 20000,
               "request_id": f"req_{n:09d}", "created_at": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00"}


def record_many(folder: Path, rows: int) -> list[Figure]:
    """`record_many` as a whole, then its two steps apart: writing the import file, and the bulk import."""
    from sessionstats.api_records import records_file

    db = sessionstats.connect(folder / "many.duckdb", user="bench")
    whole = timed(lambda: db.record_many(records(rows), create_sessions=True))
    with records_file(records(rows)) as path:
        again = sessionstats.connect(folder / "import.duckdb", user="bench")
        imported = timed(lambda: again.import_tokens(path, format="csv", create_sessions=True, zone="UTC"))
    writing = timed(lambda: _write_only(rows))
    return [(f"record_many of {rows:,} records (s)", *whole),
            ("record_many rows/s", rows / whole[0], rows / whole[1]),
            ("  writing its import file (s)", *writing), ("  import_tokens of that file (s)", *imported),
            ("  import_tokens rows/s", rows / imported[0], rows / imported[1])]


def _write_only(rows: int) -> None:
    from sessionstats.api_records import records_file

    with records_file(records(rows)):
        pass


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    started, started_cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - started, time.process_time() - started_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sessionstats-bench-api-") as name:
        folder = Path(name)
        figures = record_one(folder, args.runs) + track_overhead(folder, args.runs) + record_many(folder, args.rows)
    width = max(len(label) for label, _, _ in figures)
    print(f"{'measure':<{width}}  {'wall':>10}  {'CPU':>10}")
    for label, wall, cpu in figures:
        unit = "" if label.endswith(("(s)", "rows/s")) else " ms"  # CPU includes DuckDB's threads
        places = 0 if "rows/s" in label else 2
        print(f"{label:<{width}}  {wall:>10,.{places}f}  {cpu:>10,.{places}f}{unit}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"targets: API record < {TARGET_RECORD_MS} ms median and <= 1/5 of the process; "
          f"track adds < {TARGET_RECORD_MS} ms; record_many >= {TARGET_ROWS_PER_SECOND:,} rows/s")


if __name__ == "__main__":
    main()
