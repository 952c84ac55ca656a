"""Import Claude Code's logs: one session per Claude Code session, one token record per assistant message.

DuckDB splits the new lines as it does the agents' logs (json_lines.scan_lines), then parses each line on its
own into only the fields we need, every one as text: a line that is not a JSON object (one cut short by a crash
included) is one malformed line, as is a count that is not a whole number; neither is fatal. (DuckDB's JSON
reader read a line cut after a colon on into the next one and lost both.)
A message logged several times while it streams is one record: copies share (message.id, requestId) and the
one with the most tokens wins, in this run and against what earlier runs stored (a bigger copy replaces the
stored one). A line without a requestId is keyed by its message.id alone, as ccusage does; one without a
message.id is never a copy. The same message.id replayed under a new requestId (a sidechain such as `/btw`)
is the same API response and counts once. Fast mode (`usage.speed`), the service tier, web searches
(`usage.server_tool_use`) and a stated `costUSD` are read too, and priced or kept as the provider bills them
(bulk_pricing, history/writing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sessionstats.ingest.agent_import import files_changing
from sessionstats.ingest.json_lines import json_count, label_refused, model_refused, scan_lines, unique_keys, utc_text
from sessionstats.ingest.log_files import SOURCE, Slice, config_dirs, find_logs, new_slices, remember_slices
from sessionstats.ingest.writing import ROW_COLUMNS, StepReporter, write_rows
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list
from sessionstats.times import utc_now
from sessionstats.validate import CONTROL_CHARACTERS, EDGE_SPACES, MAX_ID_LENGTH

# Every field as text, so a count of the wrong type is seen (and counted malformed), not silently NULL; a
# field of another shape (a string where an object belongs) is NULL, as DuckDB's JSON reader made it.
_ITERATION = {"type": "VARCHAR", "model": "VARCHAR", "input_tokens": "VARCHAR", "output_tokens": "VARCHAR",
              "cache_creation_input_tokens": "VARCHAR", "cache_read_input_tokens": "VARCHAR"}
_USAGE_SHAPE = {"input_tokens": "VARCHAR", "output_tokens": "VARCHAR", "cache_creation_input_tokens": "VARCHAR",
                "cache_read_input_tokens": "VARCHAR",
                "cache_creation": {"ephemeral_5m_input_tokens": "VARCHAR", "ephemeral_1h_input_tokens": "VARCHAR"},
                "service_tier": "VARCHAR", "speed": "VARCHAR", "server_tool_use": {"web_search_requests": "VARCHAR"},
                "iterations": [_ITERATION]}
_LINE_SHAPE = json.dumps({"type": "VARCHAR", "requestId": "VARCHAR", "timestamp": "VARCHAR", "costUSD": "VARCHAR",
                          "message": {"id": "VARCHAR", "model": "VARCHAR", "usage": _USAGE_SHAPE}})
_ITERATIONS_TYPE = f"STRUCT({', '.join(f'{name} VARCHAR' for name in _ITERATION)})[]"
# A line that is not a JSON object, or names a key twice in the objects read, comes back with every field NULL;
# every line Claude Code writes has a type.
_KEYS_ONCE = unique_keys("text", ("$", "$.message", "$.message.usage"), '"usage"')
_FIELDS = f"unnest(try(from_json(CASE WHEN {_KEYS_ONCE} THEN text END, '{_LINE_SHAPE}')))"
_USAGE = "message.usage"


# Claude Code's own costUSD (older versions log it): the cost it states, kept as `reported`; a value that is
# not a dollar amount is left out, and the line is priced as usual.
_REPORTED_COST = """CASE WHEN try_cast(costUSD AS DECIMAL(38, 18)) BETWEEN 0 AND 999999999
                         THEN try_cast(costUSD AS DECIMAL(38, 18)) END"""
_ONE_HOUR = f"coalesce({json_count(f'{_USAGE}.cache_creation.ephemeral_1h_input_tokens')}, 0)"
# All cache writes: the total, else the sum of the 5-minute / 1-hour split. Of them, the 1-hour ones are
# kept apart (priced higher); a split claiming more than the total is cut to it, as the total is what counts.
_CACHE_WRITES = f"""coalesce({json_count(f"{_USAGE}.cache_creation_input_tokens")},
    CASE WHEN {_USAGE}.cache_creation IS NOT NULL THEN
      coalesce({json_count(f"{_USAGE}.cache_creation.ephemeral_5m_input_tokens")}, 0) + {_ONE_HOUR} END, 0)"""


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
    untimed: int = 0  # records whose line gave no time that could be read: stored at the import's time
    unpriced: dict[str, int] = field(default_factory=dict)  # Written.unpriced


def import_claude_code(store: Store, dirs: Sequence[str], *, user: str,
                       on_step: StepReporter | None = None) -> HistoryResult:
    """Import what was added to the Claude Code logs under `dirs` (or the default dirs) since the last run."""
    step = on_step or (lambda _: None)
    now = utc_now()
    step("finding logs")
    slices = new_slices(store, user, find_logs(config_dirs(dirs)))
    step("reading")
    with files_changing(SOURCE):
        malformed, synthetic, usable = _stage_lines(store, slices, now)
    duplicates = _keep_biggest_copies(store, usable) + _drop_replays_stored(store, user)
    written = write_rows(store, user=user, source=SOURCE, now=now, step=step, skip_too_dear=True,
                         also=lambda: remember_slices(store, user, slices, now))
    return HistoryResult(len([s for s in slices if s.end > s.start]), written.imported, written.updated,
                         duplicates + written.not_bigger, synthetic, malformed + written.too_dear, written.sessions,
                         written.created_sessions, written.unknown_models, written.untimed,
                         written.unpriced)


def _stage_lines(store: Store, slices: Sequence[Slice], now: object) -> tuple[int, int, int]:
    """Parse every usage line into `cc_lines`; return (malformed lines, `<synthetic>` messages, usable rows)."""
    unreadable = scan_lines(store, slices, "cc_scan", _FIELDS)
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE cc_files AS
           SELECT {unnest_list("paths", "VARCHAR")} AS path, {unnest_list("sessions", "VARCHAR")} AS session_id,
                  {unnest_list("projects", "VARCHAR")} AS project""",
        {"paths": json_list(str(s.log.path) for s in slices), "sessions": json_list(s.log.session_id for s in slices),
         "projects": json_list(s.log.project for s in slices)},
    )
    columns = f"{ROW_COLUMNS}, filename VARCHAR, bad BOOLEAN, message_id VARCHAR, iterations {_ITERATIONS_TYPE}"
    store.execute(f"CREATE OR REPLACE TEMP TABLE cc_lines ({columns})")
    store.execute(
        f"""INSERT INTO cc_lines BY NAME
            SELECT c.session_id, c.project AS session_name,
                   {_request_key("message.id", "raw_request_id")} AS request_id,
                   message.model AS model, coalesce(line_time, $now) AS created_at, line_time IS NOT NULL AS timed,
                   {json_count(f"{_USAGE}.input_tokens")} AS input_tokens,
                   {json_count(f"{_USAGE}.output_tokens")} AS output_tokens,
                   {_CACHE_WRITES} AS cache_write_tokens,
                   coalesce({json_count(f"{_USAGE}.cache_read_input_tokens")}, 0) AS cache_read_tokens,
                   least({_ONE_HOUR}, {_CACHE_WRITES}) AS cache_write_1h_tokens,
                   {_USAGE}.service_tier AS service_tier, {_USAGE}.speed AS speed,
                   coalesce({json_count(f"{_USAGE}.server_tool_use.web_search_requests")}, 0) AS tool_calls,
                   {_REPORTED_COST} AS reported_cost, f.path AS filename,
                   type IS NULL OR {_ids_refused("message.model", "raw_request_id", "c.session_id")}
                     OR {label_refused(f"{_USAGE}.service_tier")} OR {label_refused(f"{_USAGE}.speed")} AS bad,
                   message.id AS message_id, {_USAGE}.iterations AS iterations
            FROM (SELECT *, {_REQUEST_ID} AS raw_request_id, {utc_text("timestamp")} AS line_time FROM cc_scan
                  WHERE {_USAGE} IS NOT NULL OR type IS NULL)  -- each once a row: each is used two or three times
            JOIN agent_files f USING (filename) JOIN cc_files c USING (path)""",
        {"now": now},
    )
    store.execute("DROP TABLE cc_scan")
    store.execute("DROP TABLE cc_files")
    _add_iterations(store)
    counts = store.fetchone(
        f"""SELECT count(*) FILTER (WHERE bad OR ({_USABLE} AND least(input_tokens, output_tokens,
                                     cache_write_tokens, cache_read_tokens, cache_write_1h_tokens, tool_calls) < 0)),
                   count(*) FILTER (WHERE {_USABLE} AND model = '<synthetic>'), count(*) FILTER (WHERE {_STORED})
            FROM cc_lines""")
    return unreadable + int(counts[0]), int(counts[1]), int(counts[2])  # type: ignore[index]


