"""Every speed target in one command: medians of fresh processes beside their floors, printed as tables.

    python benchmarks/run.py            # 10k, 1m and 10m records (generates and caches what is missing)
    python benchmarks/run.py --quick    # 10k and 1m only, fewer runs: under a minute

Each measure runs the real `sessionstats` console script as a fresh process, interleaved with its floor:
a fresh `python -c` that imports duckdb, opens the same file and runs the statements the command ran
(captured in-process, bookkeeping left out); for imports, DuckDB's own read_json / read_csv into a table.
Writes go to a copy of the cached database, never to the cache itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import generate
from imports import import_measures
from timing import (
    Command,
    CommandFailed,
    Result,
    Target,
    capture_statements,
    compare,
    copy_file,
    floor_command,
    fmt_bytes,
    fmt_seconds,
    product_argv,
)

WORK_DIR = generate.WORK_DIR
NARRATIVE = " ".join(generate.WORDS * 3)  # ~190 words, a typical narration


RECORD = Target(max_ratio=1.3)
SHOW = Target(max_ratio=1.5, max_seconds=0.3)
REPORT = Target(max_seconds=0.5)


class Product:
    """What the installed sessionstats offers: its commands and the options of `show`."""

    def __init__(self) -> None:
        self.argv = product_argv()
        self.commands = _command_names(self._help())
        self.show_options = self._help("show")

    def _help(self, *command: str) -> str:
        done = subprocess.run([*self.argv, *command, "--help"], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "200"})
        return done.stdout

    def has(self, command: str) -> bool:
        return command in self.commands


def _command_names(help_text: str) -> set[str]:
    """Command names from Typer's help: the first word of each line under 'Commands:'."""
    names, inside = set(), False
    for line in help_text.splitlines():
        if line.strip().rstrip(":").lower() == "commands":
            inside = True
            continue
        if inside and line.strip():
            if not line.startswith(" "):
                inside = False
                continue
            names.add(line.split()[0].strip("│ "))
    return names


