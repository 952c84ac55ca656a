"""Import Codex CLI's rollout logs: a session per Codex session, a token record per model call.

A rollout is `{timestamp, type, payload}` lines; the first `session_meta` names the session (and its parent,
on a fork or a subagent), `turn_context` lines name the model, and `event_msg` lines of type `token_count`
carry `info.last_token_usage` (this call) and `info.total_token_usage` (the session's running total).
Codex writes a second `token_count` per call that repeats the last `info` (with the rate limits), and a fork
starts with a copy of its parent's history, totals included, which then keep running. So a call is known by
its running total within its lineage (the oldest session the file names): a repeat or a copy has the same
key as the original and is stored once, under the session that logged it first.
`cached_input_tokens` is part of `input_tokens` and `reasoning_output_tokens` part of `output_tokens`.
A token_count without `last_token_usage` counts what the running total grew by since the one before.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.ingest.agent_files import find_files
from sessionstats.ingest.agent_import import (
    MAX_LINE_BYTES,
    Coverage,
    SourceSummary,
    existing_dirs,
    files_changing,
    note_unfinished,
)
from sessionstats.ingest.json_lines import (
    count_kinds,
    drop_lines,
    json_count,
    json_text,
    new_events_table,
    python_text,
    stage_new_lines,
    store_staged,
    utc_time,
)
from sessionstats.ingest.log_files import Slice, expanded, under_home
from sessionstats.ingest.log_values import parse_object, token_count
from sessionstats.ingest.writing import StepReporter
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list

SOURCE = "codex"
FALLBACK_MODEL = "gpt-5"  # builds of September 2025 logged no model; ccusage prices those calls as gpt-5 too
_LINE_TYPES = ("session_meta", "turn_context", "event_msg", "response_item", "compacted")
_USAGE_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")
# The fields the import uses (a response_item's payload, the whole reply, is never copied out), and the counts
# of `info` as text (`texts`: a string's value, a number's digits, for json_count to judge).
_FIELDS = {"timestamp": "$.timestamp", "type": "$.type", "payload_type": "$.payload.type", "meta_id": "$.payload.id",
           "cwd": "$.payload.cwd", "model": "$.payload.model", "forked_from": "$.payload.forked_from_id",
           "spawned_by": "$.payload.source.subagent.thread_spawn.parent_thread_id",
           "info_model": "$.payload.info.model"}
_COUNTS = {f"{usage}_{number}": f"$.payload.info.{usage}_token_usage.{name}"
           for usage in ("last", "total") for number, name in enumerate(_USAGE_FIELDS, 1)}


def codex_homes(given: Sequence[str]) -> list[Path]:
    """The Codex homes given, else $CODEX_HOME, else ~/.codex (those that exist)."""
    named = os.environ.get("CODEX_HOME", "").strip()
    return existing_dirs(given, [expanded(named)] if named else under_home(".codex"), "a Codex home, holding sessions/")


def find_rollouts(homes: Sequence[Path]) -> list[Path]:
    """Every rollout under <home>/sessions/YYYY/MM/DD/ and <home>/archived_sessions/."""
    found: list[Path] = []
    for home in homes:
        found += find_files(home, "sessions/**/rollout-*.jsonl", SOURCE)
        found += find_files(home, "archived_sessions/rollout-*.jsonl", SOURCE)
    return list(dict.fromkeys(found))  # a home given twice, or linked into another, shows a file at two places


@dataclass
class _Rollout:
    """What is known of one rollout while reading it: its session, ancestors, place and current model."""

    session_id: str | None = None
    root: str | None = None
    named_parent: str | None = None
    cwd: str | None = None
    model: str | None = None
    running: list[int] | None = None  # the last running total seen, for logs without last_token_usage

    @property
    def lineage(self) -> str | None:
        """The oldest session the file names: its first session_meta without a parent, else the last parent named."""
        return self.root or self.named_parent or self.session_id


def import_codex(store: Store, homes: Sequence[str], *, user: str,
                 on_step: StepReporter | None = None) -> SourceSummary:
    """Import what was added to the Codex rollouts under `homes` (default: $CODEX_HOME or ~/.codex)."""
    step = on_step or (lambda _: None)
    step("finding logs")
    with files_changing(SOURCE):
        parts, coverage = stage_new_lines(store, find_rollouts(codex_homes(homes)), _FIELDS, _OBJECTS, user=user,
                                          source=SOURCE, step=step, texts=_COUNTS)
        _stage_context(store, parts)
    _classify(store, coverage)
    new_events_table(store)
    store.execute(f"""INSERT INTO agent_events BY NAME
                      SELECT session AS session_id, cwd AS session_name, request_id,
                             coalesce(nullif(info_model, ''), nullif(model, ''), '{FALLBACK_MODEL}') AS model,
                             {utc_time("timestamp")} AS created_at, counts[1] - least(counts[2], counts[1])
                               AS input_tokens, least(counts[2], counts[1]) AS cache_read_tokens,
                             counts[3] AS output_tokens, line AS seq
                      FROM ({_EVENTS})""")
    fallbacks = store.fetchone(f"SELECT count(DISTINCT request_id) FROM ({_EVENTS}) "
                               "WHERE coalesce(nullif(info_model, ''), nullif(model, '')) IS NULL")[0]  # type: ignore[index]
    store.execute("DROP TABLE codex_lines")
    if fallbacks:
        coverage.notes.append(f"{fallbacks:,} calls logged no model (Codex builds of September 2025) and are "
                              f"priced as {FALLBACK_MODEL}")
    note_unfinished(coverage, parts)
    return store_staged(store, user=user, source=SOURCE, coverage=coverage, step=step, parts=parts)


def _stage_context(store: Store, parts: Sequence[Slice]) -> None:
    """`codex_context`: for each part read from its middle, what the lines before it set (session, model...)."""
    known = {number: _context_before(part) for number, part in enumerate(parts) if part.end > part.start > 0}
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE codex_context AS
            SELECT {unnest_list("files", "BIGINT")} AS file, {unnest_list("sessions", "VARCHAR")} AS session_id,
                   {unnest_list("roots", "VARCHAR")} AS root, {unnest_list("parents", "VARCHAR")} AS parent,
                   {unnest_list("cwds", "VARCHAR")} AS cwd, {unnest_list("models", "VARCHAR")} AS model,
                   {unnest_list("running", "BIGINT[]")} AS running""",
        {"files": json_list(known), "sessions": json_list(r.session_id for r in known.values()),
         "roots": json_list(r.root for r in known.values()),
         "parents": json_list(r.named_parent for r in known.values()),
         "cwds": json_list(r.cwd for r in known.values()), "models": json_list(r.model for r in known.values()),
         "running": json_list(r.running for r in known.values())})


