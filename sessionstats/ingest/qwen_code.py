"""Import Qwen Code's chats: a session per Qwen session, a token record per assistant reply.

Qwen Code writes <$QWEN_RUNTIME_DIR, $QWEN_HOME or ~/.qwen>/projects/<project>/chats/<session>.jsonl (ccusage
reads $QWEN_DATA_DIR: honoured too), one ChatRecord a line:
{uuid, parentUuid, sessionId, timestamp, type (user, assistant, tool_result, system), cwd, model,
usageMetadata}. usageMetadata is Gemini's: cachedContentTokenCount is part of promptTokenCount,
toolUsePromptTokenCount (billed as input) comes on top. thoughtsTokenCount (billed as output) comes on top of
candidatesTokenCount from Gemini's API, but is part of it from the OpenAI-compatible APIs Qwen Code mostly uses
(its converter copies completion_tokens, which holds reasoning_tokens): totalTokenCount says which.
/branch copies records into a new session keeping their uuid (and naming the source in `forkedFrom`):
a reply is known by its uuid, so it counts once, under the session that logged it first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sessionstats.ingest.agent_files import find_files
from sessionstats.ingest.agent_import import Coverage, SourceSummary, existing_dirs, files_changing, note_unfinished
from sessionstats.ingest.gemini_cli import gemini_tokens_sql
from sessionstats.ingest.json_lines import (
    count_kinds,
    drop_lines,
    json_text,
    new_events_table,
    python_text,
    stage_new_lines,
    store_staged,
    utc_time,
)
from sessionstats.ingest.log_files import expanded, under_home
from sessionstats.ingest.writing import StepReporter
from sessionstats.store import Store

SOURCE = "qwen"
_RECORD_TYPES = ("user", "assistant", "tool_result", "system")
_USAGE_NAMES = ("promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount", "thoughtsTokenCount",
                "toolUsePromptTokenCount", "totalTokenCount")
_FIELDS = {name: f"$.{name}" for name in ("type", "uuid", "sessionId", "timestamp", "cwd", "model", "usageMetadata",
                                          "forkedFrom")}
# The objects whose fields make a reply: a key named twice in one makes the line malformed.
_OBJECTS = (("$", "$.usageMetadata"), '"usageMetadata"')
_COPY = 1 << 40  # a /branch copy is met after every original
_BILLED = "uncached_input::HUGEINT + cache_read + output > 0"  # HUGEINT: each fits, the sum may not


# Where Qwen Code writes its chats (its Storage.getRuntimeBaseDir: $QWEN_RUNTIME_DIR, else $QWEN_HOME, else
# ~/.qwen), then ccusage's variable for the same folder.
_DIR_VARIABLES = ("QWEN_RUNTIME_DIR", "QWEN_HOME", "QWEN_DATA_DIR")


def qwen_dirs(given: Sequence[str]) -> list[Path]:
    """The Qwen data dirs given, else $QWEN_RUNTIME_DIR, $QWEN_HOME or $QWEN_DATA_DIR (the first set), else ~/.qwen."""
    named = (os.environ.get(name, "").strip() for name in _DIR_VARIABLES)
    chosen = next((value for value in named if value), None)
    return existing_dirs(given, [expanded(chosen)] if chosen else under_home(".qwen"),
                         "Qwen Code's data dir, holding projects/")


def find_chats(dirs: Sequence[Path]) -> list[Path]:
    return list(dict.fromkeys(chat for folder in dirs for chat in find_files(folder, "projects/*/chats/*.jsonl",
                                                                              SOURCE)))


def import_qwen(store: Store, dirs: Sequence[str], *, user: str,
                on_step: StepReporter | None = None) -> SourceSummary:
    """Import what was added to Qwen Code's chats since the last run."""
    step = on_step or (lambda _: None)
    step("finding logs")
    with files_changing(SOURCE):
        parts, coverage = stage_new_lines(store, find_chats(qwen_dirs(dirs)), _FIELDS, _OBJECTS, user=user,
                                          source=SOURCE, step=step)
    _classify(store, coverage)
    new_events_table(store)
    note_unfinished(coverage, parts)
    # Originals first: of a reply and its /branch copy, the original's session keeps it.
    store.execute(f"""INSERT INTO agent_events BY NAME
                      SELECT session_id, coalesce({json_text("cwd")}, regexp_extract(path, '([^/]*)/[^/]*/[^/]*$', 1))
                               AS session_name,
                             'qwen:' || coalesce({json_text("uuid")}, session_id || ':' || {python_text("timestamp")})
                               AS request_id,
                             {json_text("model")} AS model, {utc_time("timestamp")} AS created_at,
                             uncached_input AS input_tokens, output AS output_tokens, cache_read AS cache_read_tokens,
                             line + CASE WHEN {_truthy("forkedFrom")} THEN {_COPY} ELSE 0 END AS seq
                      FROM qwen_lines WHERE NOT bad AND {_BILLED}""")
    store.execute("DROP TABLE qwen_lines")
    return store_staged(store, user=user, source=SOURCE, coverage=coverage, step=step, parts=parts)


def _classify(store: Store, coverage: Coverage) -> None:
    """Count the malformed and unrecognised lines; keep assistant lines with usage as `qwen_lines`."""
    count_kinds(coverage, store.fetchall(
        f"""SELECT CASE WHEN kind IS NULL THEN NULL WHEN kind IN {_RECORD_TYPES} THEN '' ELSE left(kind, 40) END,
                   count(*), min(line)
            FROM (SELECT {json_text("type")} AS kind, line FROM agent_lines) GROUP BY 1"""))
    store.execute(f"""CREATE OR REPLACE TEMP TABLE qwen_lines AS
                      SELECT *, coalesce({json_text("sessionId")}, parse_filename(path, true)) AS session_id,
                             {gemini_tokens_sql("usageMetadata", _USAGE_NAMES)}
                      FROM agent_lines
                      WHERE {json_text("type")} = 'assistant' AND json_type(usageMetadata) = 'OBJECT'""")
    drop_lines(store)
    bad, events = store.fetchone(  # type: ignore[misc]
        f"SELECT count(*) FILTER (WHERE bad), count(*) FILTER (WHERE NOT bad AND {_BILLED}) FROM qwen_lines")
    coverage.malformed += bad
    coverage.events += events


def _truthy(value: str) -> str:
    """Whether a JSON column's value is true to Python (not null, false, 0, or empty)."""
    return f"""coalesce({value}::VARCHAR NOT IN ('null', 'false', '0', '0.0', '""', '[]', '{{}}'), false)"""
