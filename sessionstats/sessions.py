"""Sessions: create, look up (owner only), start, end, rename, delete."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessionstats.errors import AmbiguousSession, InvalidInput, RecordNotFound, SessionNotFound
from sessionstats.ids import new_id
from sessionstats.store import PlainSQL, Store
from sessionstats.times import utc_now
from sessionstats.validate import check_id, check_label, lower_as_stored, settings_json


@dataclass(frozen=True)
class Session:
    """A session: its owner, name, settings, broadcast status and times (UTC; aware from the Python API)."""

    id: str
    user_id: str
    name: str | None
    settings: dict[str, Any]
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


_COLUMNS = "id, user_id, name, settings, status, created_at, started_at, ended_at"


def create_session(
    store: Store,
    *,
    user: str,
    name: str | None = None,
    session_id: str | None = None,
    settings: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Session:
    """Make a new idle session owned by `user`; its id is generated unless given."""
    session_id, name, stored_settings = new_session_fields(name=name, session_id=session_id, settings=settings)
    if session_exists(store, session_id, user=user):
        raise InvalidInput(f"session_id: you already have a session {session_id!r}", field="session_id")
    created_at = at or utc_now()
    store.execute(
        PlainSQL(f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, 'idle', ?, NULL, NULL)"),
        [session_id, user, name, stored_settings, created_at],
    )
    return Session(session_id, user, name, settings or {}, "idle", created_at, None, None)


def new_session_fields(*, name: str | None, session_id: str | None,
                       settings: Mapping[str, Any] | None) -> tuple[str, str | None, str]:
    """A new session's checked id (generated unless given), name and settings as stored JSON. Callers check
    them before opening the database too, so bad input makes no file (not even a lock)."""
    checked_id = check_id(session_id, "session_id") if session_id is not None else new_id()
    return checked_id, check_label(name, "name"), settings_json(settings or {})


def find_session(store: Store, session_id: str, *, user: str) -> Session | None:
    """The user's session with this id, or None (also when another user owns one)."""
    row = store.fetchone(PlainSQL(f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? AND id = ?"), [user, session_id])
    if row is None:
        return None
    return Session(row[0], row[1], row[2], stored_settings(row[3]), *row[4:])


def stored_settings(text: str | None) -> dict[str, Any]:
    """A session's stored settings; a row no reader can take (nested past the recursion limit by another
    writer, not a JSON object) reads as none, so `start`, `rename` and the panel still work on the session."""
    try:
        settings = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        return {}
    return settings if isinstance(settings, dict) else {}


def session_exists(store: Store, session_id: str, *, user: str) -> bool:
    """Whether the user has this session; reads the key alone (the record path's hot lookup)."""
    found = store.fetchone(PlainSQL("SELECT 1 FROM sessions WHERE user_id = ? AND id = ?"), [user, session_id])
    return found is not None


def require_session(store: Store, session_id: str | None, *, user: str) -> Session:
    """The user's session named by id, name or id prefix, or SessionNotFound: another user's reads as missing."""
    return find_session(store, resolve_session_id(store, session_id, user=user), user=user)  # type: ignore[return-value]


MIN_PREFIX = 4  # as git takes a hash prefix: fewer characters would match by accident
MAX_CANDIDATES = 10


def resolve_session_id(store: Store, reference: str | None, *, user: str) -> str:
    """The id of the user's session that `reference` names: its id, else its name, else a unique id prefix.

    A name or prefix that fits several sessions is bad input listing them; one that fits none is
    SessionNotFound with the closest names and ids as suggestions.
    """
    reference = check_id(reference, "session_id")
    if session_exists(store, reference, user=user):
        return reference
    for condition in ("name = ?", "starts_with(id, ?)"):
        if condition.startswith("starts_with") and len(reference) < MIN_PREFIX:
            continue
        rows = store.fetchall(PlainSQL(f"SELECT id, name FROM sessions WHERE user_id = ? AND {condition} "
                              f"ORDER BY created_at DESC, id LIMIT {MAX_CANDIDATES + 1}"), [user, reference])
        if len(rows) == 1:
            return rows[0][0]
        if rows:
            raise AmbiguousSession(reference, rows)
    raise SessionNotFound(reference, suggestions=_close_sessions(store, reference, user=user))


def session_choices(store: Store, typed: str, *, user: str, limit: int = 50) -> list[tuple[str, str]]:
    """The user's sessions whose id or name starts with `typed` (a name case-blind), newest first, as
    (what to type, what it is): an id with its name, or a name with its id."""
    rows = store.fetchall(
        PlainSQL("SELECT id, name FROM sessions WHERE user_id = ? "
                 "AND (starts_with(id, ?) OR starts_with(lower(name), ?)) "
                 f"ORDER BY created_at DESC, id LIMIT {int(limit)}"), [user, typed, lower_as_stored(typed)])
    choices = [(session_id, name or "") for session_id, name in rows if session_id.startswith(typed)]
    choices += [(name, session_id) for session_id, name in rows
                if name and lower_as_stored(name).startswith(lower_as_stored(typed))]
    return choices


def short_ids(store: Store, ids: list[str], *, user: str, minimum: int = 8) -> dict[str, str]:
    """Each id's shortest prefix (at least `minimum` long) that fits no other of the user's sessions, as git
    shortens hashes; `show` and the other commands take it back."""
    everything = sorted(row[0] for row in store.fetchall(PlainSQL("SELECT id FROM sessions WHERE user_id = ?"), [user]))
    position = {session_id: index for index, session_id in enumerate(everything)}
    shortened = {}
    for session_id in ids:
        index = position.get(session_id)
        neighbours = everything[max(index - 1, 0):index] + everything[index + 1:index + 2] if index is not None else []
        shared = max((_common_prefix(session_id, other) for other in neighbours), default=0)
        length = max(minimum, shared + 1)
        shortened[session_id] = session_id[:length] if length < len(session_id) else session_id
    return shortened


def _common_prefix(one: str, other: str) -> int:
    return next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), min(len(one), len(other)))


