"""The one shape of an agent history import: find files, read what is new, map usage events, deduplicate, store.

An agent's module (codex, gemini_cli, opencode, qwen_code, otel_files) knows only its own format: it turns what
is new into `UsageEvent`s and counts what it saw in a `Coverage`. Storing goes through `write_rows`, as for the
Claude Code and llm imports, so a request id stored once is never stored twice, in this run or a later one.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sessionstats.errors import InvalidInput
from sessionstats.ingest.log_files import LogFile, Slice, expanded, new_slices, remember_slices, unreadable
from sessionstats.ingest.writing import ROW_COLUMNS, StepReporter, Written, write_rows
from sessionstats.store import Store
from sessionstats.times import utc_now
from sessionstats.validate import (
    MAX_ID_LENGTH,
    MAX_LABEL_LENGTH,
    check_count,
    check_id,
    check_label,
    check_text,
)

MAX_LINE_BYTES = 64 << 20  # a longer line is counted malformed, never loaded whole


@dataclass(frozen=True)
class UsageEvent:
    """One billed model call, in our convention: `input_tokens` excludes cache reads and writes."""

    session_id: str
    session_name: str | None
    request_id: str
    model: str | None
    created_at: datetime | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    provider: str | None = None
    reported_cost: Decimal | None = None  # what the log says the call cost (OpenCode's `cost`); beside the estimate

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass
class Coverage:
    """What a source's reader saw: lines, usage events, what it could not read or did not recognise."""

    files_found: int = 0
    files_read: int = 0
    lines: int = 0
    events: int = 0
    malformed: int = 0
    malformed_events: int = 0  # of `malformed`: events refused by the shared field rules after reading
    copies_dropped: int = 0  # copies a reader set aside itself (a storage/ copy of a message the database has)
    unrecognised: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SourceSummary:
    """One source's import: coverage, what was stored, and the copies that were not."""

    source: str
    coverage: Coverage
    written: Written
    duplicates: int

    @property
    def duplicates_skipped(self) -> int:
        """Copies of one call read in this run, plus calls an earlier run stored already."""
        return self.duplicates + self.coverage.copies_dropped + self.written.not_bigger

    @property
    def drift(self) -> str | None:
        """Why the source looks changed: its files had lines but no usage event was found in them."""
        seen = self.coverage
        if seen.lines == 0 or seen.events > 0:
            return None
        if not seen.unrecognised and not seen.malformed:
            return None  # only lines without usage yet (a session just begun): nothing to say
        kinds = ", ".join(sorted(seen.unrecognised)[:5]) or "none"
        return (f"{self.source}: {seen.files_read:,} files with {seen.lines:,} lines gave no token usage "
                f"({seen.malformed:,} malformed; unrecognised event types: {kinds}); the agent's log format has "
                "probably changed in an update")


class Source(Protocol):
    """An agent's importer: its files' places (none: the defaults) in, what it did out."""

    def __call__(self, store: Store, locations: Sequence[str], /, *, user: str,
                 on_step: StepReporter | None = None) -> SourceSummary: ...


def existing_dirs(given: Sequence[str], defaults: Iterable[Path], what: str) -> list[Path]:
    """The directories given (each must exist), else those of `defaults` that exist (maybe none)."""
    if given:
        dirs = [expanded(d) for d in given]
        missing = [str(d) for d in dirs if not _is_folder(d, what)]
        if missing:
            raise InvalidInput(f"DIR: {missing[0]!r} is not a directory ({what})")
        return dirs
    return [d for d in defaults if _is_folder(d, what)]


def _is_folder(place: Path, what: str) -> bool:
    try:
        return place.is_dir()
    except OSError as error:  # is_dir lets EACCES through: a folder on the way that may not be searched
        raise InvalidInput(f"cannot read {str(place)!r} ({what}): {error.strerror or error}; make the folders "
                           "on the way searchable to you (chmod u+x)") from None


def unread_parts(store: Store, user: str, source: str, paths: Iterable[Path]) -> list[Slice]:
    """For each file, the complete lines added since the last import (all of a new or rewritten file).

    The paths are files found (find_files); one gone since is skipped, one that cannot be read is named.
    """
    logs = [LogFile(_resolved(path), "", "") for path in paths]
    return new_slices(store, user, list({log.path: log for log in logs}.values()), source)