def _add_iterations(store: Store) -> None:
    """A line's advisor or compaction iterations (`usage.iterations` other than type `message`, which the
    top-level usage covers) as rows of their own model under the line's request id, call_part 1, 2..."""
    store.execute(
        f"""INSERT INTO cc_lines BY NAME
            SELECT session_id, session_name, request_id, coalesce(it.model, model) AS model, created_at,
                   {json_count("it.input_tokens")} AS input_tokens, {json_count("it.output_tokens")} AS output_tokens,
                   coalesce({json_count("it.cache_creation_input_tokens")}, 0) AS cache_write_tokens,
                   coalesce({json_count("it.cache_read_input_tokens")}, 0) AS cache_read_tokens,
                   service_tier, speed, filename, {model_refused("coalesce(it.model, model)")} AS bad,
                   message_id, call_part, timed
            FROM (SELECT * EXCLUDE (call_part), unnest(extra) AS it, generate_subscripts(extra, 1) AS call_part
                  FROM (SELECT *, list_filter(iterations, lambda i: coalesce(i.type, 'message') <> 'message') AS extra
                        FROM cc_lines WHERE iterations IS NOT NULL AND NOT bad))""")


_TOTAL = "(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens)"
_LONGEST_KEPT_MESSAGE_ID = MAX_ID_LENGTH - len(":sha256:") - 64  # it and the hash of the whole fit an id