def measure_size(size: str, product: Product, runs: int, *, extras: bool) -> list[Result]:
    """record-tokens, record-story, show (big and small) at one size; the other reports too when `extras`."""
    meta = generate.ensure(size, log=lambda text: print(text, file=sys.stderr))
    db = WORK_DIR / f"bench-{size}.duckdb"
    copy_file(generate.data_path(size), db)
    env = {"SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": meta["user"], "TZ": "UTC"}
    big, small = meta["big_session"]["id"], meta["small_session"]["id"]
    reads: list[tuple[str, list[str] | str, Target]] = [
        (f"show (big: {meta['big_session']['token_records']:,} records)", ["show", big, "-f", "table"], SHOW),
        (f"show (small: {meta['small_session']['token_records']:,} records)", ["show", small, "-f", "table"], SHOW),
    ]
    if extras:
        by_model = ["show", big, "--by", "model", "-f", "table"] if "--by" in product.show_options else "no --by"
        timeline = ["timeline", big] if product.has("timeline") else "no timeline command"
        reads += [("show big --by model", by_model, REPORT), ("list --limit 20", ["list", "--limit", "20",
                  "-f", "table"], REPORT), ("timeline big", timeline, REPORT)]
    writes = [
        ("record-tokens", ["record-tokens", "-s", small, "--model", "claude-sonnet-4-5", "--input", "1200",
                           "--output", "350", "--cache-read", "5000", "--cost", "0.0123"], RECORD),
    ]
    if extras:
        writes.append(("record-story", ["record-story", "-s", small, "--title", "Harbour at dawn", "--tone", "calm",
                                        "--narrative", NARRATIVE], RECORD))
    results = [_measure(name, size, args, target, product, db, env, runs, read_only=True)
               for name, args, target in reads]
    # The reads met the longest unsorted tail. One write first sorts it (as the next write would), so the
    # writes are timed in the steady state; the one write in a run that sorts is measured on its own below.
    capture_statements(writes[0][1], env)
    results += [_measure(name, size, args, target, product, db, env, runs, read_only=False)
                for name, args, target in writes]
    if extras:
        results.append(_measure_due_run(size, writes[0][1], product, env, max(3, runs // 3)))
    return results


def _measure_due_run(size: str, args: list[str], product: Product, env: dict[str, str], runs: int) -> Result:
    """The one write in RUN_ROWS that finds a run due and sorts it; each run on a fresh copy of the data."""
    from sessionstats.store.runs import RUN_ROWS

    name = f"record-tokens sorting a due run ({RUN_ROWS:,} rows)"
    print(f"  {size:>4}  {name} ...", file=sys.stderr)
    db = WORK_DIR / f"due-run-{size}.duckdb"
    env = {**env, "SESSIONSTATS_DB": str(db)}

    def fresh_copy() -> None:
        copy_file(generate.data_path(size), db)

    fresh_copy()
    statements = capture_statements(args, env)
    floor = floor_command(db, statements, read_only=False)
    timed, timed_floor = compare(Command([*product.argv, *args], env, prepare=fresh_copy),
                                 Command(floor.argv, prepare=fresh_copy), runs)
    return Result(name, size, timed, timed_floor, "", "reported")


def _measure(name: str, size: str, args: list[str] | str, target: Target, product: Product, db: Path,
             env: dict[str, str], runs: int, *, read_only: bool) -> Result:
    """Time the command beside its floor; `args` is the reason when the command is not there yet."""
    if isinstance(args, str):
        return Result(name, size, None, None, target.describe(), "n/a", args)
    print(f"  {size:>4}  {name} ...", file=sys.stderr)
    try:
        statements = capture_statements(args, env)
        floor = floor_command(db, statements, read_only=read_only)
        timed, timed_floor = compare(Command([*product.argv, *args], env), floor, runs)
    except CommandFailed as error:
        return Result(name, size, None, None, target.describe(), "FAILED", str(error)[:200])
    return Result(name, size, timed, timed_floor, target.describe(), target.judge(timed, timed_floor))


def print_main_table(results: list[Result]) -> None:
    rows = [["measure", "db", "median", "floor", "ratio", "CPU ratio", "peak RSS", "target", "verdict"]]
    for r in results:
        ratio = f"{r.product.median / r.floor.median:.2f}x" if r.product and r.floor else "n/a"
        cpu_ratio = f"{r.product.cpu / r.floor.cpu:.2f}x" if r.product and r.floor else "n/a"
        rows.append([r.measure, r.size, fmt_seconds(r.product.median if r.product else None),
                     fmt_seconds(r.floor.median if r.floor else None), ratio, cpu_ratio,
                     fmt_bytes(r.product.peak if r.product else None), r.target,
                     r.verdict + (f" ({r.note})" if r.note else "")])
    _print_rows(rows)


def print_growth_table(results: list[Result], sizes: list[str]) -> None:
    """show (big and small session) and record-tokens at each size: product median (floor median)."""
    columns = {"show big": "show (big", "show small": "show (small", "record-tokens": "record-tokens"}
    rows = [["token records", *columns]]
    for size in sizes:
        line = [f"{generate.SIZES[size].token_records:,}"]
        for prefix in columns.values():
            found = [r for r in results if r.size == size and r.measure.startswith(prefix) and r.product and r.floor]
            line.append(f"{fmt_seconds(found[0].product.median)} ({fmt_seconds(found[0].floor.median)})"
                        if found else "n/a")
        rows.append(line)
    _print_rows(rows)


def print_size_table(sizes: list[str]) -> None:
    rows = [["token records", "stories", "sessions", "file", "MiB per 1M token records"]]
    for size in sizes:
        meta = generate.ensure(size)
        per_million = meta["file_bytes"] / 2**20 / (meta["counts"]["token_usage"] / 1e6)
        rows.append([f"{meta['counts']['token_usage']:,}", f"{meta['counts']['story_history']:,}",
                     f"{meta['counts']['sessions']:,}", fmt_bytes(meta["file_bytes"]), f"{per_million:,.0f}"])
    _print_rows(rows)


def _print_rows(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


def _header(sizes: list[str], runs: int) -> None:
    import duckdb

    import sessionstats

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=generate.ROOT).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"sessionstats {sessionstats.__version__} ({commit or 'no git'}), duckdb {duckdb.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores, load average {load}")
    print(f"sizes {', '.join(sizes)}; median of {runs} fresh processes each, interleaved with the floor\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 1m only, 5 runs: under a minute.")
    parser.add_argument("--runs", type=int, help="Runs per measure [default: 5 quick, 9 full].")
    parser.add_argument("--sizes", help="Comma-separated sizes, e.g. 10k,1m [default: all, or 10k,1m with --quick].")
    args = parser.parse_args(argv)
    sizes = args.sizes.split(",") if args.sizes else (["10k", "1m"] if args.quick else list(generate.SIZES))
    runs = args.runs or (5 if args.quick else 9)
    started = time.perf_counter()
    product = Product()
    results: list[Result] = []
    try:
        for size in sizes:
            results += measure_size(size, product, runs, extras=size == sizes[-1])
        results += import_measures(product, runs=max(3, runs // 3), quick=args.quick)
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    sys.stderr.flush()
    _header(sizes, runs)
    print_main_table(results)
    print("\nGrowth: median (floor)")
    print_growth_table(results, sizes)
    print("\nDatabase size (token records, stories with narratives, sessions)")
    print_size_table(sizes)
    print(f"\n({time.perf_counter() - started:.0f} s in all)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