def _classify(store: Store, coverage: Coverage) -> None:
    """Count malformed and unrecognised lines; make `codex_lines` of the token_counts (_EVENTS: those with usage)."""
    kinds = store.fetchall(f"""SELECT CASE WHEN kind IS NULL THEN NULL WHEN kind IN {_LINE_TYPES} THEN ''
                                          ELSE left(kind, 40) END AS kind, count(*), min(line)
                              FROM (SELECT {json_text("type")} AS kind, line FROM agent_lines) GROUP BY 1""")
    _stage_counts(store)
    bad, unknown, first_unknown, events = store.fetchone(  # type: ignore[misc]
        """SELECT count(*) FILTER (WHERE totals_bad OR last_bad),
                  count(*) FILTER (WHERE NOT last_object AND NOT total_object),
                  min(line) FILTER (WHERE NOT last_object AND NOT total_object), count(*) FILTER (WHERE billed)
           FROM codex_lines WHERE counted""")
    if unknown:
        kinds.append(("token_count without token usage", unknown, first_unknown))
    count_kinds(coverage, kinds)
    coverage.malformed += bad
    coverage.events += events


def _stage_counts(store: Store) -> None:
    """`codex_lines`: each token_count with its counts, its problems and the context in force at it.

    The context is what the Python reader carried from line to line: the first session_meta's id and cwd,
    the first one without a parent (the root), the last parent named, the last turn_context's model, and
    the running total of the token_count before. It changes on a few lines only, so it is worked out on
    those and each token_count takes the latest before it (an ASOF join, not a window over every line).
    """
    store.execute(f"CREATE OR REPLACE TEMP TABLE codex_usage AS {_USAGE}")
    drop_lines(store)
    store.execute("""CREATE OR REPLACE TEMP TABLE codex_state AS
        SELECT file, line, first_value(nullif(meta_id, '') IGNORE NULLS) OVER w AS first_session,
               first_value(meta_cwd IGNORE NULLS) OVER w AS first_cwd,
               first_value(CASE WHEN meta_parent IS NULL THEN meta_id END IGNORE NULLS) OVER w AS first_root,
               last_value(meta_parent IGNORE NULLS) OVER w AS last_parent,
               last_value(turn_model IGNORE NULLS) OVER w AS last_model
        FROM codex_usage WHERE meta_id IS NOT NULL OR turn_model IS NOT NULL
        WINDOW w AS (PARTITION BY file ORDER BY line)""")
    last = ", ".join(f"coalesce(counts_given[{k}], 0)" for k in range(1, 6))
    grown = ", ".join(f"greatest(totals[{k}] - coalesce(running[{k}], 0), 0)" for k in range(1, 6))
    store.execute(f"""CREATE OR REPLACE TEMP TABLE codex_lines AS
        SELECT *, NOT totals_bad AND NOT last_bad AND counts IS NOT NULL AND list_max(counts[1:4]) > 0 AS billed
        FROM (SELECT *, CASE WHEN last_object THEN [{last}] WHEN totals IS NOT NULL THEN [{grown}] END AS counts
              FROM (SELECT u.*, nullif(coalesce(nullif(c.session_id, ''), s.first_session), '') AS session_id,
                           coalesce(c.cwd, s.first_cwd) AS cwd, coalesce(c.root, s.first_root) AS root,
                           coalesce(s.last_parent, c.parent) AS parent, coalesce(s.last_model, c.model) AS model,
                           coalesce(r.running, c.running) AS running
                    FROM (SELECT * FROM codex_usage WHERE counted) u
                    ASOF LEFT JOIN codex_state s ON u.file = s.file AND u.line >= s.line
                    LEFT JOIN ({_RUNNING}) r ON r.file = u.file AND r.line = u.line
                    LEFT JOIN codex_context c ON c.file = u.file))""")
    for table in ("codex_usage", "codex_state", "codex_context"):
        store.execute(f"DROP TABLE {table}")


