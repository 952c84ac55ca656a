"""Import Claude Code's logs: one session per Claude Code session, one token record per assistant message.

Lines are read by DuckDB as raw text (one column, no quoting) and parsed with its JSON functions, so a
malformed line is counted, not fatal. A message logged several times while it streams is one record:
copies share (message.id, requestId) and the one with the most tokens wins, in this run and against
what earlier runs stored (a bigger copy replaces the stored one).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sessionstats.bulk_pricing import ESTIMATED_COST, RATES_JOIN, load_rates
from sessionstats.history.log_files import Slice, config_dirs, find_logs, new_slices, remember_slices
from sessionstats.store import Store
from sessionstats.times import utc_now

StepReporter = Callable[[str], None]
_FIELDS = ("$.message.id", "$.requestId", "$.message.model", "$.timestamp", "$.message.usage.input_tokens",
           "$.message.usage.output_tokens", "$.message.usage.cache_creation_input_tokens",
           "$.message.usage.cache_read_input_tokens", "$.message.usage.cache_creation.ephemeral_5m_input_tokens",
           "$.message.usage.cache_creation.ephemeral_1h_input_tokens")
_PATHS = "[" + ", ".join(f"'{p}'" for p in _FIELDS) + "]"
_RAW_LINES = """read_csv($files, columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '',
                escape = '', auto_detect = false, filename = true, new_line = '\\n', strict_mode = false,
                max_line_size = 268435456)"""


def _count(index: int) -> str:
    """A token count from the extracted values: NULL when absent, -1 when present but not a count."""
    value = f"v[{index}]"
    return (f"CASE WHEN {value} IS NULL THEN NULL WHEN try_cast({value} AS BIGINT) >= 0 "
            f"THEN try_cast({value} AS BIGINT) ELSE -1 END")


@dataclass(frozen=True)
class HistoryResult:
    """What a history import did; `updated` records were replaced by a bigger copy of the same message."""

    files: int
    imported: int
    updated: int
    duplicates: int
    synthetic: int
    malformed: int
    sessions: int
    created_sessions: int
    unknown_models: dict[str, int] = field(default_factory=dict)


def import_claude_code(store: Store, dirs: Sequence[str], *, user: str,
                       on_step: StepReporter | None = None) -> HistoryResult:
    """Import what was added to the Claude Code logs under `dirs` (or the default dirs) since the last run."""
    step = on_step or (lambda _: None)
    now = utc_now()
    step("finding logs")
    slices = new_slices(store, user, find_logs(config_dirs(dirs)))
    with tempfile.TemporaryDirectory(prefix="sessionstats-claude-") as scratch:
        readable = _readable_files(slices, Path(scratch))
        step("reading")
        malformed, synthetic = _stage_lines(store, readable, now)
    duplicates = _keep_biggest_copies(store)
    step("pricing")
    unknown = load_rates(store, "SELECT * FROM cc_rows")
    store.execute(f"CREATE OR REPLACE TEMP TABLE cc_priced AS SELECT r.*, {ESTIMATED_COST} AS cost, "
                  "pr.model IS NOT NULL AS priced FROM cc_rows r " + RATES_JOIN)
    with store.transaction():
        step("writing")
        created = _create_sessions(store, user, now)
        updated, stale = _update_smaller_copies(store, user)
        imported, sessions = _insert_new(store, user)
        remember_slices(store, user, slices, now)
    for table in ("cc_files", "cc_rows", "cc_priced"):
        store.execute(f"DROP TABLE IF EXISTS {table}")
    return HistoryResult(len([s for s in slices if s.end > s.start]), imported, updated, duplicates + stale,
                         synthetic, malformed, sessions, created, unknown)


def _readable_files(slices: Sequence[Slice], scratch: Path) -> dict[str, Slice]:
    """A path DuckDB can read for each slice: the log itself when read whole, else a copy of the new bytes."""
    readable = {}
    for number, piece in enumerate(slices):
        if piece.end <= piece.start:
            continue
        if piece.start == 0 and piece.end == piece.size:
            readable[str(piece.log.path)] = piece
            continue
        copy = scratch / f"{number}.jsonl"
        with piece.log.path.open("rb") as log, copy.open("wb") as out:
            log.seek(piece.start)
            remaining = piece.end - piece.start
            while remaining > 0:
                chunk = log.read(min(1 << 20, remaining))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
        readable[str(copy)] = piece
    return readable


def _stage_lines(store: Store, readable: dict[str, Slice], now: object) -> tuple[int, int]:
    """Parse every usage line into `cc_rows`; return (malformed lines, `<synthetic>` messages)."""
    store.execute(
        """CREATE OR REPLACE TEMP TABLE cc_files AS
           SELECT unnest($paths::VARCHAR[]) AS filename, unnest($sessions::VARCHAR[]) AS session_id,
                  unnest($projects::VARCHAR[]) AS project""",
        {"paths": list(readable), "sessions": [s.log.session_id for s in readable.values()],
         "projects": [s.log.project for s in readable.values()]},
    )
    columns = """session_id VARCHAR, project VARCHAR, request_id VARCHAR, model VARCHAR, provider VARCHAR,
                 created_at TIMESTAMP, input_tokens BIGINT, output_tokens BIGINT, cache_write_tokens BIGINT,
                 cache_read_tokens BIGINT, filename VARCHAR, line_number BIGINT, bad BOOLEAN"""
    store.execute(f"CREATE OR REPLACE TEMP TABLE cc_lines ({columns})")
    if readable:
        store.execute(
            f"""INSERT INTO cc_lines
                SELECT f.session_id, f.project,
                       CASE WHEN v[1] IS NOT NULL AND v[2] IS NOT NULL THEN v[1] || ':' || v[2] END,
                       v[3], NULL, coalesce(try_cast(v[4] AS TIMESTAMPTZ) AT TIME ZONE 'UTC', $now),
                       {_count(5)}, {_count(6)},
                       coalesce({_count(7)}, CASE WHEN v[9] IS NOT NULL OR v[10] IS NOT NULL
                                THEN coalesce({_count(9)}, 0) + coalesce({_count(10)}, 0) END, 0),
                       coalesce({_count(8)}, 0), l.filename, l.line_number, v IS NULL
                FROM (SELECT filename, row_number() OVER () AS line_number,
                             CASE WHEN json_valid(line) THEN json_extract_string(line, {_PATHS}) END AS v
                      FROM {_RAW_LINES}
                      WHERE contains(line, '"usage"') OR NOT json_valid(line)) l
                JOIN cc_files f USING (filename)""",
            {"files": list(readable), "now": now},
        )
    usable = ("NOT bad AND model IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL")
    counts = store.fetchone(
        f"""SELECT count(*) FILTER (WHERE bad OR ({usable} AND least(input_tokens, output_tokens,
                                     cache_write_tokens, cache_read_tokens) < 0)),
                   count(*) FILTER (WHERE {usable} AND model = '<synthetic>')
            FROM cc_lines""")
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE cc_rows AS SELECT * EXCLUDE (bad) FROM cc_lines
            WHERE {usable} AND model <> '<synthetic>'
              AND least(input_tokens, output_tokens, cache_write_tokens, cache_read_tokens) >= 0""")
    store.execute("DROP TABLE cc_lines")
    return int(counts[0]), int(counts[1])  # type: ignore[index]


