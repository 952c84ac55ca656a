"""Import Claude Code's logs: one session per Claude Code session, one token record per assistant message.

DuckDB's JSON reader reads only the fields we need, every one as text, with errors ignored: a line that is
not a JSON object comes back empty and is counted as malformed, as is a count that is not a whole number;
neither is fatal. A message logged several times while it streams is one record:
copies share (message.id, requestId) and the one with the most tokens wins, in this run and against
what earlier runs stored (a bigger copy replaces the stored one). A line without a requestId is keyed by
its message.id alone, as ccusage does; one without a message.id is never a copy.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sessionstats.history.log_files import SOURCE, Slice, config_dirs, find_logs, new_slices, remember_slices
from sessionstats.history.writing import ROW_COLUMNS, StepReporter, write_rows
from sessionstats.importing.checks import whole_count
from sessionstats.store import Store
from sessionstats.times import utc_now

# Every field as text, so a count of the wrong type is seen (and counted malformed), not silently NULL.
_COLUMNS = ("{'type': 'VARCHAR', 'requestId': 'VARCHAR', 'timestamp': 'VARCHAR', 'message': 'STRUCT(id VARCHAR, "
            "model VARCHAR, usage STRUCT(input_tokens VARCHAR, output_tokens VARCHAR, cache_creation_input_tokens "
            "VARCHAR, cache_read_input_tokens VARCHAR, cache_creation STRUCT(ephemeral_5m_input_tokens VARCHAR, "
            "ephemeral_1h_input_tokens VARCHAR)))'}")
# A line that is not JSON comes back with every column NULL; every line Claude Code writes has a type.
_LOG_LINES = f"""read_json($files, format = 'newline_delimited', columns = {_COLUMNS}, ignore_errors = true,
                 filename = true, maximum_object_size = 268435456)"""
_USAGE = "message.usage"


def _count(value: str) -> str:
    """A token count from its text: NULL when absent, -1 when present but not a count."""
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE coalesce({whole_count(value)}, -1) END"  # 12.5 is not 13


_ONE_HOUR = f"coalesce({_count(f'{_USAGE}.cache_creation.ephemeral_1h_input_tokens')}, 0)"
# All cache writes: the total, else the sum of the 5-minute / 1-hour split. Of them, the 1-hour ones are
# kept apart (priced higher); a split claiming more than the total is cut to it, as the total is what counts.
_CACHE_WRITES = f"""coalesce({_count(f"{_USAGE}.cache_creation_input_tokens")},
    CASE WHEN {_USAGE}.cache_creation IS NOT NULL THEN
      coalesce({_count(f"{_USAGE}.cache_creation.ephemeral_5m_input_tokens")}, 0) + {_ONE_HOUR} END, 0)"""


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
    store.execute("DROP TABLE IF EXISTS cc_files")
    written = write_rows(store, user=user, source=SOURCE, now=now, step=step,
                         also=lambda: remember_slices(store, user, slices, now))
    return HistoryResult(len([s for s in slices if s.end > s.start]), written.imported, written.updated,
                         duplicates + written.not_bigger, synthetic, malformed, written.sessions,
                         written.created_sessions, written.unknown_models)


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
    """Parse every usage line into `history_rows`; return (malformed lines, `<synthetic>` messages)."""
    store.execute(
        """CREATE OR REPLACE TEMP TABLE cc_files AS
           SELECT unnest($paths::VARCHAR[]) AS filename, unnest($sessions::VARCHAR[]) AS session_id,
                  unnest($projects::VARCHAR[]) AS project""",
        {"paths": list(readable), "sessions": [s.log.session_id for s in readable.values()],
         "projects": [s.log.project for s in readable.values()]},
    )
    columns = f"{ROW_COLUMNS}, filename VARCHAR, bad BOOLEAN"
    store.execute(f"CREATE OR REPLACE TEMP TABLE cc_lines ({columns})")
    if readable:
        store.execute(
            f"""INSERT INTO cc_lines
                SELECT f.session_id, f.project AS session_name,
                       CASE WHEN message.id IS NOT NULL THEN message.id || ':' || coalesce(requestId, '') END,
                       message.model, NULL, coalesce(try_cast(timestamp AS TIMESTAMPTZ) AT TIME ZONE 'UTC', $now),
                       {_count(f"{_USAGE}.input_tokens")}, {_count(f"{_USAGE}.output_tokens")},
                       {_CACHE_WRITES}, coalesce({_count(f"{_USAGE}.cache_read_input_tokens")}, 0),
                       least({_ONE_HOUR}, {_CACHE_WRITES}), l.filename, type IS NULL
                FROM {_LOG_LINES} l
                JOIN cc_files f USING (filename)
                WHERE {_USAGE} IS NOT NULL OR type IS NULL""",
            {"files": list(readable), "now": now},
        )
    usable = ("NOT bad AND model IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL")
    counts = store.fetchone(
        f"""SELECT count(*) FILTER (WHERE bad OR ({usable} AND least(input_tokens, output_tokens,
                                     cache_write_tokens, cache_read_tokens, cache_write_1h_tokens) < 0)),
                   count(*) FILTER (WHERE {usable} AND model = '<synthetic>')
            FROM cc_lines""")
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE history_rows AS SELECT * EXCLUDE (bad) FROM cc_lines
            WHERE {usable} AND model <> '<synthetic>'
              AND least(input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,
                        cache_write_1h_tokens) >= 0""")
    store.execute("DROP TABLE cc_lines")
    return int(counts[0]), int(counts[1])  # type: ignore[index]


_TOTAL = "(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens)"


def _keep_biggest_copies(store: Store) -> int:
    """Of the copies of one message read in this run keep the one with the most tokens (then the earliest)."""
    before = store.fetchone("SELECT count(*) FROM history_rows")[0]  # type: ignore[index]
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE history_rows AS SELECT * FROM history_rows
            QUALIFY request_id IS NULL OR row_number() OVER (
                PARTITION BY request_id ORDER BY {_TOTAL} DESC, created_at, filename) = 1""")
    after = store.fetchone("SELECT count(*) FROM history_rows")[0]  # type: ignore[index]
    return int(before - after)
