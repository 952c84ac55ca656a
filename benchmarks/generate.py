"""Write a realistic sessionstats database of a given size, set-based, and cache it under benchmarks/data/.

    python benchmarks/generate.py 10k|1m|10m [--force]

Shape (all deterministic: every random choice is a hash of the row's numbers):
- session sizes follow Zipf (s = 1) over shuffled ranks: at 10m, one session holds ~830,000 token
  records, the median one ~16; stories are spread in the same proportions (one per ~10 calls);
- each session runs from a random start, one API call every 4-16 s, so the big ones last weeks and
  the small ones minutes; timestamps cover 180 days; rows are inserted in time order, so sessions
  interleave as they do when a team records them live, and each run of 250,000 token records is
  sorted by session as sessionstats itself does (`_record_in_time_order`);
- ids are UUIDv7 text built from each row's own timestamp, as `sessionstats.ids.new_id` makes them;
- one user (`bench`) owns ~92% of the sessions, seven others the rest;
- six models (one unpriced), cache reads on ~55% of calls and writes on ~15%, exact DECIMAL costs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "benchmarks" / "data"
WORK_DIR = DATA_DIR / "work"  # copies that measures may write to, removed after each run
MAIN_USER = "bench"
START = datetime(2026, 3, 1)
SPAN_DAYS = 180


@dataclass(frozen=True)
class Size:
    token_records: int
    stories: int
    sessions: int


SIZES = {
    "10k": Size(10_000, 1_000, 100),
    "1m": Size(1_000_000, 100_000, 10_000),
    "10m": Size(10_000_000, 1_000_000, 100_000),
}

# model, share of sessions using it most, and USD per token (input, output, cache read, cache write); None: unpriced.
MODELS = [
    ("claude-sonnet-4-5", 0.45, ("0.000003", "0.000015", "0.0000003", "0.00000375")),
    ("claude-haiku-4-5", 0.25, ("0.000001", "0.000005", "0.0000001", "0.00000125")),
    ("claude-opus-4-1", 0.10, ("0.000015", "0.000075", "0.0000015", "0.00001875")),
    ("gpt-4o", 0.10, ("0.0000025", "0.00001", "0.00000125", "0")),
    ("gpt-4o-mini", 0.07, ("0.00000015", "0.0000006", "0.000000075", "0")),
    ("local-llama-3", 0.03, None),
]

_NARRATION = (
    "the harbour light fell across quiet water while gulls circled above old boats and a cold wind "
    "carried voices from the market where traders called out prices for fish bread and lamp oil "
    "nobody noticed the stranger who walked slowly along the pier with a lantern and a folded map "
    "until the bell rang twice and every window in the street turned toward the sea at dawn"
)
WORDS = _NARRATION.split()


def data_path(size: str) -> Path:
    return DATA_DIR / f"sessionstats-{size}.duckdb"


def meta_path(size: str) -> Path:
    return DATA_DIR / f"sessionstats-{size}.json"


def ensure(size: str, *, force: bool = False, log=print) -> dict:
    """The cached database for `size` (generated first when missing); returns its metadata."""
    if not force and data_path(size).exists() and meta_path(size).exists():
        return json.loads(meta_path(size).read_text())
    return generate(size, log=log)


def generate(size: str, *, log=print) -> dict:
    """Build the database in a temporary file, then move it into place with its metadata."""
    spec = SIZES[size]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    final = data_path(size)
    building = final.with_name(final.name + ".building")
    for leftover in (building, building.with_name(building.name + ".wal"), building.with_name(building.name + ".lock")):
        leftover.unlink(missing_ok=True)
    log(f"generating {size}: {spec.token_records:,} token records, {spec.stories:,} stories, "
        f"{spec.sessions:,} sessions ...")
    started = time.perf_counter()
    from sessionstats.store import open_store

    with open_store(building, write=True) as store:
        con = store.con
        con.execute("SET memory_limit = '4GB'")  # the sort of 10m rows spills rather than crowd the machine
        con.execute("SET enable_progress_bar = false")
        _create_helpers(con)
        _plan_sessions(con, spec)
        for table, statement in (("sessions", _SESSIONS_SQL), ("gen_stories", _STORIES_SQL),
                                 ("gen_tokens", _TOKENS_SQL)):
            step = time.perf_counter()
            con.execute(statement, _params(statement))
            log(f"  {table}: {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()
        windows = _record_in_time_order(store)
        log(f"  stories and token records in {windows} windows, sorted as recorded: {time.perf_counter() - step:.1f} s")
        con.execute("CHECKPOINT")
        meta = _describe(con, size, spec)
    building.with_name(building.name + ".lock").unlink(missing_ok=True)
    building.replace(final)
    meta["generate_seconds"] = round(time.perf_counter() - started, 1)
    meta["file_bytes"] = final.stat().st_size
    meta_path(size).write_text(json.dumps(meta, indent=2) + "\n")
    log(f"  done in {meta['generate_seconds']} s: {final} ({meta['file_bytes'] / 2**20:,.0f} MiB)")
    return meta


def attach_sql(path: Path, alias: str) -> str:
    """ATTACH takes no parameters: the path (one of ours, under benchmarks/data) goes in as a quoted literal."""
    return f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)"


def _params(statement: str) -> dict:
    """Only the named parameters the statement uses (DuckDB refuses extra ones)."""
    shuffled = WORDS * 12
    random.Random(7).shuffle(shuffled)
    available = {"words": shuffled}
    return {name: value for name, value in available.items() if f"${name}" in statement}


def _create_helpers(con) -> None:
    # unit(a, b, salt): a uniform double in [0, 1) that depends only on its arguments.
    con.execute("CREATE TEMP MACRO unit(a, b, salt) AS (hash(a, b, salt) >> 11) / 9007199254740992.0")
    # UUIDv7 text: 48-bit Unix milliseconds, version 7, RFC 4122 variant, the rest from two hashes.
    con.execute("""
        CREATE TEMP MACRO uuid7_text(ms, r1, r2) AS printf(
            '%08x-%04x-7%03x-%04x-%012x', ms >> 16, ms & 65535, r1 & 4095,
            ((r1 >> 12) & 16383) | 32768, r2 & 281474976710655)
    """)
    con.execute("CREATE TEMP TABLE gen_models (model_no INTEGER, model TEXT, "
                "p_in DECIMAL(38, 18), p_out DECIMAL(38, 18), p_cr DECIMAL(38, 18), p_cw DECIMAL(38, 18))")
    for number, (model, _share, prices) in enumerate(MODELS):
        con.execute("INSERT INTO gen_models VALUES (?, ?, ?, ?, ?, ?)", [number, model, *(prices or (None,) * 4)])
    # pick_model(x): the model number whose share of [0, 1) holds x (shares are constants above).
    bounds, share_end = [], 0.0
    for number, (_model, share, _prices) in enumerate(MODELS[:-1]):
        share_end += share
        bounds.append(f"WHEN x < {share_end:.4f} THEN {number}")
    con.execute(f"CREATE TEMP MACRO pick_model(x) AS CASE {' '.join(bounds)} ELSE {len(MODELS) - 1} END")


def _plan_sessions(con, spec: Size) -> None:
    """One row per session: its owner, size (Zipf over shuffled ranks), start, pace and main model."""
    con.execute("""
        CREATE TEMP TABLE gen_sessions AS
        WITH ranked AS (
            SELECT i AS session_no, row_number() OVER (ORDER BY hash(i, 'rank')) AS zipf_rank
            FROM range($sessions) t(i)
        ),
        weighted AS (
            SELECT *, sum(1.0 / zipf_rank) OVER (ORDER BY session_no) / sum(1.0 / zipf_rank) OVER () AS cum_share
            FROM ranked
        ),
        counted AS (
            SELECT *, round($tokens * cum_share)::BIGINT AS tok_end, round($stories * cum_share)::BIGINT AS sto_end
            FROM weighted
        ),
        sized AS (
            SELECT session_no, zipf_rank,
                   tok_end - lag(tok_end, 1, 0) OVER (ORDER BY session_no) AS n_tok,
                   sto_end - lag(sto_end, 1, 0) OVER (ORDER BY session_no) AS n_sto
            FROM counted
        ),
        paced AS (
            SELECT *, least(4 + 12 * unit(session_no, 0, 'gap'), 0.9 * $span_s / greatest(n_tok, 1)) AS gap_s
            FROM sized
        )
        SELECT session_no, zipf_rank, n_tok, n_sto, gap_s,
               CASE WHEN zipf_rank = 1 OR unit(session_no, 0, 'user') < 0.92 THEN $main_user
                    ELSE 'user' || (1 + hash(session_no, 'who') % 7) END AS user_id,
               greatest(least(unit(session_no, 0, 'start') * $span_s, $span_s - n_tok * gap_s - 120), 0)
                   AS start_offset_s,
               pick_model(unit(session_no, 0, 'model')) AS main_model,
               unit(session_no, 0, 'state') AS state_draw
        FROM paced
    """, {"sessions": spec.sessions, "tokens": spec.token_records, "stories": spec.stories,
          "span_s": SPAN_DAYS * 86400, "main_user": MAIN_USER})
    con.execute("""
        CREATE TEMP TABLE gen_times AS
        SELECT *, $start::TIMESTAMP + to_microseconds((start_offset_s * 1e6)::BIGINT) AS created_at,
               ($start::TIMESTAMP + to_microseconds(((start_offset_s + 5 + (n_tok + 1) * gap_s) * 1e6)::BIGINT))
                   AS last_activity
        FROM gen_sessions
    """, {"start": START})
    con.execute("""
        CREATE TEMP TABLE gen_plan AS
        SELECT *, uuid7_text(epoch_ms(created_at), hash(session_no, 's1'), hash(session_no, 's2')) AS session_id
        FROM gen_times
    """)


_SESSIONS_SQL = """
INSERT INTO sessions (user_id, id, name, settings, status, created_at, started_at, ended_at)
SELECT user_id, session_id, 'Broadcast ' || (session_no + 1),
       '{"voice": "' || ['alloy', 'verse', 'sage'][1 + (hash(session_no, 'voice') % 3)::INTEGER] || '", "speed": 1.0}',
       CASE WHEN state_draw < 0.03 THEN 'idle'
            WHEN last_activity > TIMESTAMP '2026-08-27' THEN 'live' ELSE 'ended' END,
       created_at,
       CASE WHEN state_draw < 0.03 THEN NULL ELSE created_at + INTERVAL 2 SECOND END,
       CASE WHEN state_draw >= 0.03 AND last_activity <= TIMESTAMP '2026-08-27'
            THEN last_activity + INTERVAL 30 SECOND END