def _resolved(path: Path) -> Path:
    """The path resolved; as it is when it became a looping symlink since it was found (then it is no file)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 says a loop with RuntimeError, 3.13 with OSError
        return path


@contextmanager
def files_changing(source: str) -> Iterator[None]:
    """Reading logs that were found: one gone, or made unreadable, since is one line naming it, never a traceback.

    Nothing is stored then (an import is one transaction); the next import reads it again, or skips it if gone.
    """
    try:
        yield
    except OSError as error:
        raise unreadable(Path(error.filename or "?"), error, source) from None


def note_no_model(coverage: Coverage, calls: int) -> None:
    """Say how many calls logged token usage but no model: stored as they are, their cost unknown."""
    if calls:
        coverage.notes.append(f"{calls:,} calls logged no model: stored without one, their cost unknown")


def note_unfinished(coverage: Coverage, parts: Iterable[Slice]) -> None:
    """Say how many logs of lines end in one without its newline: it is left for the import after it ends."""
    unfinished = sum(1 for part in parts if part.end < part.size)
    if unfinished:
        coverage.notes.append(f"{unfinished:,} files end in a line without a newline (still being written?), "
                              "left for the next import")


def read_lines(part: Slice, coverage: Coverage) -> Iterator[bytes]:
    """The lines of [start, end), each bounded by MAX_LINE_BYTES (a longer one is counted malformed)."""
    with part.log.path.open("rb") as log:
        log.seek(part.start)
        position = part.start
        while position < part.end:
            line = log.readline(min(MAX_LINE_BYTES, part.end - position))
            if not line:
                return
            position += len(line)
            if not line.endswith(b"\n") and position < part.end:
                coverage.malformed += 1
                position += _skip_rest_of_line(log)
                continue
            if line.strip():
                coverage.lines += 1
                yield line


def _skip_rest_of_line(log: Any) -> int:
    skipped = 0
    while chunk := log.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def store_events(store: Store, events: Sequence[UsageEvent], *, user: str, source: str, coverage: Coverage,
                 step: StepReporter, parts: Sequence[Slice] = ()) -> SourceSummary:
    """Keep one copy per request id (the most tokens, then the earliest), store it, remember what was read."""
    now = utc_now()
    kept = _one_per_request(checked_events(events, coverage))
    note_no_model(coverage, sum(1 for event in kept if event.model is None))
    _stage(store, kept)
    written = write_agent_rows(store, user=user, source=source, now=now, step=step, coverage=coverage, parts=parts)
    return SourceSummary(source, coverage, written, len(events) - coverage.malformed_events - len(kept))


def write_agent_rows(store: Store, *, user: str, source: str, now: datetime, step: StepReporter, coverage: Coverage,
                     parts: Sequence[Slice]) -> Written:
    """write_rows for an agent's log, remembering what was read: a call too dear for a record is a malformed
    line (one absurd count in a log must not refuse its whole history)."""
    written = write_rows(store, user=user, source=source, now=now, step=step, skip_too_dear=True,
                         also=lambda: remember_slices(store, user, parts, now, source))
    coverage.malformed += written.too_dear
    coverage.malformed_events += written.too_dear
    return written


def checked_events(events: Sequence[UsageEvent], coverage: Coverage) -> list[UsageEvent]:
    """The events whose ids, model and total pass the shared field rules (the others count as malformed)."""
    good, rules = [], _RepeatedRules()
    for event in events:
        try:
            check_count(event.total, "total_tokens")  # each count fits, yet their sum (or output + reasoning) may not
            name = event.session_name if event.session_name and len(event.session_name) <= MAX_LABEL_LENGTH else None
            checked = (rules(check_id, event.session_id, "session_id"), rules(check_label, name, "name"),
                       rules(_model, event.model, "model"), request_key(event.request_id))
        except InvalidInput:
            coverage.malformed += 1
            coverage.malformed_events += 1
            continue
        if checked == (event.session_id, event.session_name, event.model, event.request_id):
            good.append(event)  # `replace` cost 0.5 CPU s per 100k events that the rules left as they were
        else:
            good.append(replace(event, session_id=checked[0], session_name=checked[1], model=checked[2],
                                request_id=checked[3]))
    return good


def _model(value: object, field: str) -> str | None:
    """A model as the store keeps it, an id (no control character, at most 200 characters); blank is none."""
    if check_label(value, field) is None:  # type: ignore[arg-type]
        return None
    check_id(value, field)  # type: ignore[arg-type]
    return value  # type: ignore[return-value]


def request_key(request_id: str) -> str:
    """A request id the import made, as the store can keep it: one longer than an id may be (a long session id
    in it) is its prefix (to the first colon, at most 40 characters) and its SHA-256, still one key per call. A
    control character is refused."""
    check_text(request_id, "request_id")
    if len(request_id) <= MAX_ID_LENGTH:
        check_id(request_id, "request_id")
        return request_id
    for start in range(0, len(request_id), MAX_ID_LENGTH - 1):  # the id rule's control check, piece by piece
        check_id("x" + request_id[start:start + MAX_ID_LENGTH - 1], "request_id")
    return f"{request_id.partition(':')[0][:40]}:sha256:{hashlib.sha256(request_id.encode()).hexdigest()}"


class _RepeatedRules:
    """A field rule applied once per distinct text: sessions, names and models repeat on every call of a session."""

    def __init__(self) -> None:
        self.done: dict[tuple[Any, str, str | None], str | InvalidInput | None] = {}

    def __call__(self, rule: Callable[[Any, str], str | None], value: Any, name: str) -> str | None:
        if value is not None and type(value) is not str:  # any other type is refused by the rule, named
            return rule(value, name)
        key = (rule, name, value)
        if key not in self.done:
            try:
                self.done[key] = rule(value, name)
            except InvalidInput as error:
                self.done[key] = error
        outcome = self.done[key]
        if isinstance(outcome, InvalidInput):
            raise outcome.with_traceback(None)  # the same error again: no traceback piled on the last
        return outcome


def _one_per_request(events: Sequence[UsageEvent]) -> list[UsageEvent]:
    best: dict[str, UsageEvent] = {}
    for event in events:
        held = best.get(event.request_id)
        if held is None or (event.total, _earliest(held)) > (held.total, _earliest(event)):
            best[event.request_id] = event
    return list(best.values())


def _earliest(event: UsageEvent) -> datetime:
    return event.created_at or datetime.max


_COLUMNS = (("session_id", "VARCHAR"), ("session_name", "VARCHAR"), ("request_id", "VARCHAR"), ("model", "VARCHAR"),
            ("provider", "VARCHAR"), ("created_at", "TIMESTAMP"), ("input_tokens", "BIGINT"),
            ("output_tokens", "BIGINT"), ("cache_write_tokens", "BIGINT"), ("cache_read_tokens", "BIGINT"),
            ("reported_cost", "DECIMAL(38, 18)"))


def _stage(store: Store, events: Sequence[UsageEvent]) -> None:
    """The events as temp table `history_rows` (a call without a model is kept: its tokens were billed).

    They travel as one JSON text: a list parameter costs DuckDB ~0.2 ms a value (10k events took 20 s).
    """
    store.execute(f"CREATE OR REPLACE TEMP TABLE history_rows ({ROW_COLUMNS})")
    # Named one by one: a getattr and a type test per value cost 0.5 CPU s per 100k events.
    rows = [[e.session_id, e.session_name, e.request_id, e.model, e.provider, _json_value(e.created_at),
             e.input_tokens, e.output_tokens, e.cache_write_tokens, e.cache_read_tokens, _json_value(e.reported_cost)]
            for e in events]
    if not rows:
        return
    selects = ", ".join(f"(r->>'$[{i}]')::{kind} AS {name}" for i, (name, kind) in enumerate(_COLUMNS))
    store.execute(
        f"""INSERT INTO history_rows BY NAME
            SELECT * REPLACE (coalesce(created_at, $now) AS created_at), created_at IS NOT NULL AS timed
            FROM (SELECT {selects} FROM (SELECT unnest(from_json($rows, '["JSON"]')) AS r))""",
        {"rows": json.dumps(rows), "now": utc_now()},
    )


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # exact: a JSON number would pass through a float
    return value.isoformat() if isinstance(value, datetime) else value
