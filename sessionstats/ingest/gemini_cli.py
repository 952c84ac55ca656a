"""Import Gemini CLI's chat recordings: a session per Gemini session, a token record per model reply.

Recordings live in <home>/.gemini/tmp/<project>/chats/: `session-*.json` documents (rewritten whole, up to
April 2026) and `session-*.jsonl` logs, where a message is re-appended with the same id whenever it changes
(the last copy wins), `{"$set": ...}` updates metadata (its `messages` too) and `{"$rewindTo": id}` drops
messages from the conversation, though their calls were billed: they are kept. A subagent's log is
chats/<parent id>/<id>.jsonl. Resuming a `.json` session copies its messages into a `.jsonl` beside it:
a reply is known by (session id, message id), so the two copies are one record.
A reply's `tokens` are the API's usageMetadata: `cached` is part of `input`; `thoughts` (billed as output)
and `tool` (tool-use prompt, billed as input) come on top.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.ingest.agent_files import find_files, find_folders
from sessionstats.ingest.agent_import import (
    MAX_LINE_BYTES,
    Coverage,
    SourceSummary,
    UsageEvent,
    existing_dirs,
    files_changing,
    note_unfinished,
    unread_parts,
)
from sessionstats.ingest.gemini_lines import MESSAGE_TYPES, stage_recordings
from sessionstats.ingest.json_lines import json_count, new_events_table, store_staged
from sessionstats.ingest.log_files import Slice, expanded, under_home
from sessionstats.ingest.log_values import parse_json, token_count, utc_time
from sessionstats.ingest.writing import StepReporter
from sessionstats.store import Store

SOURCE = "gemini"
# A `.json` session is one document, parsed whole (~2.7x its size in memory); long sessions pass 64 MiB.
MAX_DOCUMENT_BYTES = 256 << 20
_HASHED = re.compile(r"[0-9a-f]{64}")


def gemini_roots(given: Sequence[str]) -> list[Path]:
    """The folders of projects given, else <$GEMINI_CLI_HOME or ~>/.gemini/tmp."""
    named = os.environ.get("GEMINI_CLI_HOME", "").strip()
    places = [expanded(named) / ".gemini" / "tmp"] if named else under_home(".gemini", "tmp")
    return existing_dirs(given, places, "Gemini CLI's .gemini/tmp, holding <project>/chats/")


def find_recordings(roots: Sequence[Path]) -> list[Path]:
    """Every session-*.json(l) under <root>/<project>/chats/, and subagent logs under chats/<parent>/."""
    found: list[Path] = []
    for root in roots:
        for chats in find_folders(root, "*/chats", SOURCE):
            found += find_files(chats, "session-*.json", SOURCE) + find_files(chats, "session-*.jsonl", SOURCE)
            found += find_files(chats, "*/*.jsonl", SOURCE)
    return list(dict.fromkeys(found))  # a symlinked folder can show one file at two places


def gemini_tokens(tokens: Mapping[str, Any], names: Sequence[str]) -> tuple[int, int, int]:
    """(uncached input, cache reads, output) from Gemini usage counts named input, output, cached, thoughts, tool,
    total.

    `cached` is part of `input`; `thoughts` are billed as output and tool-use prompt tokens as input. Gemini's API
    counts thoughts beside the output (total = input + output + thoughts + tool); an OpenAI-compatible API, as Qwen
    Code converts it, counts them inside it (total = input + output): the total says which.
    """
    prompt, output, cached, thoughts, tool, total = (token_count(tokens, name) for name in names)
    cached = min(cached, prompt)
    inside = thoughts > 0 and tokens.get(names[5]) is not None and total == prompt + output + tool
    return prompt - cached + tool, cached, output + (0 if inside else thoughts)


def gemini_tokens_sql(tokens: str, names: Sequence[str]) -> str:
    """SQL for gemini_tokens over a JSON object column: uncached_input, cache_read, output, and `bad` (a count
    that is not one makes the line malformed)."""
    given = [json_count(f"{tokens}->>{name!r}") for name in names]
    prompt, output, cached, thoughts, tool, total = (f"coalesce({count}, 0)" for count in given)
    cache_read = f"least({cached}, {prompt})"
    # HUGEINT: each count fits a BIGINT, their sum may not.
    inside = f"({thoughts} > 0 AND {given[5]} = {prompt}::HUGEINT + {output} + {tool})"
    return (f"{prompt} - {cache_read} + {tool} AS uncached_input, {cache_read} AS cache_read, "
            f"{output} + CASE WHEN {inside} THEN 0 ELSE {thoughts} END AS output, "
            f"least({prompt}, {output}, {cached}, {thoughts}, {tool}, {total}) < 0 AS bad")


_TOKEN_NAMES = ("input", "output", "cached", "thoughts", "tool", "total")


@dataclass
class _Recording:
    """One recording as read so far: its session, its name, and its replies by message id (last copy wins)."""

    session_id: str
    name: str | None
    replies: dict[str, UsageEvent]


def import_gemini(store: Store, roots: Sequence[str], *, user: str,
                  on_step: StepReporter | None = None) -> SourceSummary:
    """Import what was added to Gemini CLI's chat recordings since the last run."""
    step = on_step or (lambda _: None)
    step("finding logs")
    files = find_recordings(gemini_roots(roots))
    parts = unread_parts(store, user, SOURCE, files)
    coverage = Coverage(files_found=len(files))
    step("reading")
    documents = [(place, part) for place, part in enumerate(parts) if part.log.path.suffix == ".json"]
    logs = [(place, part) for place, part in enumerate(parts)
            if part.log.path.suffix != ".json" and part.end > part.start]
    coverage.files_read = len(documents) + len(logs)
    with files_changing(SOURCE):
        stage_recordings(store, [part for _, part in logs], [place for place, _ in logs],
                         [_start(part) for _, part in logs], gemini_tokens_sql("tokens", _TOKEN_NAMES), coverage)
        _add_documents(store, documents, coverage)
    new_events_table(store)
    store.execute("""INSERT INTO agent_events BY NAME
                     SELECT * EXCLUDE (place) REPLACE (row_number() OVER (ORDER BY place, seq) AS seq)
                     FROM gemini_events""")
    store.execute("DROP TABLE gemini_events")
    note_unfinished(coverage, [part for part in parts if part.log.path.suffix == ".jsonl"])  # .json: a document
    return store_staged(store, user=user, source=SOURCE, coverage=coverage, step=step, parts=parts)


