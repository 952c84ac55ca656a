"""Many records from many callers stored in one open of the database and one transaction, each with its outcome.

A record stored alone pays for its own transaction (~16 ms, its commit) and usually its own open (~50 ms), so
`serve` could store 54 one-record requests a second. Here everything queued meanwhile is validated and priced
record by record (the rules of records.py), staged as one JSON text, checked for repeats (a request id or story
id stored already, or earlier in the batch) in SQL, and inserted set-based. A record that is refused never
fails the others: it gets its error, the rest are stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sessionstats.errors import DatabaseBusy, DatabaseUnusable, SessionNotFound, SessionStatsError
from sessionstats.ids import new_id
from sessionstats.ingest.journal import JournalEntry, append
from sessionstats.ingest.records import (
    PROVENANCE_COLUMNS,
    STORY_COLUMNS,
    TOKEN_USAGE_COLUMNS,
    Recorded,
    StoryInput,
    TokenUsageInput,
    _checked_story,
    no_story_yet,
    prepare_usage,
    price_notes,
    story_row,
    token_usage_row,
)
from sessionstats.sessions import resolve_session_id, session_exists
from sessionstats.store import PostgresTarget, Store
from sessionstats.store.paths import database_state
from sessionstats.times import utc_now

if TYPE_CHECKING:
    from sessionstats.api import Database

Outcome = Recorded | SessionStatsError
BatchWriter = Callable[[Sequence[JournalEntry]], list[Outcome]]
Placed = list[tuple[int, JournalEntry, str]]  # the records of a batch with a session: place, entry, session id
TOKEN_COLUMNS = TOKEN_USAGE_COLUMNS + PROVENANCE_COLUMNS
_STORY_ONLY = tuple(name for name in STORY_COLUMNS if name not in TOKEN_COLUMNS)
# The staged batch: a row per record, its place in the batch and kind first, then both tables' columns.
_STAGED = ("pos", "kind", *TOKEN_COLUMNS, *_STORY_ONLY)
_TYPES = {"pos": "BIGINT", "created_at": "TIMESTAMP", "priced_at": "TIMESTAMP", "estimated_cost": "DECIMAL(38, 18)",
          "tool_cost": "DECIMAL(38, 18)", "reported_cost": "DECIMAL(38, 18)", "duration": "DOUBLE",
          **{name: "BIGINT" for name in _STAGED if name.endswith(("_tokens", "_count", "_calls", "_part"))}}
_NEW_SESSION_COLUMNS = ("user_id", "id", "name", "settings", "status", "created_at")


def entries_of(records: Iterable[TokenUsageInput | StoryInput], *, user: str, create: bool) -> list[JournalEntry]:
    """The records as the entries a batch stores: a token record under a new id, a story under its own."""
    entries = []
    for record in records:
        if isinstance(record, StoryInput):
            story = record if record.id is not None else replace(record, id=new_id())
            entries.append(JournalEntry(story.id, "story", user, story, create))  # type: ignore[arg-type]
        else:
            entries.append(JournalEntry(new_id(), "tokens", user, record, create))
    return entries


def keep_batch(database: Database, entries: Sequence[JournalEntry]) -> list[Outcome]:
    """Store the entries in one open and one transaction (journaled when the database stays busy)."""
    with batch_writer(database) as write:
        return write(entries)


@contextmanager
def batch_writer(database: Database) -> Iterator[BatchWriter]:
    """The database open to write for a run of batches, each stored in its own transaction; when it cannot be
    opened (busy past the lock timeout, a server unreachable), the first batch is journaled, as `keep` does,
    and each later one tries a fresh open of its own."""
    if isinstance(database.target, Path) and database_state(database.target) == "missing":
        yield partial(_create_if_asked, database)
        return
    with _open_writer(database) as write:
        yield write


@contextmanager
def _open_writer(database: Database) -> Iterator[BatchWriter]:
    unseen = isinstance(database.target, Path)  # as Database.keep: a file fails before its commit
    with ExitStack() as opened:
        try:
            store = opened.enter_context(database.writing())
            store.many_units = True  # an older file is upgraded only once a batch stores something
            opened.enter_context(store.one_thread())  # small batches, one after another
        except (DatabaseBusy, DatabaseUnusable) as error:
            refused = error
        else:
            yield partial(_write_or_journal, store, database.target, unseen, set())
            return
    yield partial(_journal_then_reopen, database, refused, [])


def _create_if_asked(database: Database, entries: Sequence[JournalEntry]) -> list[Outcome]:
    """No database file yet: only a batch with a record that creates its session makes one; in any other, each
    valid record finds no session, as it would in an empty database, and nothing is made."""
    if any(entry.create for entry in entries):
        with _open_writer(database) as write:
            return write(entries)
    return [SessionNotFound(entry.record.session_id) if isinstance(entry, JournalEntry) else entry
            for entry in map(_checked, entries)]


def _journal_then_reopen(database: Database, error: SessionStatsError, journaled: list[bool],
                         entries: Sequence[JournalEntry]) -> list[Outcome]:
    """The first batch journaled (the open was refused); a later one tries an open of its own."""
    if journaled:
        return keep_batch(database, entries)
    journaled.append(True)
    return _journal_batch(database.target, error, entries)


def journal_instead(target: Path | PostgresTarget, entry: JournalEntry, error: SessionStatsError) -> Recorded:
    """Keep a record the database could not take in the journal; a broken file is said instead (raised)."""
    if isinstance(error, DatabaseUnusable) and not isinstance(target, PostgresTarget):
        raise error  # a broken file is not a busy one: say so rather than pile records beside it
    path = append(target, entry)
    return Recorded(entry.id, created=True,
                    warning=f"{error}; the record is kept in {path} and the next write stores it")


def store_batch(store: Store, entries: Sequence[JournalEntry], *, unseen: bool = False,
                known: set[tuple[str, str]] | None = None) -> list[Outcome]:
    """Validate every entry, then store the good ones in one transaction; an outcome per entry, in order.

    `unseen`: no entry was ever journaled, so none can be stored under its id already (that lookup is left out).
    `known`: the (user, session id) pairs found or made by earlier batches of this open of the database (none
    can be gone: no one else writes while it is open), kept up to date; their lookups are left out.
    """
    checked = [_checked(entry) for entry in entries]
    good = [entry for entry in checked if isinstance(entry, JournalEntry)]
    stored = iter(_store_good(store, good, unseen, set() if known is None else known) if good else [])
    return [next(stored) if isinstance(entry, JournalEntry) else entry for entry in checked]


def _write_or_journal(store: Store, target: Path | PostgresTarget, unseen: bool, known: set[tuple[str, str]],
                      entries: Sequence[JournalEntry]) -> list[Outcome]:
    try:
        return store_batch(store, entries, unseen=unseen, known=known)
    except (DatabaseBusy, DatabaseUnusable) as error:  # the connection went away mid-batch: nothing was stored
        return _journal_batch(target, error, entries)


def _journal_batch(target: Path | PostgresTarget, error: SessionStatsError,
                   entries: Sequence[JournalEntry]) -> list[Outcome]:
    """Each valid entry journaled (bad input is still refused, never journaled), or the error that stopped it."""
    outcomes: list[Outcome] = []
    for entry in map(_checked, entries):
        try:
            outcomes.append(journal_instead(target, entry, error) if isinstance(entry, JournalEntry) else entry)
        except SessionStatsError as failed:
            outcomes.append(failed)
    return outcomes


def checked_entry(entry: JournalEntry) -> JournalEntry:
    """The entry validated and priced as one record is (records.py); raises InvalidInput naming the field."""
    if isinstance(entry.record, TokenUsageInput):
        return replace(entry, record=prepare_usage(entry.record))
    story = _checked_story(entry.record)
    return replace(entry, record=replace(story, created_at=story.created_at or utc_now()))


def _checked(entry: JournalEntry) -> JournalEntry | SessionStatsError:
    try:
        return checked_entry(entry)
    except SessionStatsError as error:
        return error


def _store_good(store: Store, entries: list[JournalEntry], unseen: bool,
                known: set[tuple[str, str]]) -> list[Outcome]:
    """One transaction for all; should the database refuse one (a value it cannot take), each half alone."""
    try:
        return _store_together(store, entries, unseen, known)
    except (DatabaseBusy, DatabaseUnusable):
        raise
    except SessionStatsError as error:
        if len(entries) == 1:
            return [error]
    middle = len(entries) // 2
    return (_store_good(store, entries[:middle], unseen, known)
            + _store_good(store, entries[middle:], unseen, known))


def _store_together(store: Store, entries: list[JournalEntry], unseen: bool,
                    known: set[tuple[str, str]]) -> list[Outcome]:
    sessions, making = _sessions(store, entries, known)
    outcomes: dict[int, Outcome] = {pos: error for pos, error in enumerate(sessions) if isinstance(error, Exception)}
    placed: Placed = [(pos, entry, sessions[pos]) for pos, entry in enumerate(entries)  # type: ignore[misc]
                      if pos not in outcomes]
    if placed:
        _stage(store, placed)
        outcomes |= _insert_new(store, placed, unseen, making)
        known.update((entry.user, session_id) for _, entry, session_id in placed
                     if entry.record.session_id == session_id)  # by its id: there from now on
    return [outcomes[pos] for pos in range(len(entries))]


def _sessions(store: Store, entries: list[JournalEntry],
              known: set[tuple[str, str]]) -> tuple[list[str | SessionStatsError], bool]:
    """Each entry's session id as `_owned_session_id` picks it (or the error, a 404, for its session), and
    whether a session is to be made: once for the batch (in `_insert_new`), and every record of it may use it.
    """
    creating = {(entry.user, entry.record.session_id) for entry in entries if entry.create}
    found: dict[tuple[str, str], str | SessionStatsError] = {}
    making = False
    for key in dict.fromkeys((entry.user, entry.record.session_id) for entry in entries):
        user, reference = key
        exists = key in known or session_exists(store, reference, user=user)
        if exists or key in creating:
            making = making or not exists
            found[key] = reference
            continue
        try:
            found[key] = resolve_session_id(store, reference, user=user)
        except SessionStatsError as error:
            found[key] = error
    return [found[(entry.user, entry.record.session_id)] for entry in entries], making


def _stage(store: Store, placed: Placed) -> None:
    """The batch as temp table `batch_rows`; it travels as one JSON text (a list parameter costs ~0.2 ms a value)."""
    rows = [[pos, *_values(entry, session_id)] for pos, entry, session_id in placed]  # type: ignore[arg-type]
    selects = ", ".join(f"(r->>'$[{i}]')::{_TYPES.get(name, 'VARCHAR')} AS {name}" for i, name in enumerate(_STAGED))
    store.execute(f"""CREATE OR REPLACE TEMP TABLE batch_rows AS
                      SELECT {selects} FROM (SELECT unnest(from_json($rows, '["JSON"]')) AS r)""",
                  {"rows": json.dumps(rows, default=_json_value)})


def _values(entry: JournalEntry, session_id: str) -> list[object]:
    """kind, then the token_usage columns, then the story_history columns a token record lacks."""
    if isinstance(entry.record, TokenUsageInput):
        return ["tokens", *token_usage_row(entry.id, entry.user, session_id, entry.record), *[None] * len(_STORY_ONLY)]
    story = dict(zip(STORY_COLUMNS, story_row(entry.id, entry.user, session_id, entry.record), strict=True))
    return ["story", *[story.get(name) for name in TOKEN_COLUMNS], *[story[name] for name in _STORY_ONLY]]


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # exact: never through a float
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a staged value")


# A record already there (its request id or story id in the session, or a journaled record stored under its id):
# (pos, stored id).
_STORED_REQUEST = """
    SELECT b.pos, min_by(t.id, t.call_part) FROM batch_rows b JOIN token_usage t
      ON t.user_id = b.user_id AND t.session_id = b.session_id AND t.request_id = b.request_id
      WHERE b.kind = 'tokens' GROUP BY b.pos"""
_STORED_STORY = """
    SELECT b.pos, b.id FROM batch_rows b JOIN story_history s
      ON s.user_id = b.user_id AND s.session_id = b.session_id AND s.id = b.id WHERE b.kind = 'story'"""
_STORED_ID = """
    SELECT b.pos, b.id FROM batch_rows b JOIN token_usage t ON t.user_id = b.user_id AND t.id = b.id
      WHERE b.kind = 'tokens'"""
# Token records whose story is neither stored nor in the batch: kept, with a warning.
_NO_STORY = """
    SELECT b.pos, b.session_id, b.story_id FROM batch_rows b
    WHERE b.kind = 'tokens' AND b.story_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM story_history s
                      WHERE s.user_id = b.user_id AND s.session_id = b.session_id AND s.id = b.story_id)
      AND NOT EXISTS (SELECT 1 FROM batch_rows c
                      WHERE c.kind = 'story' AND c.user_id = b.user_id AND c.session_id = b.session_id
                        AND c.id = b.story_id)"""


def _insert_new(store: Store, placed: Placed, unseen: bool,
                making: bool) -> dict[int, Outcome]:
    """Make the missing sessions, insert the records not there yet; the outcome of each staged record.

    Each statement a batch does not need is left out: a batch of 16 took ~20 ms with all of them, ~9.5 now."""
    repeats = _repeats(store, unseen, placed)
    kinds = {entry.kind for pos, entry, _ in placed if pos not in repeats}
    linked = any(isinstance(entry.record, TokenUsageInput) and entry.record.story_id for _, entry, _ in placed)
    no_story = {pos: no_story_yet(session_id, story_id)
                for pos, session_id, story_id in (store.fetchall(_NO_STORY) if linked else []) if pos not in repeats}
    with store.transaction():
        if repeats:
            store.execute("DELETE FROM batch_rows WHERE pos IN (SELECT unnest(from_json($pos, '[\"BIGINT\"]')))",
                          {"pos": json.dumps(sorted(repeats))})
        if making:
            store.insert_select("sessions", _NEW_SESSION_COLUMNS, """
                SELECT DISTINCT b.user_id, b.session_id, NULL, '{}', 'idle', $now FROM batch_rows b
                WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = b.user_id AND s.id = b.session_id)""",
                                {"now": utc_now()})
        for kind, table, columns in (("story", "story_history", STORY_COLUMNS),
                                     ("tokens", "token_usage", TOKEN_COLUMNS)):
            if kind in kinds:
                store.insert_select(table, columns, f"SELECT {', '.join(columns)} FROM batch_rows "
                                                    "WHERE kind = $kind ORDER BY pos", {"kind": kind},
                                    most_rows=len(placed))
    return {pos: _outcome(entry, repeats.get(pos), no_story.get(pos)) for pos, entry, _ in placed}


def _repeats(store: Store, unseen: bool, placed: Placed) -> dict[int, str]:
    """The staged records there already: their place in the batch -> the id of the record they repeat
    (a repeat of an earlier one in the batch gets that one's own id)."""
    entries = {pos: entry for pos, entry, _ in placed}
    stored: dict[int, str] = {}
    sql = _stored_sql(entries, unseen)
    for pos, stored_id in store.fetchall(sql) if sql else []:
        stored.setdefault(pos, stored_id)
    earlier = _earlier_in_batch(placed)
    return {**{pos: stored.get(first, entries[first].id) for pos, first in earlier.items()}, **stored}


def _earlier_in_batch(placed: Placed) -> dict[int, int]:
    """The records repeating one earlier in the batch (its kind, user, session and request id, or story id):
    their place -> the first one's. Found here, not in SQL: a window over the staged rows cost ~2 ms a batch."""
    first: dict[tuple[str, str, str, str], int] = {}
    earlier: dict[int, int] = {}
    for pos, entry, session_id in placed:
        key = entry.record.request_id if isinstance(entry.record, TokenUsageInput) else entry.id
        if key is not None:
            first_pos = first.setdefault((entry.kind, entry.user, session_id, key), pos)
            if first_pos != pos:
                earlier[pos] = first_pos
    return earlier


def _stored_sql(entries: dict[int, JournalEntry], unseen: bool) -> str | None:
    """Only the lookups this batch can need (none: None): each costs DuckDB ~1-3 ms to plan and run."""
    records = [entry.record for entry in entries.values()]
    tokens = [record for record in records if isinstance(record, TokenUsageInput)]
    parts = []
    if any(record.request_id is not None for record in tokens):
        parts.append(_STORED_REQUEST)
    if len(tokens) < len(records):
        parts.append(_STORED_STORY)
    if tokens and not unseen:
        parts.append(_STORED_ID)
    return "\n    UNION ALL".join(parts) or None


def _outcome(entry: JournalEntry, repeated: str | None, no_story: str | None) -> Recorded:
    if repeated is not None:
        return Recorded(repeated, created=False)
    warnings = ([no_story] if no_story else []) + (price_notes([entry.record]) if isinstance(
        entry.record, TokenUsageInput) else [])
    return Recorded(entry.id, created=True, warning="\n".join(dict.fromkeys(warnings)) or None)