# The token_counts with usage, each with its call's key (read twice, not made a table: 0.17 CPU s per 100k calls).
_EVENTS = f"""SELECT *, 'codex:' || coalesce(nullif(root, ''), nullif(parent, ''), session_id, session) || ':'
                        || CASE WHEN totals IS NOT NULL THEN array_to_string(totals, ',')
                                ELSE {python_text("timestamp")} || ':[' || array_to_string(counts, ', ') || ']'
                           END AS request_id
              FROM (SELECT l.*, coalesce(l.session_id, parse_filename(f.path, true)) AS session
                    FROM codex_lines l JOIN agent_files f USING (file))
              WHERE counted AND billed"""
# The running total before a token_count that logged only its own (they need it: the call is what it grew by).
_RUNNING = """SELECT n.file, n.line, t.totals AS running
    FROM (SELECT file, line FROM codex_usage WHERE counted AND NOT last_object AND totals IS NOT NULL) n
    ASOF LEFT JOIN (SELECT file, line, totals FROM codex_usage WHERE totals IS NOT NULL) t
      ON n.file = t.file AND n.line > t.line"""
# Only the lines that can set the context or count; a response_item is neither. A token_count counts when its
# `info` is not null; its `last_token_usage` or `total_token_usage` when it gives any of their counts.
_CONTEXT = f"""
    SELECT file, line, timestamp, info_model, {", ".join(_COUNTS)}, meta_id,
           CASE WHEN meta_id IS NOT NULL THEN {json_text("cwd")} END AS meta_cwd,
           CASE WHEN meta_id IS NOT NULL THEN coalesce({json_text("forked_from")}, {json_text("spawned_by")}) END
             AS meta_parent,
           CASE WHEN kind = 'turn_context' THEN {json_text("model")} END AS turn_model,
           coalesce(kind = 'event_msg' AND {json_text("payload_type")} = 'token_count' AND j.payload.info IS NOT NULL,
                    false) AS counted
    FROM (SELECT * REPLACE (CASE WHEN kind = 'session_meta' THEN {json_text("meta_id")} END AS meta_id)
          FROM (SELECT *, {json_text("type")} AS kind FROM agent_lines))
    WHERE meta_id IS NOT NULL OR kind = 'turn_context' OR kind = 'event_msg'"""