def _close_sessions(store: Store, reference: str, *, user: str) -> list[str]:
    """Up to three of the user's session ids or names that look like `reference` (a typo, another case)."""
    from difflib import get_close_matches

    rows = store.fetchall(
        PlainSQL("SELECT id, name FROM sessions WHERE user_id = ? ORDER BY created_at DESC LIMIT 1000"), [user])
    folded = {value.casefold(): value for row in rows for value in row if value}
    wanted = reference.casefold()
    containing = [folded[value] for value in folded if wanted in value]
    close = [folded[value] for value in get_close_matches(wanted, list(folded), n=3, cutoff=0.85)]
    return list(dict.fromkeys(containing + close))[:3]


def start_session(store: Store, session_id: str, *, user: str, at: datetime | None = None) -> Session:
    """Go live: idle -> live, stamping started_at."""
    session = require_session(store, session_id, user=user)
    if session.status != "idle":
        raise InvalidInput(f"session {session.id!r} is {session.status}; only an idle session can start")
    started_at = at or utc_now()
    store.execute(
        PlainSQL("UPDATE sessions SET status = 'live', started_at = ? WHERE user_id = ? AND id = ?"),
        [started_at, user, session.id],
    )
    return find_session(store, session.id, user=user)  # type: ignore[return-value]


def end_session(store: Store, session_id: str, *, user: str, at: datetime | None = None) -> Session:
    """Stop broadcasting: live -> ended, stamping ended_at."""
    session = require_session(store, session_id, user=user)
    if session.status != "live":
        hint = "start it first" if session.status == "idle" else "it has ended already"
        raise InvalidInput(f"session {session.id!r} is {session.status}; {hint}")
    ended_at = at or utc_now()
    if session.started_at and ended_at < session.started_at:
        raise InvalidInput("created_at: a session cannot end before it started", field="created_at")
    store.execute(
        PlainSQL("UPDATE sessions SET status = 'ended', ended_at = ? WHERE user_id = ? AND id = ?"),
        [ended_at, user, session.id],
    )
    return find_session(store, session.id, user=user)  # type: ignore[return-value]


def rename_session(store: Store, session_id: str, name: str, *, user: str) -> Session:
    session = require_session(store, session_id, user=user)
    new_name = check_label(name, "name", required=True)
    store.execute(PlainSQL("UPDATE sessions SET name = ? WHERE user_id = ? AND id = ?"), [new_name, user, session.id])
    return find_session(store, session.id, user=user)  # type: ignore[return-value]


def delete_session(store: Store, session_id: str, *, user: str) -> tuple[Session, int, int]:
    """Remove a session with its stories and token records; return it and how many of each went."""
    session = require_session(store, session_id, user=user)
    key = [user, session.id]
    with store.transaction():
        stories = store.fetchone(
            PlainSQL("SELECT count(*) FROM story_history WHERE user_id = ? AND session_id = ?"), key
        )[0]  # type: ignore[index]
        tokens = store.fetchone(
            PlainSQL("SELECT count(*) FROM token_usage WHERE user_id = ? AND session_id = ?"), key
        )[0]  # type: ignore[index]
        store.execute(PlainSQL("DELETE FROM story_history WHERE user_id = ? AND session_id = ?"), key)
        store.execute(PlainSQL("DELETE FROM token_usage WHERE user_id = ? AND session_id = ?"), key)
        store.execute(PlainSQL("DELETE FROM sessions WHERE user_id = ? AND id = ?"), key)
    return session, stories, tokens


@dataclass(frozen=True)
class RecordFound:
    """A story or token record of the user's, as `delete-record` names it."""

    kind: str  # "story" or "token record"
    id: str
    session_id: str
    label: str  # the story's title, or the call's model and tokens


def find_record(store: Store, record_id: str, *, user: str) -> RecordFound:
    """The user's story or token record with this id (ids are unique across both); another user's reads as missing."""
    record_id = check_id(record_id, "record_id")
    found = store.fetchall(
        PlainSQL("SELECT 'story', session_id, title FROM story_history WHERE user_id = ? AND id = ? "
        "UNION ALL SELECT 'token record', session_id, coalesce(model, 'no model') || ', ' || total_tokens || ' tokens' "
        "FROM token_usage WHERE user_id = ? AND id = ?"), [user, record_id, user, record_id])
    if not found:
        raise RecordNotFound(record_id)
    if len(found) > 1:  # a story id chosen by hand may repeat in another session
        sessions = ", ".join(sorted({row[1] for row in found}))
        raise InvalidInput(f"{record_id!r} names {len(found)} records (in sessions {sessions}); "
                           "delete the session's record from a copy of its export instead", field="record_id")
    kind, session_id, label = found[0]
    return RecordFound(kind, record_id, session_id, label)


def delete_record(store: Store, record_id: str, *, user: str) -> RecordFound:
    """Remove one story or token record of the user's; a story's token records stay (they were billed)."""
    with store.transaction():
        record = find_record(store, record_id, user=user)
        table = "story_history" if record.kind == "story" else "token_usage"
        store.execute(PlainSQL(f"DELETE FROM {table} WHERE user_id = ? AND session_id = ? AND id = ?"),
                      [user, record.session_id, record.id])
    return record
