"""Sessions: create, look up (owner only), start, end, rename, delete."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessionstats.errors import InvalidInput, SessionNotFound
from sessionstats.ids import new_id
from sessionstats.store import Store
from sessionstats.times import utc_now
from sessionstats.validate import check_id, check_label


@dataclass(frozen=True)
class Session:
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
    session_id = check_id(session_id, "session_id") if session_id is not None else new_id()
    name = check_label(name, "name")
    if session_exists(store, session_id, user=user):
        raise InvalidInput(f"session_id: you already have a session {session_id!r}", field="session_id")
    created_at = at or utc_now()
    store.execute(
        f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, 'idle', ?, NULL, NULL)",
        [session_id, user, name, json.dumps(settings or {}), created_at],
    )
    return Session(session_id, user, name, settings or {}, "idle", created_at, None, None)


def find_session(store: Store, session_id: str, *, user: str) -> Session | None:
    """The user's session with this id, or None (also when another user owns one)."""
    row = store.fetchone(f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? AND id = ?", [user, session_id])
    if row is None:
        return None
    return Session(row[0], row[1], row[2], json.loads(row[3]) if row[3] else {}, *row[4:])


def session_exists(store: Store, session_id: str, *, user: str) -> bool:
    """Whether the user has this session; reads the key alone (the record path's hot lookup)."""
    return store.fetchone("SELECT 1 FROM sessions WHERE user_id = ? AND id = ?", [user, session_id]) is not None


def require_session(store: Store, session_id: str | None, *, user: str) -> Session:
    """The user's session, or SessionNotFound: another user's session reads as missing."""
    session_id = check_id(session_id, "session_id")
    session = find_session(store, session_id, user=user)
    if session is None:
        raise SessionNotFound(session_id)
    return session


def start_session(store: Store, session_id: str, *, user: str, at: datetime | None = None) -> Session:
    """Go live: idle -> live, stamping started_at."""
    session = require_session(store, session_id, user=user)
    if session.status != "idle":
        raise InvalidInput(f"session {session.id!r} is {session.status}; only an idle session can start")
    started_at = at or utc_now()
    store.execute(
        "UPDATE sessions SET status = 'live', started_at = ? WHERE user_id = ? AND id = ?",
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
        "UPDATE sessions SET status = 'ended', ended_at = ? WHERE user_id = ? AND id = ?",
        [ended_at, user, session.id],
    )
    return find_session(store, session.id, user=user)  # type: ignore[return-value]


def rename_session(store: Store, session_id: str, name: str, *, user: str) -> Session:
    session = require_session(store, session_id, user=user)
    new_name = check_label(name, "name", required=True)
    store.execute("UPDATE sessions SET name = ? WHERE user_id = ? AND id = ?", [new_name, user, session.id])
    return find_session(store, session.id, user=user)  # type: ignore[return-value]


def delete_session(store: Store, session_id: str, *, user: str) -> tuple[int, int]:
    """Remove a session with its stories and token records; return how many of each went."""
    session = require_session(store, session_id, user=user)
    key = [user, session.id]
    with store.transaction():
        stories = store.fetchone(
            "SELECT count(*) FROM story_history WHERE user_id = ? AND session_id = ?", key
        )[0]  # type: ignore[index]
        tokens = store.fetchone(
            "SELECT count(*) FROM token_usage WHERE user_id = ? AND session_id = ?", key
        )[0]  # type: ignore[index]
        store.execute("DELETE FROM story_history WHERE user_id = ? AND session_id = ?", key)
        store.execute("DELETE FROM token_usage WHERE user_id = ? AND session_id = ?", key)
        store.execute("DELETE FROM sessions WHERE user_id = ? AND id = ?", key)
    return stories, tokens