FROM gen_plan
ORDER BY created_at
"""

# Story j of a session comes right after its share of the session's API calls.
_STORY_TIME = "created_at + to_microseconds(((5 + (j + 1) * n_tok / n_sto * gap_s) * 1e6)::BIGINT)"

_STORIES_SQL = f"""
CREATE TEMP TABLE gen_stories AS
WITH stories AS (
    SELECT session_no, session_id, user_id, j, {_STORY_TIME} AS story_at,
           (40 + 360 * unit(session_no, j, 'words'))::INTEGER AS words,
           unit(session_no, j, 'text') < 0.7 AS has_text, (hash(session_no, j, 'w') % 400)::INTEGER AS word_from
    FROM (SELECT *, unnest(range(n_sto)) AS j FROM gen_plan WHERE n_sto > 0)
)
SELECT uuid7_text(epoch_ms(story_at), hash(session_no, j, 'si1'), hash(session_no, j, 'si2')) AS id,
       user_id, session_id,
       ['Harbour at dawn', 'Market noise', 'The stranger', 'Two bells', 'Lamp oil'][
           1 + (hash(session_no, j, 't') % 5)::INTEGER] || ' #' || (j + 1) AS title,
       CASE WHEN has_text THEN array_to_string(
           $words[1 + word_from : word_from + words], ' ') END AS narrative,
       ['calm', 'urgent', 'playful', 'somber', 'neutral'][1 + (hash(session_no, j, 'tone') % 5)::INTEGER] AS tone,
       ['high', 'normal', 'normal', 'low'][1 + (hash(session_no, j, 'prio') % 4)::INTEGER] AS priority,
       words AS word_count,
       CASE WHEN unit(session_no, j, 'dur') < 0.8 THEN round(words / 2.5 * (0.8 + 0.4 * unit(session_no, j, 'd')), 1)
       END AS duration,
       story_at AS created_at
