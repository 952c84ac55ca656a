"""The Python API's database-wide tasks beyond recording and reporting: imports of agents' history, repricing,
explaining a cost, finding and deleting records, the journal and the health check (each as a CLI command).

`Database` takes these methods from `DatabaseTasks`; like the rest of the API, each opens the database for
its own length only. Importers take `progress`: given the open store, it returns a context manager that yields
a callable told each step's name (the CLI draws a progress line with it).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sessionstats.errors import InvalidInput

if TYPE_CHECKING:
    from sessionstats.ingest.agent_import import SourceSummary
    from sessionstats.ingest.claude_code import HistoryResult
    from sessionstats.ingest.files import ImportFormat
    from sessionstats.ingest.llm_logs import LlmResult
    from sessionstats.ingest.responses import ResponseUsage
    from sessionstats.pricing.explain import RecordExplanation
    from sessionstats.pricing.reprice import RepriceResult
    from sessionstats.reports.doctor import Finding
    from sessionstats.sessions import RecordFound
    from sessionstats.store import PostgresTarget, Store

StepCallback = Callable[[str], None]
Progress = Callable[["Store"], AbstractContextManager[StepCallback]]


@dataclass(frozen=True)
class DatabaseReady:
    """Where the database is and the schema version its tables are at (as `init-db` says)."""

    location: str
    schema_version: int


class DatabaseTasks(ABC):
    """The `Database` methods for imports, pricing, records and the journal (see the module's docstring)."""

    target: Path | PostgresTarget
    user: str

    @abstractmethod
    def reading(self) -> AbstractContextManager[Store]:
        """The database open to read, for the length of the block."""

    @abstractmethod
    def writing(self, *, create: bool = True) -> AbstractContextManager[Store]:
        """The database open to write, for the length of the block (`create=False`: never make one)."""

    def import_claude_code(self, dirs: Sequence[str] = (), *, progress: Progress | None = None) -> HistoryResult:
        """Import Claude Code's logs under `dirs` (default: its config dirs), only what is new (as `import
        claude-code`)."""
        from sessionstats.ingest.claude_code import import_claude_code

        with self._importing(progress) as (store, step):
            return import_claude_code(store, list(dirs), user=self.user, on_step=step)

    def import_llm(self, path: str | os.PathLike[str] | None = None, *,
                   progress: Progress | None = None) -> LlmResult:
        """Import the llm tool's logs.db (default: where `llm logs path` points) (as `import llm`)."""
        from sessionstats.ingest.llm_logs import import_llm

        with self._importing(progress) as (store, step):
            return import_llm(store, Path(path).expanduser() if path else None, user=self.user, on_step=step)

    def import_codex(self, homes: Sequence[str] = (), *, progress: Progress | None = None) -> SourceSummary:
        """Import Codex's rollouts (default: $CODEX_HOME, else ~/.codex) (as `import codex`)."""
        return self._import_source("codex", homes, progress)

    def import_gemini(self, roots: Sequence[str] = (), *, progress: Progress | None = None) -> SourceSummary:
        """Import Gemini CLI's recorded chats (as `import gemini`)."""
        return self._import_source("gemini", roots, progress)

    def import_opencode(self, dirs: Sequence[str] = (), *, progress: Progress | None = None) -> SourceSummary:
        """Import OpenCode's sessions (as `import opencode`)."""
        return self._import_source("opencode", dirs, progress)

    def import_qwen(self, dirs: Sequence[str] = (), *, progress: Progress | None = None) -> SourceSummary:
        """Import Qwen Code's chats (as `import qwen`)."""
        return self._import_source("qwen", dirs, progress)

    def import_otel(self, files: Sequence[str], *, remember: bool = True,
                    progress: Progress | None = None) -> SourceSummary:
        """Import OTLP JSON files (as `import otel`); `remember=False` reads each whole (e.g. a copy of stdin)."""
        from sessionstats.ingest.otel_files import import_otel

        with self._importing(progress) as (store, step):
            return import_otel(store, list(files), user=self.user, on_step=step, remember=remember)

    def import_detected(self, *, progress: Progress | None = None) -> list[tuple[str, SourceSummary | InvalidInput]]:
        """Import every known agent's history at its default place, each in its own transaction (as `import
        --all`); a source that cannot be read gives its error in place of its summary."""
        from sessionstats.ingest.detect import DETECTED_SOURCES

        done: list[tuple[str, SourceSummary | InvalidInput]] = []
        for name in DETECTED_SOURCES:
            try:
                done.append((name, self._import_source(name, (), progress)))
            except InvalidInput as error:
                done.append((name, error))
        return done

    def reprice(self, sessions: Sequence[str] | None = None, *, dry_run: bool = False) -> RepriceResult:
        """Price again the estimated and unpriced records of `sessions` (None: all yours) with today's price data;
        `dry_run` only says what would change (as `reprice`)."""
        from sessionstats.pricing.reprice import reprice

        # nothing to reprice where no database is: none is made for it
        opened = self.reading() if dry_run else self.writing(create=False)
        with opened as store:
            return reprice(store, user=self.user, session_ids=None if sessions is None else list(sessions),
                           dry_run=dry_run)

    def explain_record(self, record_id: str) -> RecordExplanation:
        """The arithmetic of one token record's cost, line by line (as `explain RECORD_ID`)."""
        from sessionstats.api import aware
        from sessionstats.pricing.explain import explain_record

        with self.reading() as store:
            return aware(explain_record(store, record_id, user=self.user))

    def find_record(self, record_id: str) -> RecordFound:
        """Your story or token record with this id, and its session."""
        from sessionstats.sessions import find_record

        with self.reading() as store:
            return find_record(store, record_id, user=self.user)

    def delete_record(self, record_id: str) -> RecordFound:
        """Delete one story or token record; a story's token records stay, under no story (as `delete-record`)."""
        from sessionstats.sessions import delete_record

        with self.writing(create=False) as store:
            return delete_record(store, record_id, user=self.user)

    def short_ids(self, session_ids: Sequence[str]) -> dict[str, str]:
        """The shortest prefix (8 characters at least) that names each of these sessions among yours."""
        from sessionstats.sessions import short_ids

        with self.reading() as store:
            return short_ids(store, list(session_ids), user=self.user)

    def session_choices(self, typed: str) -> list[tuple[str, str]]:
        """Your sessions whose id or name starts with `typed`, as (id, help text), for shell completion."""
        from sessionstats.sessions import session_choices

        with self.reading() as store:
            return session_choices(store, typed, user=self.user)

    def journal_path(self) -> Path:
        """The journal beside the database, where records wait while the database is busy."""
        from sessionstats.ingest.journal import journal_path

        return journal_path(self.target)

    @contextmanager
    def _importing(self, progress: Progress | None, *, create: bool = True) -> Iterator[tuple[Store, StepCallback]]:
        with self.writing(create=create) as store, store.one_thread(), (
                progress(store) if progress is not None else nullcontext(_no_step)) as step:
            yield store, step

    def _import_source(self, source: str, locations: Sequence[str], progress: Progress | None) -> SourceSummary:
        """Import one agent's history; where there is nothing to read, the database is not even opened (none is
        made, an older one is not upgraded)."""
        from sessionstats.ingest.detect import DETECTED_SOURCES, HISTORY_FILES, nothing_found

        if not HISTORY_FILES[source](locations):
            return nothing_found(source)
        with self._importing(progress) as (store, step):
            return DETECTED_SOURCES[source](store, list(locations), user=self.user, on_step=step)


def _no_step(step: str) -> None:
    """Steps go unreported without a progress display."""


def agent_sources() -> list[str]:
    """The agents whose history `Database.import_detected` looks for, in its order."""
    from sessionstats.ingest.detect import DETECTED_SOURCES

    return list(DETECTED_SOURCES)


def diagnose(db: str | os.PathLike[str] | None = None, user: str | None = None) -> list[Finding]:
    """Where the database is, its state, the price data and the agent histories on this machine, each problem
    with its remedy (as `doctor`); a database that cannot be named is a finding, not an error."""
    from sessionstats.reports.doctor import diagnose as findings
    from sessionstats.store.target import POSTGRES_SCHEMES, postgres_target, resolve_owner

    chosen = os.fspath(db) if db is not None else os.environ.get("SESSIONSTATS_DB") or None
    server = postgres_target(chosen) if chosen and chosen.startswith(POSTGRES_SCHEMES) else None
    return findings(chosen, user=resolve_owner(user, server))


def init_db(db: str | os.PathLike[str] | None = None) -> DatabaseReady:
    """Create the tables in `db` (as `connect` names it), or bring them up to date, and say where they are (as
    `init-db`); run it as a shared server's owner role, for members may not create tables."""
    from sessionstats.store import open_store, resolve_target
    from sessionstats.store.migrations import LATEST_VERSION

    with open_store(resolve_target(os.fspath(db) if db is not None else None), write=True) as store:
        return DatabaseReady(str(store.location), LATEST_VERSION)


def read_response(raw: bytes) -> ResponseUsage:
    """The usage a saved API response reports (JSON or an event stream, optionally after HTTP headers), as
    `record-tokens --from-response` reads it; `SessionHandle.record_call` records it."""
    from sessionstats.ingest.responses import parse_response

    return parse_response(raw)


def unpriced_model(model: str, provider: str | None = None) -> str:
    """How every warning names a model the price data lacks: `model 'x' is not in the price data (genai-prices
    0.0.40)`; its records' costs stay unknown, never zero."""
    from sessionstats.pricing.prices import unpriced_model as named

    return named(model, provider)


def import_format(path: str | os.PathLike[str] | None, given: ImportFormat | str | None = None) -> ImportFormat:
    """The format a bulk import reads: `given`, else the file's extension (jsonl, csv or tsv)."""
    from sessionstats.ingest.files import ImportFormat, resolve_format

    try:
        chosen = ImportFormat(given) if given is not None else None
    except ValueError:
        names = ", ".join(member.value for member in ImportFormat)
        raise InvalidInput(f"format: must be one of {names}, got {given!r}", field="format") from None
    return resolve_format(Path(path) if path is not None else None, chosen)
