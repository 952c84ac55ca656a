"""The PostgreSQL backend: the write path that chose the driver, and record and report next to the local file.

    python benchmarks/postgres.py            # 15 runs of each; --runs N for another count

Starts a throwaway cluster like the tests do (tests/pg_cluster.py: PostgreSQL must be installed), loads the
same 100,000 token records (200 sessions) into a DuckDB file and into the server with `import tokens`, then
times fresh processes. Every figure is the median wall time of N runs, with the CPU time beside it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_cluster import OWNER, start_cluster
from timing import Command, compare, product_argv, run_once

RECORDS, SESSIONS = 100_000, 200
USER = "alice"

# Three ways a fresh process could write one record, on a plain table (the extension cannot write to a
# table with row-level security at all: PostgreSQL refuses the COPY it inserts with).
PSYCOPG_WRITE = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as con:
    con.execute("INSERT INTO plain (id, n) VALUES (gen_random_uuid()::text, 1)")
"""
LIBPQ_WRITE = """
import sys
from sessionstats.store.libpq import Connection, parse_conninfo
con = Connection(parse_conninfo(sys.argv[1]))
con.execute("INSERT INTO plain (id, n) VALUES (gen_random_uuid()::text, 1)")
con.close()
"""
ATTACH_WRITE = """
import sys, duckdb
con = duckdb.connect(config={"extension_directory": sys.argv[2]})
con.execute("LOAD postgres")
con.execute("ATTACH '" + sys.argv[1] + "' AS pg (TYPE postgres, SCHEMA 'public')")
con.execute("INSERT INTO pg.plain (id, n) VALUES (uuid()::VARCHAR, 1)")
con.close()
"""


def write_records(path: Path) -> None:
    with path.open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["session_id", "model", "input_tokens", "output_tokens", "cost", "request_id", "created_at"])
        for i in range(RECORDS):
            rows.writerow([f"s{i % SESSIONS}", "claude-sonnet-4-5", 1000 + i % 97, 200 + i % 31, "0.0045",
                           f"r{i}", f"2026-{1 + i % 9:02d}-{1 + i % 27:02d}T{i % 24:02d}:00:00Z"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args(argv).runs
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory(prefix="sessionstats-bench-") as folder:
            return measure(cluster, Path(folder), runs)
    finally:
        cluster.stop()
        cluster.remove()


def measure(cluster, folder: Path, runs: int) -> int:
    cluster.create_database("bench")
    cluster.ensure_role(USER)
    server = cluster.url(USER, "bench")
    local = str(folder / "stats.duckdb")
    env = {"XDG_CACHE_HOME": str(folder / "cache"), "SESSIONSTATS_USER": USER}
    script = product_argv()
    run_once(Command([*script, "init-db", "--db", cluster.url(OWNER, "bench")], env))
    with cluster.connect("bench") as con:
        con.execute("CREATE TABLE plain (id text, n int)")
        con.execute(f"GRANT INSERT ON plain TO {USER}")
    records = folder / "records.csv"
    write_records(records)
    for db in (local, server):
        run_once(Command([*script, "import", "tokens", str(records), "--create-sessions", "--db", db], env))

    extensions = str(folder / "cache" / "sessionstats" / "duckdb-extensions")
    libpq = f"host={cluster.host} port={cluster.port} dbname=bench user={USER}"
    record = ["record-tokens", "-s", "s7", "--input", "1200", "--output", "350", "--cost", "0.0089"]

    def on_both(*args: str) -> tuple[Command, Command]:
        return Command([*script, *args, "--db", server], env), Command([*script, *args, "--db", local], env)

    rows: list[tuple[str, Command, Command | None]] = [
        ("one insert: psycopg (import, connect, insert)", Command([sys.executable, "-c", PSYCOPG_WRITE, libpq]), None),
        ("one insert: libpq by ctypes (what sessionstats uses)",
         Command([sys.executable, "-c", LIBPQ_WRITE, libpq]), None),
        ("one insert: DuckDB attach (import, load, attach, insert)",
         Command([sys.executable, "-c", ATTACH_WRITE, libpq, extensions]), None),
        ("record-tokens", *on_both(*record)),
        ("show s7 (500 records)", *on_both("show", "s7", "--format", "json")),
        ("show s7 --by model", *on_both("show", "s7", "--by", "model", "--format", "json")),
        ("list --limit 20", *on_both("list", "--limit", "20", "--format", "json")),
    ]
    print(f"{RECORDS:,} token records in {SESSIONS} sessions; median of {runs} fresh processes (CPU in brackets)\n")
    print(f"| {'measure':<56} | {'PostgreSQL':>16} | {'DuckDB file':>16} |")
    print(f"| {'-' * 56} | {'-' * 16}:| {'-' * 16}:|")
    for name, on_server, on_file in rows:
        server_times, file_times = compare(on_server, on_file, runs)
        shown = [f"{server_times.median * 1000:,.0f} ms ({server_times.cpu * 1000:,.0f})",
                 f"{file_times.median * 1000:,.0f} ms ({file_times.cpu * 1000:,.0f})" if file_times else ""]
        print(f"| {name:<56} | {shown[0]:>16} | {shown[1]:>16} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
