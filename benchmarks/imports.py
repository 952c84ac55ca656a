"""The bulk-import measures: `sessionstats import tokens FILE` against DuckDB's own readers into a table."""

from __future__ import annotations

import sys
from pathlib import Path

import generate
from timing import Command, CommandFailed, Result, Samples, compare, copy_file, product_argv

TARGET_ROWS = 1_000_000
TARGET_ROWS_PER_SECOND = 250_000
TARGET_PEAK_BYTES = 2**30
TARGET = f">= {TARGET_ROWS_PER_SECOND:,} rows/s, peak < 1 GiB"
FORMATS = ("jsonl", "csv")
WORK_DIR = generate.WORK_DIR

_EXPORT_SQL = """
COPY (
    SELECT t.session_id, t.model, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens,
           t.estimated_cost AS cost, t.request_id, t.story_id, strftime(t.created_at, '%Y-%m-%dT%H:%M:%S.%fZ')
               AS created_at
    FROM src.token_usage t ORDER BY t.created_at LIMIT {rows}
) TO '{path}' ({options})
"""

_FLOOR_SCRIPT = (
    "import sys, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "con.execute(f'CREATE TABLE imported AS SELECT * FROM {sys.argv[3]}(?)', [sys.argv[2]])\n"
    "con.close()\n"
)


def import_measures(product, *, runs: int, quick: bool) -> list[Result]:
    """One line per input format; 'n/a' while sessionstats has no import command."""
    rows = 100_000 if quick else TARGET_ROWS
    names = [f"import tokens, {rows:,} rows ({fmt})" for fmt in FORMATS]
    if not product.has("import"):
        return [Result(name, "1m", None, None, TARGET, "n/a", "no import command") for name in names]
    meta = generate.ensure("1m", log=lambda text: print(text, file=sys.stderr))
    template = _target_template(meta)
    results = []
    for name, fmt in zip(names, FORMATS, strict=True):
        print(f"    1m  {name} ...", file=sys.stderr)
        source = _input_file(fmt, rows)
        db = WORK_DIR / f"import-{fmt}.duckdb"

        def fresh_copy(db: Path = db) -> None:
            copy_file(template, db)

        env = {"SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": meta["user"], "TZ": "UTC"}
        command = Command([*product_argv(), "import", "tokens", str(source)], env, prepare=fresh_copy)
        reader = "read_json" if fmt == "jsonl" else "read_csv"
        floor = Command([sys.executable, "-c", _FLOOR_SCRIPT, str(db), str(source), reader], prepare=fresh_copy)
        try:
            timed, timed_floor = compare(command, floor, runs)
        except CommandFailed as error:
            results.append(Result(name, "1m", None, None, TARGET, "FAILED", str(error)[:200]))
            continue
        results.append(_judged(name, rows, timed, timed_floor))
    return results


def _judged(name: str, rows: int, timed: Samples, floor: Samples | None) -> Result:
    rate = rows / timed.median
    ok = rate >= TARGET_ROWS_PER_SECOND and timed.peak < TARGET_PEAK_BYTES
    verdict = "ok" if ok else "MISSED"
    if rows < TARGET_ROWS:  # --quick: start-up weighs on 100,000 rows; the target is for a million
        verdict = "reported"
    floor_rate = f", floor {rows / floor.median:,.0f}" if floor else ""
    return Result(name, "1m", timed, floor, TARGET, verdict, f"{rate:,.0f} rows/s{floor_rate}")


def _input_file(fmt: str, rows: int) -> Path:
    """Token records of the 1m database as the import command reads them, made once."""
    path = generate.DATA_DIR / f"import-tokens-{rows}.{fmt}"
    if path.exists():
        return path
    import duckdb

    options = "FORMAT json" if fmt == "jsonl" else "FORMAT csv, HEADER true"
    building = path.with_name(path.name + ".building")
    con = duckdb.connect()
    try:
        con.execute(generate.attach_sql(generate.data_path("1m"), "src"))
        # COPY takes no parameters for its target; the path is ours, under benchmarks/data.
        con.execute(_EXPORT_SQL.format(rows=int(rows), path=str(building).replace("'", "''"), options=options))
    finally:
        con.close()
    building.replace(path)
    return path


def _target_template(meta: dict) -> Path:
    """A database holding the 1m sessions (all the benchmark user's) and stories, but no token records."""
    path = generate.DATA_DIR / "import-target-1m.duckdb"
    if path.exists() and path.stat().st_mtime >= generate.data_path("1m").stat().st_mtime:
        return path
    from sessionstats.store import open_store

    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    with open_store(building, write=True) as store:
        store.execute(generate.attach_sql(generate.data_path("1m"), "src"))
        store.execute("INSERT INTO sessions SELECT * REPLACE ($user AS user_id) FROM src.sessions",
                      {"user": meta["user"]})
        store.execute("INSERT INTO story_history SELECT * REPLACE ($user AS user_id) FROM src.story_history",
                      {"user": meta["user"]})
        store.execute("DETACH src")
    building.with_name(building.name + ".lock").unlink(missing_ok=True)
    building.replace(path)
    return path
