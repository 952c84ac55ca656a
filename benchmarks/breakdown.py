"""Where a command's time goes: imports by package, the phases of a record, the plan of the show query.

    python benchmarks/breakdown.py imports [--size 10k] [--runs 7]
    python benchmarks/breakdown.py phases  [--size 10m] [--runs 7]
    python benchmarks/breakdown.py explain [--size 10m]

Nothing here changes sessionstats: phases wraps DuckDB's connect and the store's helpers from outside.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import generate
from timing import capture_statements, copy_file

WORK_DIR = generate.WORK_DIR
# Packages that belong together when charging import time.
_PACKAGE_OF = {"pydantic_core": "pydantic", "annotated_types": "pydantic", "typing_inspection": "pydantic",
               "_duckdb": "duckdb", "annotated_doc": "typer", "markdown_it": "rich", "mdurl": "rich",
               "pygments": "rich", "shellingham": "typer"}


def command_lines(meta: dict) -> dict[str, list[str]]:
    small, big = meta["small_session"]["id"], meta["big_session"]["id"]
    return {
        "record-tokens": ["record-tokens", "-s", small, "--model", "claude-sonnet-4-5", "--input", "1200",
                          "--output", "350", "--cost", "0.0123"],
        "show": ["show", big, "-f", "table"],
    }


def working_copy(size: str) -> tuple[Path, dict, dict[str, str]]:
    meta = generate.ensure(size, log=lambda text: print(text, file=sys.stderr))
    db = WORK_DIR / f"profile-{size}.duckdb"
    copy_file(generate.data_path(size), db)
    return db, meta, {"SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": meta["user"], "TZ": "UTC"}


def imports(size: str, runs: int) -> None:
    """Median self time per top-level package under `python -X importtime`, per command."""
    _db, meta, env = working_copy(size)
    for name, args in command_lines(meta).items():
        per_run: list[dict[str, float]] = []
        modules: set[str] = set()
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sessionstats", *args],
                                  capture_output=True, text=True, env={**os.environ, **env}, check=True)
            by_package, names = _self_time_by_package(done.stderr)
            per_run.append(by_package)
            modules |= names
        packages = sorted({p for run in per_run for p in run}, key=lambda p: -statistics.median(
            [run.get(p, 0.0) for run in per_run]))
        total = statistics.median([sum(run.values()) for run in per_run])
        print(f"\n{name}: {total * 1000:.0f} ms of imports (median of {runs}, self time summed per package)")
        for package in packages[:14]:
            print(f"  {package:<22} {statistics.median([run.get(package, 0.0) for run in per_run]) * 1000:6.1f} ms")
        watched = ["tabulate", "genai_prices", "plotext", "rich", "pydantic", "pandas", "numpy", "pyarrow"]
        print("  imported: " + ", ".join(f"{w}={_loaded(w, modules)}" for w in watched))


def _loaded(package: str, modules: set[str]) -> str:
    """yes / no, or 'not installed' for a name that was only looked for (DuckDB tries pandas per query)."""
    import importlib.util

    if importlib.util.find_spec(package) is None:
        return "not installed"
    return "yes" if any(m == package or m.startswith(package + ".") for m in modules) else "no"


def _self_time_by_package(report: str) -> tuple[dict[str, float], set[str]]:
    totals: dict[str, float] = defaultdict(float)
    names: set[str] = set()
    for line in report.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, module = line[len("import time:"):].split("|")
        module = module.strip()
        names.add(module)
        root = module.split(".")[0]
        package = _PACKAGE_OF.get(root, root if root in {"duckdb", "typer", "pydantic", "rich", "click", "tabulate",
                                                         "sessionstats", "platformdirs", "genai_prices",
                                                         "plotext"} else "(standard library)")
        totals[package] += int(self_us) / 1e6
    return totals, names


_PHASES_DRIVER = r"""
import sys, time, json
t0 = time.perf_counter()
marks = []
def mark(name): marks.append((name, time.perf_counter()))
import duckdb
mark("import duckdb")
import sessionstats.cli as cli
import sessionstats.store as store
import sessionstats.store.file as file_store
mark("import sessionstats (CLI, core, typer)")
real_connect, real_lock = duckdb.connect, file_store._file_lock
class Timed:
    def __init__(self, con): self.con = con
    def execute(self, sql, params=None):
        start = time.perf_counter()
        try:
            return self.con.execute(sql) if params is None else self.con.execute(sql, params)
        finally:
            kind = sql.strip().split()[0].upper()
            label = {"INSERT": "SQL: insert", "COMMIT": "SQL: commit", "BEGIN": "SQL: begin"}.get(
                kind, "SQL: " + kind.lower() + " (data)")
            if "schema_migrations" in sql or "information_schema" in sql: label = "migrations check"
            spans.append((label, time.perf_counter() - start))
    def close(self):
        start = time.perf_counter()
        self.con.close()
        spans.append(("close (checkpoint)", time.perf_counter() - start))
    def __getattr__(self, name): return getattr(self.con, name)