FROM stories
ORDER BY story_at
"""

_TOKENS_SQL = f"""
CREATE TEMP TABLE gen_tokens AS
WITH calls AS (
    SELECT p.*, k,
           created_at + to_microseconds(((5 + (k + 0.8 * unit(session_no, k, 'jit')) * gap_s) * 1e6)::BIGINT)
               AS call_at,
           CASE WHEN n_sto > 0 AND unit(session_no, k, 'linked') < 0.9
                THEN least(floor(k * n_sto / n_tok), n_sto - 1)::BIGINT END AS j,
           CASE WHEN unit(session_no, k, 'other') < 0.85 THEN main_model
                ELSE pick_model(unit(session_no, k, 'model')) END AS model_no,
           floor(exp(ln(50) + ln(100) * unit(session_no, k, 'in')))::BIGINT AS input_tokens,
           floor(exp(ln(20) + ln(100) * unit(session_no, k, 'out')))::BIGINT AS output_tokens,
           CASE WHEN unit(session_no, k, 'cr?') < 0.55
                THEN floor(exp(ln(1000) + ln(40) * unit(session_no, k, 'cr')))::BIGINT ELSE 0 END AS cache_read,
           CASE WHEN unit(session_no, k, 'cw?') < 0.15
                THEN floor(exp(ln(500) + ln(20) * unit(session_no, k, 'cw')))::BIGINT ELSE 0 END AS cache_write
    FROM (SELECT *, unnest(range(n_tok)) AS k FROM gen_plan) p
)
SELECT uuid7_text(epoch_ms(call_at), hash(session_no, k, 'ti1'), hash(session_no, k, 'ti2')) AS id,
       user_id, session_id,
       CASE WHEN j IS NOT NULL THEN uuid7_text(epoch_ms({_STORY_TIME}), hash(session_no, j, 'si1'),
                                               hash(session_no, j, 'si2')) END AS story_id,
       m.model, input_tokens, output_tokens, cache_read AS cache_read_tokens, cache_write AS cache_write_tokens,
       input_tokens + output_tokens + cache_read + cache_write AS total_tokens,
       input_tokens * m.p_in + output_tokens * m.p_out + cache_read * m.p_cr + cache_write * m.p_cw AS estimated_cost,
       CASE WHEN m.p_in IS NULL THEN 'unknown' WHEN unit(session_no, k, 'src') < 0.75 THEN 'given'
            ELSE 'estimated' END AS cost_source,
       CASE WHEN unit(session_no, k, 'req?') < 0.95
            THEN 'req_' || printf('%016x%08x', hash(session_no, k, 'r1'), hash(session_no, k, 'r2') & 4294967295)
       END AS request_id,
       call_at AS created_at
