"""Every history source `import --all` looks for, each as a function of the one importer shape.

Claude Code's and llm's imports predate the shared shape; the two adapters here turn their results
into `SourceSummary`s (a source missing from its default place is a summary with no files found).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.ingest.agent_import import Coverage, Source, SourceSummary
from sessionstats.ingest.claude_code import import_claude_code
from sessionstats.ingest.codex import codex_homes, find_rollouts, import_codex
from sessionstats.ingest.gemini_cli import find_recordings, gemini_roots, import_gemini
from sessionstats.ingest.llm_logs import default_logs_path, import_llm
from sessionstats.ingest.log_files import config_dirs, expanded, find_logs
from sessionstats.ingest.opencode import data_dirs, find_databases, find_legacy_copies, import_opencode
from sessionstats.ingest.qwen_code import find_chats, import_qwen, qwen_dirs
from sessionstats.ingest.writing import StepReporter, Written
from sessionstats.store import Store


def claude_code_summary(store: Store, dirs: Sequence[str], *, user: str,
                        on_step: StepReporter | None = None) -> SourceSummary:
    """`import claude-code` as a SourceSummary (no logs at the default places: nothing found)."""
    try:
        result = import_claude_code(store, dirs, user=user, on_step=on_step)
    except InvalidInput:
        if dirs:
            raise
        return nothing_found("claude-code")
    seen = Coverage(files_found=result.files, files_read=result.files, malformed=result.malformed,
                    events=result.imported + result.updated + result.duplicates + result.synthetic)
    written = Written(result.imported, result.updated, 0, result.sessions, result.created_sessions,
                      result.unknown_models)
    return SourceSummary("claude-code", seen, written, result.duplicates)


def llm_summary(store: Store, paths: Sequence[str], *, user: str,
                on_step: StepReporter | None = None) -> SourceSummary:
    """`import llm` as a SourceSummary (no logs.db where llm keeps it: nothing found)."""
    path = expanded(paths[0]) if paths else _llm_default()
    if path is None or not path.is_file():
        return nothing_found("llm")
    result = import_llm(store, path, user=user, on_step=on_step)
    seen = Coverage(files_found=1, files_read=1, events=result.responses)
    return SourceSummary("llm", seen, result.written, result.skipped)


DETECTED_SOURCES: dict[str, Source] = {
    "claude-code": claude_code_summary, "llm": llm_summary, "codex": import_codex, "gemini": import_gemini,
    "opencode": import_opencode, "qwen": import_qwen,
}


def _claude_code_files(dirs: Sequence[str]) -> list[Path]:
    try:
        return [log.path for log in find_logs(config_dirs(dirs))]
    except InvalidInput:
        if dirs:
            raise
        return []  # none at the default places


def _opencode_files(dirs: Sequence[str]) -> list[Path]:
    folders = data_dirs(dirs)
    return [*find_databases(folders), *find_legacy_copies(folders)]


def _llm_files(paths: Sequence[str]) -> list[Path]:
    path = expanded(paths[0]) if paths else _llm_default()
    return [path] if path is not None and path.is_file() else []


def _llm_default() -> Path | None:
    """llm's logs.db, or None where there is no home to find it under."""
    try:
        return default_logs_path()
    except InvalidInput:
        return None


# What each source's import would read at the places given (its default places when none), found without the
# database: an import that finds nothing makes no database. A place given that is not there raises as the import.
HISTORY_FILES: dict[str, Callable[[Sequence[str]], list[Path]]] = {
    "claude-code": _claude_code_files, "llm": _llm_files, "codex": lambda homes: find_rollouts(codex_homes(homes)),
    "gemini": lambda roots: find_recordings(gemini_roots(roots)), "opencode": _opencode_files,
    "qwen": lambda dirs: find_chats(qwen_dirs(dirs)),
}


def nothing_found(source: str) -> SourceSummary:
    """The summary of an import that found no files."""
    return SourceSummary(source, Coverage(), Written(0, 0, 0, 0, 0), 0)