spans = []
def connect(*a, **k):
    start = time.perf_counter(); con = real_connect(*a, **k); spans.append(("connect", time.perf_counter() - start))
    return Timed(con)
duckdb.connect = connect
from contextlib import contextmanager
@contextmanager
def lock(*a, **k):
    start = time.perf_counter()
    with real_lock(*a, **k):
        spans.append(("flock", time.perf_counter() - start))
        yield
file_store._file_lock = lock
real_open = store.open_store
@contextmanager
def open_store(*a, **k):
    mark("typer: import and build the command, parse options")
    with real_open(*a, **k) as opened:
        yield opened
    mark("store: lock, connect, check, SQL, close")
store.open_store = open_store  # for command modules imported later, when their command runs
for module in list(sys.modules.values()):
    if getattr(module, "__name__", "").startswith("sessionstats.cli.") and hasattr(module, "open_store"):
        module.open_store = open_store
try:
    cli.app(args=sys.argv[1:], prog_name="sessionstats", standalone_mode=False)
finally:
    mark("render and print")
    out = {"marks": [(n, t - t0) for n, t in marks], "spans": spans}
    sys.stderr.write("PHASES " + json.dumps(out) + "\n")
"""


def phases(size: str, runs: int) -> None:
    """Each phase of a fresh record-tokens and show process, median over runs."""
    _db, meta, env = working_copy(size)
    startup = _median_wall([sys.executable, "-c", "pass"], env, runs)
    for name, args in command_lines(meta).items():
        rows: dict[str, list[float]] = defaultdict(list)
        walls = []
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _PHASES_DRIVER, *args], capture_output=True, text=True,
                                  env={**os.environ, **env}, check=True)
            walls.append(time.perf_counter() - started)
            report = json.loads(done.stderr.split("PHASES ", 1)[1])
            previous = 0.0
            for mark_name, at in report["marks"]:
                rows[mark_name].append(at - previous)
                previous = at
            sums: dict[str, float] = defaultdict(float)
            for span_name, seconds in report["spans"]:
                sums[span_name] += seconds
            for span_name, seconds in sums.items():
                rows["    of which " + span_name].append(seconds)
        wall = statistics.median(walls)
        print(f"\n{name} on {size}: {wall * 1000:.0f} ms wall (median of {runs}); python -c pass: "
              f"{startup * 1000:.0f} ms")
        inside = statistics.median([sum(values) for values in zip(*(v for k, v in rows.items()
                                                                    if not k.startswith(" ")), strict=True)])
        print(f"  {'interpreter start-up and exit (the rest)':<45} {(wall - inside) * 1000:7.1f} ms")
        for phase, values in rows.items():
            print(f"  {phase:<45} {statistics.median(values) * 1000:7.1f} ms")


def _median_wall(argv: list[str], env: dict[str, str], runs: int) -> float:
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env={**os.environ, **env}, check=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def explain(size: str) -> None:
    """EXPLAIN ANALYZE of the statements `show` runs, for the big and the small session, as a flat list."""
    import duckdb

    db, meta, env = working_copy(size)
    for which in ("big_session", "small_session"):
        statements = capture_statements(["show", meta[which]["id"], "-f", "json"], env)
        con = duckdb.connect(str(db), read_only=True)
        try:
            for sql, params in statements:
                con.execute(sql, params).fetchall()  # warm
                profile = json.loads(con.execute("EXPLAIN (ANALYZE, FORMAT json) " + sql, params).fetchall()[0][1])
                print(f"\n{which} ({meta[which]['token_records']:,} token records): latency "
                      f"{profile['latency'] * 1000:.0f} ms, CPU {profile['cpu_time'] * 1000:.0f} ms, "
                      f"rows scanned {profile['cumulative_rows_scanned']:,}")
                for depth, node in _walk(profile, 0):
                    info = node.get("extra_info", {})
                    where = f" {info.get('Table', '').split('.')[-1]} {info.get('Type', '')} " \
                            f"filters {info.get('Filters')}" if "Table" in info else ""
                    print(f"  {'  ' * depth}{node['operator_name']:<22} {node['operator_timing'] * 1000:7.1f} ms "
                          f"{node['operator_cardinality']:>10,} rows  scanned {node['operator_rows_scanned']:>10,}"
                          f"{where}")
        finally:
            con.close()


def _walk(node: dict, depth: int):
    for child in node.get("children", []):
        if child.get("operator_name") != "EXPLAIN_ANALYZE":
            yield depth, child
        yield from _walk(child, depth + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["imports", "phases", "explain"])
    parser.add_argument("--size", default=None, choices=sorted(generate.SIZES))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        if args.what == "imports":
            imports(args.size or "10k", args.runs)
        elif args.what == "phases":
            phases(args.size or "10m", args.runs)
        else:
            explain(args.size or "10m")
    finally:
        for leftover in WORK_DIR.glob("profile-*"):
            leftover.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
