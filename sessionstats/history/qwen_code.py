"""Import Qwen Code's chats: a session per Qwen session, a token record per assistant reply.

Qwen Code writes ${QWEN_DATA_DIR:-~/.qwen}/projects/<project>/chats/<session>.jsonl, one ChatRecord a line:
{uuid, parentUuid, sessionId, timestamp, type (user, assistant, tool_result, system), cwd, model,
usageMetadata}. usageMetadata is Gemini's: cachedContentTokenCount is part of promptTokenCount,
thoughtsTokenCount (billed as output) and toolUsePromptTokenCount (billed as input) come on top.
/branch copies records into a new session keeping their uuid (and naming the source in `forkedFrom`):
a reply is known by its uuid, so it counts once, under the session that logged it first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.history.agent_files import find_files
from sessionstats.history.agent_import import (
    Coverage,
    SourceSummary,
    UsageEvent,
    existing_dirs,
    note_unfinished,
    parse_object,
    read_lines,
    store_events,
    unread_parts,
    utc_time,
)
from sessionstats.history.gemini_cli import gemini_tokens
from sessionstats.history.writing import StepReporter
from sessionstats.store import Store

SOURCE = "qwen"
_RECORD_TYPES = frozenset({"user", "assistant", "tool_result", "system"})
_USAGE_NAMES = ("promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount", "thoughtsTokenCount",
                "toolUsePromptTokenCount")


def qwen_dirs(given: Sequence[str]) -> list[Path]:
    """The Qwen data dirs given, else $QWEN_DATA_DIR, else ~/.qwen."""
    default = os.environ.get("QWEN_DATA_DIR", "").strip() or str(Path.home() / ".qwen")
    return existing_dirs(given, [Path(default).expanduser()], "Qwen Code's data dir, holding projects/")


def find_chats(dirs: Sequence[Path]) -> list[Path]:
    return list(dict.fromkeys(chat for folder in dirs for chat in find_files(folder, "projects/*/chats/*.jsonl",
                                                                              SOURCE)))


def import_qwen(store: Store, dirs: Sequence[str], *, user: str,
                on_step: StepReporter | None = None) -> SourceSummary:
    """Import what was added to Qwen Code's chats since the last run."""
    step = on_step or (lambda _: None)
    step("finding logs")
    files = find_chats(qwen_dirs(dirs))
    parts = unread_parts(store, user, SOURCE, files)
    coverage = Coverage(files_found=len(files))
    originals: list[UsageEvent] = []
    copies: list[UsageEvent] = []
    step("reading")
    for part in parts:
        if part.end <= part.start:
            continue
        coverage.files_read += 1
        for raw in read_lines(part, coverage):
            _read_record(raw, part.log.path, coverage, originals, copies)
    note_unfinished(coverage, parts)
    # Originals first: of a reply and its /branch copy, the original's session keeps it.
    return store_events(store, originals + copies, user=user, source=SOURCE, coverage=coverage, step=step,
                        parts=parts)


def _read_record(raw: bytes, path: Path, coverage: Coverage, originals: list[UsageEvent],
                 copies: list[UsageEvent]) -> None:
    record = parse_object(raw)
    if record is None or not isinstance(record.get("type"), str):
        coverage.malformed += 1
        return
    if record["type"] not in _RECORD_TYPES:
        coverage.unrecognised[record["type"][:40]] += 1
        return
    usage = record.get("usageMetadata")
    if record["type"] != "assistant" or not isinstance(usage, dict):
        return
    try:
        event = _event(record, usage, path)
    except InvalidInput:
        coverage.malformed += 1
        return
    if event is not None:
        coverage.events += 1
        (copies if record.get("forkedFrom") else originals).append(event)


def _event(record: dict[str, Any], usage: dict[str, Any], path: Path) -> UsageEvent | None:
    uncached, cached, output = gemini_tokens(usage, _USAGE_NAMES)
    if not (uncached or cached or output):
        return None
    session = record.get("sessionId") if isinstance(record.get("sessionId"), str) else path.stem
    reply = record.get("uuid") if isinstance(record.get("uuid"), str) else f"{session}:{record.get('timestamp')}"
    model = record.get("model") if isinstance(record.get("model"), str) else None
    cwd = record.get("cwd") if isinstance(record.get("cwd"), str) else path.parent.parent.name
    return UsageEvent(session, cwd, f"qwen:{reply}", model, utc_time(record.get("timestamp")), uncached, output,
                      cache_read_tokens=cached)