_TOTAL = "(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens)"
_NEW_TOTAL = "(k.input_tokens + k.output_tokens + k.cache_write_tokens + k.cache_read_tokens)"


def _keep_biggest_copies(store: Store) -> int:
    """Of the copies of one message read in this run keep the one with the most tokens (then the earliest)."""
    before = store.fetchone("SELECT count(*) FROM cc_rows")[0]  # type: ignore[index]
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE cc_rows AS SELECT * FROM cc_rows
            QUALIFY request_id IS NULL OR row_number() OVER (
                PARTITION BY request_id ORDER BY {_TOTAL} DESC, created_at, filename, line_number) = 1""")
    after = store.fetchone("SELECT count(*) FROM cc_rows")[0]  # type: ignore[index]
    return int(before - after)


def _create_sessions(store: Store, user: str, now: object) -> int:
    """A session per Claude Code session not stored yet, named after its project folder."""
    cursor = store.execute(
        """INSERT INTO sessions (user_id, id, name, settings, status, created_at)
           SELECT $user, session_id, any_value(project), '{"source": "claude-code"}', 'idle',
                  least(min(created_at), $now)
           FROM cc_priced r
           WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = $user AND s.id = r.session_id)
             AND NOT EXISTS (SELECT 1 FROM token_usage t WHERE t.user_id = $user AND t.request_id = r.request_id)
           GROUP BY session_id""",
        {"user": user, "now": now},
    )
    return int(cursor.fetchone()[0])  # type: ignore[index]


def _update_smaller_copies(store: Store, user: str) -> tuple[int, int]:
    """Replace stored records by this run's bigger copy of the same message; return (updated, not bigger)."""
    store.execute(
        """CREATE OR REPLACE TEMP TABLE cc_known AS
           SELECT r.*, t.id AS stored_id, t.total_tokens AS stored_total FROM cc_priced r
           JOIN token_usage t ON t.user_id = $user AND t.request_id = r.request_id""",
        {"user": user},
    )
    updated = store.execute(
        f"""UPDATE token_usage t SET model = k.model, input_tokens = k.input_tokens,
                   output_tokens = k.output_tokens, cache_read_tokens = k.cache_read_tokens,
                   cache_write_tokens = k.cache_write_tokens, total_tokens = {_NEW_TOTAL}, estimated_cost = k.cost,
                   cost_source = CASE WHEN k.priced THEN 'estimated' ELSE 'unknown' END, created_at = k.created_at
            FROM cc_known k
            WHERE t.user_id = $user AND t.id = k.stored_id AND {_NEW_TOTAL} > k.stored_total""",
        {"user": user},
    ).fetchone()[0]  # type: ignore[index]
    known = store.fetchone("SELECT count(*) FROM cc_known")[0]  # type: ignore[index]
    store.execute("DELETE FROM cc_priced WHERE request_id IN (SELECT request_id FROM cc_known)")
    store.execute("DROP TABLE cc_known")
    return int(updated), int(known - updated)


def _insert_new(store: Store, user: str) -> tuple[int, int]:
    """Insert the messages no earlier run stored; return (records, sessions they went to)."""
    counts = store.fetchone("SELECT count(*), count(DISTINCT session_id) FROM cc_priced")
    store.execute(
        """INSERT INTO token_usage
             (id, user_id, session_id, story_id, model, provider, input_tokens, output_tokens, cache_read_tokens,
              cache_write_tokens, total_tokens, estimated_cost, cost_source, request_id, created_at)
           SELECT uuidv7()::VARCHAR, $user, session_id, NULL, model, NULL, input_tokens, output_tokens,
                  cache_read_tokens, cache_write_tokens,
                  input_tokens + output_tokens + cache_read_tokens + cache_write_tokens, cost,
                  CASE WHEN priced THEN 'estimated' ELSE 'unknown' END, request_id, created_at
           FROM cc_priced ORDER BY session_id, created_at""",
        {"user": user},
    )
    return int(counts[0]), int(counts[1])  # type: ignore[index]
