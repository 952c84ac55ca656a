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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.history.agent_files import find_files
from sessionstats.history.agent_import import (
    MAX_LINE_BYTES,
    Coverage,
    SourceSummary,
    UsageEvent,
    existing_dirs,
    note_unfinished,
    parse_object,
    read_lines,
    store_events,
    token_count,
    unread_parts,
    utc_time,
)
from sessionstats.history.log_files import Slice
from sessionstats.history.writing import StepReporter
from sessionstats.store import Store

SOURCE = "codex"
FALLBACK_MODEL = "gpt-5"  # builds of September 2025 logged no model; ccusage prices those calls as gpt-5 too
_LINE_TYPES = frozenset({"session_meta", "turn_context", "event_msg", "response_item", "compacted"})
_USAGE_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


def codex_homes(given: Sequence[str]) -> list[Path]:
    """The Codex homes given, else $CODEX_HOME, else ~/.codex (those that exist)."""
    default = os.environ.get("CODEX_HOME", "").strip() or str(Path.home() / ".codex")
    return existing_dirs(given, [Path(default).expanduser()], "a Codex home, holding sessions/")


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
    fallbacks: set[str] = field(default_factory=set)

    @property
    def lineage(self) -> str | None:
        """The oldest session the file names: its first session_meta without a parent, else the last parent named."""
        return self.root or self.named_parent or self.session_id


def import_codex(store: Store, homes: Sequence[str], *, user: str,
                 on_step: StepReporter | None = None) -> SourceSummary:
    """Import what was added to the Codex rollouts under `homes` (default: $CODEX_HOME or ~/.codex)."""
    step = on_step or (lambda _: None)
    step("finding logs")
    files = find_rollouts(codex_homes(homes))
    parts = unread_parts(store, user, SOURCE, files)
    coverage = Coverage(files_found=len(files))
    events: list[UsageEvent] = []
    fallbacks: set[str] = set()
    step("reading")
    for part in parts:
        if part.end > part.start:
            coverage.files_read += 1
            rollout = _context_before(part)
            events += _read_part(part, rollout, coverage)
            fallbacks |= rollout.fallbacks
    if fallbacks:
        coverage.notes.append(f"{len(fallbacks):,} calls logged no model (Codex builds of September 2025) and are "
                              f"priced as {FALLBACK_MODEL}")
    note_unfinished(coverage, parts)
    return store_events(store, events, user=user, source=SOURCE, coverage=coverage, step=step, parts=parts)


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


def _read_part(part: Slice, rollout: _Rollout, coverage: Coverage) -> list[UsageEvent]:
    events = []
    fallback_session = part.log.path.stem
    for raw in read_lines(part, coverage):
        line = parse_object(raw)
        if line is None or not isinstance(line.get("type"), str):
            coverage.malformed += 1
            continue
        if line["type"] not in _LINE_TYPES:
            coverage.unrecognised[str(line["type"])[:40]] += 1
            continue
        _note_context(line, rollout)
        try:
            event = _usage_event(line, rollout, fallback_session, coverage)
        except InvalidInput:
            coverage.malformed += 1
            continue
        if event is not None:
            coverage.events += 1
            events.append(event)
    return events


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


def _usage_event(line: dict[str, Any], rollout: _Rollout, fallback_session: str,
                 coverage: Coverage) -> UsageEvent | None:
    """A token_count with usage as one call: input without its cached part, cache reads, output with reasoning."""
    payload = _payload(line)
    if line["type"] != "event_msg" or payload.get("type") != "token_count":
        return None
    info = payload.get("info")
    if not isinstance(info, dict):
        return None  # `info: null`: rate limits only
    last = info.get("last_token_usage")
    totals = _totals(info)
    previous, rollout.running = rollout.running, totals or rollout.running
    if isinstance(last, dict):
        counts = [token_count(last, name) for name in _USAGE_FIELDS]
    elif totals is not None:  # only the running total: the call is what it grew by
        counts = [max(now - before, 0) for now, before in zip(totals, previous or [0] * 5, strict=True)]
    else:
        coverage.unrecognised["token_count without token usage"] += 1  # a format this reader does not know
        return None
    if not any(counts[:4]):
        return None
    inp, cached, out = counts[0], min(counts[1], counts[0]), counts[2]
    session = rollout.session_id or fallback_session
    # The running total after a call is the same for its repeats and for a fork's copy of it.
    key = ",".join(map(str, totals)) if totals is not None else f"{line.get('timestamp')}:{counts}"
    request_id = f"codex:{rollout.lineage or session}:{key}"
    return UsageEvent(session, rollout.cwd, request_id, _model(info, rollout, request_id),
                      utc_time(line.get("timestamp")), inp - cached, out, cache_read_tokens=cached)


def _totals(info: dict[str, Any]) -> list[int] | None:
    """The session's running total after a call (`total_token_usage`), if logged."""
    running = info.get("total_token_usage")
    return [token_count(running, name) for name in _USAGE_FIELDS] if isinstance(running, dict) else None


def _model(info: dict[str, Any], rollout: _Rollout, request_id: str) -> str:
    if isinstance(info.get("model"), str) and info["model"]:
        return info["model"]
    if rollout.model:
        return rollout.model
    rollout.fallbacks.add(request_id)
    return FALLBACK_MODEL