FROM calls JOIN gen_models m USING (model_no)
ORDER BY call_at
"""


def _record_in_time_order(store) -> int:
    """Insert the stories and token records as live recording would: in time order, sessions interleaved,
    the tool's own run sort after each RUN_ROWS token records. The last window holds RUN_ROWS - 1, so
    the file ends with the longest unsorted tail a user can meet. Returns how many windows were inserted."""
    from sessionstats.store.runs import RUN_ROWS, sort_new_rows

    con = store.con
    total = con.execute("SELECT count(*) FROM gen_tokens").fetchone()[0]
    con.execute("""
        CREATE TEMP TABLE gen_windows AS
        SELECT window_no, min(created_at) AS window_from
        FROM (SELECT created_at, (row_number() OVER (ORDER BY created_at, id) + $shift) // $run AS window_no
              FROM gen_tokens)
        GROUP BY window_no
    """, {"run": RUN_ROWS, "shift": (-(total - RUN_ROWS + 2)) % RUN_ROWS})
    windows = [row[0] for row in con.execute("SELECT window_from FROM gen_windows ORDER BY window_no").fetchall()]
    bounds = [*windows[1:], None]
    windows[0] = None  # the first window also takes the stories before the first token record
    for window_from, window_until in zip(windows, bounds, strict=True):
        where = "WHERE ($from IS NULL OR created_at >= $from) AND ($until IS NULL OR created_at < $until)"
        params = {"from": window_from, "until": window_until}
        con.execute(f"INSERT INTO story_history BY NAME SELECT * FROM gen_stories {where} ORDER BY created_at", params)
        con.execute(f"INSERT INTO token_usage BY NAME SELECT * FROM gen_tokens {where} ORDER BY created_at, id",
                    params)
        if window_until is not None:
            sort_new_rows(store)
    return len(windows)


def _describe(con, size: str, spec: Size) -> dict:
    """Counts, and the sessions the benchmarks report on: the main user's biggest and a typical small one."""
    counts = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("sessions", "story_history", "token_usage")}
    big = con.execute(
        "SELECT session_id, n_tok, n_sto FROM gen_plan WHERE user_id = ? ORDER BY n_tok DESC, session_id LIMIT 1",
        [MAIN_USER],
    ).fetchone()
    # A median-sized session from the first tenth of the period: later rows all overlap its id range.
    small = con.execute("""
        SELECT session_id, n_tok, n_sto FROM gen_plan
        WHERE user_id = $user AND start_offset_s < $span_s / 10
        ORDER BY abs(n_tok - (SELECT median(n_tok) FROM gen_plan)), session_id LIMIT 1
    """, {"user": MAIN_USER, "span_s": SPAN_DAYS * 86400}).fetchone()
    return {
        "size": size, "spec": asdict(spec), "counts": counts, "user": MAIN_USER,
        "big_session": {"id": big[0], "token_records": big[1], "stories": big[2]},
        "small_session": {"id": small[0], "token_records": small[1], "stories": small[2]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", choices=sorted(SIZES))
    parser.add_argument("--force", action="store_true", help="Regenerate even when cached.")
    args = parser.parse_args(argv)
    for size in args.sizes:
        meta = ensure(size, force=args.force)
        print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
