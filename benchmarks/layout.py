"""Choose the physical design by measurement: no index, ART indexes, runs sorted by session, or all sorted.

    python benchmarks/layout.py [--size 10m] [--runs 7] [--variants time,runs]

Four copies of the same data (built once, cached under benchmarks/data/):
- time:    rows in the order they were recorded and left so, zone maps only;
- index:   the same, plus ART indexes on (user_id, session_id) of token_usage and story_history;
- runs:    what sessionstats keeps (store/runs.py): each 250,000 recorded rows rewritten by session,
           the newest ones still in recording order (the benchmark data as generated);
- ordered: token_usage and story_history rewritten whole, ordered by (user_id, session_id, created_at).
For each: file size, fresh `show` processes for the big and the small session, a fresh one-row
`record-tokens` process (on a throw-away copy), each beside its python -c floor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import generate
from timing import Command, capture_statements, compare, copy_file, floor_command, fmt_bytes, fmt_seconds, product_argv

VARIANTS = ("time", "index", "runs", "ordered")
_ORDER = {"time": "created_at, id", "ordered": "user_id, session_id, created_at"}
_INDEXES = (
    "CREATE INDEX token_usage_by_session ON token_usage (user_id, session_id)",
    "CREATE INDEX story_history_by_session ON story_history (user_id, session_id)",
)


def variant_path(variant: str, size: str) -> Path:
    if variant == "runs":
        return generate.data_path(size)
    return generate.DATA_DIR / f"layout-{variant}-{size}.duckdb"


def build(variant: str, size: str) -> float:
    """Make the variant's file unless cached; return the seconds it took (0 when cached)."""
    path = variant_path(variant, size)
    if path.exists():
        return 0.0
    started = time.perf_counter()
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    if variant == "index":
        build("time", size)
        copy_file(variant_path("time", size), building)
        import duckdb

        con = duckdb.connect(str(building))
        try:
            con.execute("SET enable_progress_bar = false")
            for statement in _INDEXES:
                con.execute(statement)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    else:
        _write_in_order(size, building, _ORDER[variant])
    building.replace(path)
    return time.perf_counter() - started


def _write_in_order(size: str, target: Path, order: str) -> None:
    """The generated data rewritten whole in `order`, every row marked sorted so that no write re-sorts it."""
    from sessionstats.store import open_store

    with open_store(target, write=True) as store:
        store.execute("SET memory_limit = '4GB'")
        store.execute("SET enable_progress_bar = false")
        store.execute(generate.attach_sql(generate.data_path(size), "src"))
        store.execute("INSERT INTO sessions SELECT * FROM src.sessions ORDER BY created_at")
        for table in ("story_history", "token_usage"):
            store.execute(f"INSERT INTO {table} SELECT * REPLACE (true AS sorted) FROM src.{table} ORDER BY {order}")
            store.execute(f"UPDATE sorted_rows SET settled_rows = (SELECT count(*) FROM {table}) "
                          f"WHERE table_name = '{table}'")
        store.execute("DETACH src")
        store.execute("CHECKPOINT")
    target.with_name(target.name + ".lock").unlink(missing_ok=True)


def measure(variant: str, size: str, meta: dict, runs: int) -> list[list[str]]:
    work = generate.WORK_DIR / f"layout-{variant}-{size}.duckdb"
    copy_file(variant_path(variant, size), work)
    env = {"SESSIONSTATS_DB": str(work), "SESSIONSTATS_USER": meta["user"], "TZ": "UTC"}
    commands = {
        "show big": (["show", meta["big_session"]["id"], "-f", "table"], True),
        "show small": (["show", meta["small_session"]["id"], "-f", "table"], True),
        "record-tokens": (["record-tokens", "-s", meta["small_session"]["id"], "--model", "claude-sonnet-4-5",
                           "--input", "1200", "--output", "350", "--cost", "0.0123"], False),
    }
    rows = []
    for name, (args, read_only) in commands.items():
        print(f"  {variant}: {name} ...", file=sys.stderr)
        if not read_only:  # the first write sorts the run that is due (runs): time the steady state after it
            capture_statements(args, env)
        statements = capture_statements(args, env)
        product, floor = compare(Command([*product_argv(), *args], env),
                                 floor_command(work, statements, read_only=read_only), runs)
        warm = _warm_query_seconds(work, statements) if read_only else None
        rows.append([variant, name, fmt_seconds(product.median), fmt_seconds(floor.median),  # type: ignore[union-attr]
                     fmt_seconds(product.cpu), fmt_seconds(floor.cpu), fmt_seconds(warm),  # type: ignore[union-attr]
                     f"{product.peak / 2**20:,.0f} MiB"])
    work.unlink(missing_ok=True)
    return rows


def _warm_query_seconds(db: Path, statements: list[tuple[str, object]], repeats: int = 7) -> float:
    """The statements alone, in one open connection after a first run: the query without the process."""
    import statistics

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        times = []
        for _ in range(repeats + 1):
            started = time.perf_counter()
            for sql, params in statements:
                con.execute(sql, params).fetchall()
            times.append(time.perf_counter() - started)
        return statistics.median(times[1:])
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10m", choices=sorted(generate.SIZES))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    meta = generate.ensure(args.size, log=lambda text: print(text, file=sys.stderr))
    variants = args.variants.split(",")
    sizes = []
    for variant in variants:
        seconds = build(variant, args.size)
        sizes.append([variant, fmt_bytes(variant_path(variant, args.size).stat().st_size),
                      f"{seconds:.1f} s" if seconds else "cached"])
    rows = []
    try:
        for variant in variants:
            rows += measure(variant, args.size, meta, args.runs)
    finally:
        for leftover in generate.WORK_DIR.glob("layout-*"):
            leftover.unlink()
    print(f"{args.size}: big session {meta['big_session']['token_records']:,} token records, small "
          f"{meta['small_session']['token_records']:,}; median of {args.runs} fresh processes\n")
    _print(["layout", "file", "built in"], sizes)
    print()
    _print(["layout", "command", "median", "floor", "CPU", "floor CPU", "query (warm)", "peak RSS"], rows)
    return 0


def _print(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) if i < 2 else str(cell).rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))))


if __name__ == "__main__":
    sys.exit(main())