def _message_key(message_id: str) -> str:
    """SQL: how a message id leads its calls' stored request ids, as is or, when too long for that, hashed."""
    return (f"CASE WHEN length({message_id}) <= {_LONGEST_KEPT_MESSAGE_ID} THEN {message_id} "
            f"ELSE 'sha256-' || sha256({message_id}) END")


def _request_key(message_id: str, raw: str) -> str:
    """SQL: `message.id:requestId` as stored; one longer than an id may be is the message's key, ':sha256:' and
    the whole's SHA-256, so a replay under another requestId is still found by its message id (_replayed)."""
    return (f"CASE WHEN length({raw}) > {MAX_ID_LENGTH} THEN ({_message_key(message_id)}) || ':sha256:' "
            f"|| sha256({raw}) ELSE {raw} END")


def _replayed(stored: str, message_id: str) -> str:
    """SQL: the stored request id is a call of this message (whichever way _request_key wrote it)."""
    return (f"(starts_with({stored}, {message_id} || ':') "
            f"OR starts_with({stored}, ({_message_key(message_id)}) || ':sha256:'))")
_REQUEST_ID = "CASE WHEN message.id IS NOT NULL THEN message.id || ':' || coalesce(requestId, '') END"


def _ids_refused(model: str, request_id: str, session_id: str) -> str:
    """SQL: the store's id rules as the agents' readers apply them (json_lines): a session (the log's file
    name), model or request id the store would refuse makes the line malformed, not the import."""
    return f"""({model_refused(model)} OR regexp_matches(coalesce({request_id}, ''), '{CONTROL_CHARACTERS}')
                OR regexp_matches({session_id}, '{CONTROL_CHARACTERS}')
                OR length(regexp_replace({session_id}, '{EDGE_SPACES}', '', 'g')) NOT BETWEEN 1 AND {MAX_ID_LENGTH})"""


_USABLE = "NOT bad AND model IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL"
_STORED = f"""{_USABLE} AND model <> '<synthetic>' AND least(input_tokens, output_tokens, cache_write_tokens,
                                                       cache_read_tokens, cache_write_1h_tokens, tool_calls) >= 0"""


def _keep_biggest_copies(store: Store, usable: int) -> int:
    """Of the copies of one message read in this run keep the one with the most tokens (then the earliest).

    A message is one API response: a copy under another requestId (a sidechain replay such as `/btw`'s
    agent-aside_question log, isSidechain true) is the same response, so copies are grouped by message.id.
    Made of the `usable` rows of `cc_lines` in the same statement (a table of them first cost 0.08 CPU s).
    """
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE history_rows AS SELECT * EXCLUDE (bad, iterations) FROM cc_lines
            WHERE {_STORED}
            QUALIFY request_id IS NULL OR row_number() OVER (
                PARTITION BY message_id, call_part ORDER BY {_TOTAL} DESC, created_at, filename) = 1""")
    store.execute("DROP TABLE cc_lines")
    after = store.fetchone("SELECT count(*) FROM history_rows")[0]  # type: ignore[index]
    return int(usable - after)


def _drop_replays_stored(store: Store, user: str) -> int:
    """Drop this run's copies of a message an earlier run stored in the same session under another requestId."""
    replays = store.fetchone(
        f"""SELECT count(*) FROM history_rows h WHERE EXISTS (
                SELECT 1 FROM token_usage t WHERE t.user_id = $user AND t.session_id = h.session_id
                  AND t.request_id <> h.request_id AND {_replayed("t.request_id", "h.message_id")})""",
        {"user": user})[0]  # type: ignore[index]
    store.execute(
        f"""DELETE FROM history_rows WHERE request_id IN (
                SELECT h.request_id FROM history_rows h JOIN token_usage t ON t.user_id = $user
                  AND t.session_id = h.session_id AND t.request_id <> h.request_id
                  AND {_replayed("t.request_id", "h.message_id")})""",
        {"user": user})
    store.execute("ALTER TABLE history_rows DROP COLUMN message_id")
    return int(replays)