# The objects whose fields make a call: a key named twice in one makes the line malformed.
_OBJECTS = (("$", "$.payload", "$.payload.info", "$.payload.info.last_token_usage", "$.payload.info.total_token_usage"),
            '"token_count"')
_GIVEN = "list_transform([{}], x -> coalesce(" + json_count("x") + ", 0))"
_LAST, _TOTAL = ([name for name in _COUNTS if name.startswith(usage)] for usage in ("last", "total"))
_USAGE = f"""SELECT * EXCLUDE ({", ".join(_COUNTS)}, totals_given),
                    counted AND last_object AND list_min(counts_given) < 0 AS last_bad,
                    counted AND total_object AND list_min(totals_given) < 0 AS totals_bad,
                    CASE WHEN counted AND total_object AND list_min(totals_given) >= 0 THEN totals_given END AS totals
             FROM (SELECT * REPLACE ({json_text("info_model")} AS info_model),
                          counted AND coalesce({" OR ".join(f"{name} IS NOT NULL" for name in _LAST)}, false)
                            AS last_object,
                          counted AND coalesce({" OR ".join(f"{name} IS NOT NULL" for name in _TOTAL)}, false)
                            AS total_object,
                          {_GIVEN.format(", ".join(_LAST))} AS counts_given,
                          {_GIVEN.format(", ".join(_TOTAL))} AS totals_given
                   FROM ({_CONTEXT}))"""


def _context_before(part: Slice) -> _Rollout:
    """The session, lineage and model in force where the new bytes start (from the lines before them)."""
    rollout = _Rollout()
    read, last_count = 0, None
    with part.log.path.open("rb") as log:
        while read < part.start and (raw := log.readline(min(MAX_LINE_BYTES, part.start - read))):
            read += len(raw)
            if b'"session_meta"' in raw or b'"turn_context"' in raw:
                line = parse_object(raw)
                if line is not None:
                    _note_context(line, rollout)
            elif b'"token_count"' in raw:
                last_count = raw
    info = _payload(parse_object(last_count) or {}).get("info")
    with contextlib.suppress(InvalidInput):  # a bad one was counted malformed when it was read
        rollout.running = _totals(info) if isinstance(info, dict) else None
    return rollout


def _payload(line: dict[str, Any]) -> dict[str, Any]:
    payload = line.get("payload")
    return payload if isinstance(payload, dict) else {}


def _note_context(line: dict[str, Any], rollout: _Rollout) -> None:
    """A session_meta sets the session (the file's first) and the ancestry; a turn_context sets the model.

    A fork's copy of its parent's history starts with the parent's own session_meta, so the first one
    without a parent is the root of the lineage.
    """
    payload = _payload(line)
    if line.get("type") == "turn_context" and isinstance(payload.get("model"), str):
        rollout.model = payload["model"]
    if line.get("type") != "session_meta" or not isinstance(payload.get("id"), str):
        return
    rollout.session_id = rollout.session_id or payload["id"]
    if rollout.cwd is None and isinstance(payload.get("cwd"), str):
        rollout.cwd = payload["cwd"]
    parent = _parent(payload)
    if parent is not None:
        rollout.named_parent = parent
    elif rollout.root is None:
        rollout.root = payload["id"]


def _parent(payload: dict[str, Any]) -> str | None:
    """The session a fork or a subagent came from (forked_from_id, or source.subagent.thread_spawn)."""
    if isinstance(payload.get("forked_from_id"), str):
        return payload["forked_from_id"]
    spawn = ((payload.get("source") or {}) if isinstance(payload.get("source"), dict) else {}).get("subagent")
    spawn = spawn.get("thread_spawn") if isinstance(spawn, dict) else None
    parent = spawn.get("parent_thread_id") if isinstance(spawn, dict) else None
    return parent if isinstance(parent, str) else None


def _totals(info: dict[str, Any]) -> list[int] | None:
    """The session's running total after a call (`total_token_usage`), if logged."""
    running = info.get("total_token_usage")
    return [token_count(running, name) for name in _USAGE_FIELDS] if isinstance(running, dict) else None