def _start(part: Slice) -> tuple[str, str | None]:
    """The session id and name a recording's new lines start from: its file's, or what its first line says."""
    recording = _Recording(part.log.path.stem, _project_name(part.log.path), {})
    if part.start > 0:
        _read_header(part.log.path, recording)
    return recording.session_id, recording.name


def _add_documents(store: Store, documents: Sequence[tuple[int, Slice]], coverage: Coverage) -> None:
    """The replies of whole `.json` sessions, read in Python, into `gemini_events` in their places."""
    rows = []
    for place, part in documents:
        recording = _Recording(part.log.path.stem, _project_name(part.log.path), {})
        _read_document(part.log.path, recording, coverage)
        coverage.events += len(recording.replies)
        rows += [[place, number, e.session_id, e.session_name, e.request_id, e.model,
                  e.created_at.isoformat() if e.created_at else None, e.input_tokens, e.output_tokens,
                  e.cache_read_tokens] for number, e in enumerate(recording.replies.values())]
    if rows:
        columns = (("place", "BIGINT"), ("seq", "BIGINT"), ("session_id", "VARCHAR"), ("session_name", "VARCHAR"),
                   ("request_id", "VARCHAR"), ("model", "VARCHAR"), ("created_at", "TIMESTAMP"),
                   ("input_tokens", "BIGINT"), ("output_tokens", "BIGINT"), ("cache_read_tokens", "BIGINT"))
        values = ", ".join(f"(r->>'$[{i}]')::{kind} AS {name}" for i, (name, kind) in enumerate(columns))
        store.execute(f"""INSERT INTO gemini_events BY NAME
                          SELECT {values} FROM (SELECT unnest(from_json($rows, '["JSON"]')) AS r)""",
                      {"rows": json.dumps(rows)})


def _read_document(path: Path, recording: _Recording, coverage: Coverage) -> None:
    """A whole `.json` session: its metadata and every message in it."""
    with path.open("rb") as recorded:
        text = recorded.read(MAX_DOCUMENT_BYTES + 1)
    coverage.lines += 1
    if len(text) > MAX_DOCUMENT_BYTES:
        coverage.malformed += 1
        coverage.notes.append(f"{str(path)!r} is over {MAX_DOCUMENT_BYTES >> 20} MiB, more than a .json "
                              "session is read whole: its calls are not imported")
        return
    document = parse_json(text)
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        coverage.malformed += 1
        return
    _read_metadata(document, recording)
    for message in document["messages"]:
        coverage.lines += 1
        _read_message(message, recording, coverage)


def _read_header(path: Path, recording: _Recording) -> None:
    """The metadata line that opens a `.jsonl` (for new bytes read from its middle)."""
    with path.open("rb") as log:
        first = parse_json(log.readline(MAX_LINE_BYTES))
    if isinstance(first, dict) and "sessionId" in first:
        _read_metadata(first, recording)


def _read_metadata(metadata: dict[str, Any], recording: _Recording) -> None:
    if isinstance(metadata.get("sessionId"), str) and metadata["sessionId"]:
        recording.session_id = metadata["sessionId"]
    directories = metadata.get("directories")
    if isinstance(directories, list) and directories and isinstance(directories[0], str):
        recording.name = directories[0]


def _read_message(message: Any, recording: _Recording, coverage: Coverage) -> None:
    """A reply with tokens becomes (or replaces) the record of its message id."""
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        coverage.malformed += 1
        return
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:  # a list or an object is not hashable
        coverage.unrecognised[str(kind)[:40]] += 1
        return
    tokens = message.get("tokens")
    if kind != "gemini" or not isinstance(tokens, dict):
        return
    try:
        uncached, cached, output = gemini_tokens(tokens, _TOKEN_NAMES)
    except InvalidInput:
        coverage.malformed += 1
        return
    model = message.get("model") if isinstance(message.get("model"), str) else None
    recording.replies[message["id"]] = UsageEvent(
        recording.session_id, recording.name, f"gemini:{recording.session_id}:{message['id']}", model,
        utc_time(message.get("timestamp")), uncached, output, cache_read_tokens=cached)


def _project_name(path: Path) -> str | None:
    """The project folder's name (Gemini names it after the project), unless it is a bare sha256."""
    chats = next((p for p in path.parents if p.name == "chats"), None)
    project = chats.parent.name if chats is not None else None
    return None if project is None or _HASHED.fullmatch(project) else project
