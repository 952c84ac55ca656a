"""The records of one session, one line each: its stories (with the calls made for them) and its API calls."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sessionstats.reports.scope import EVERYTHING, Scope, scoped_records
from sessionstats.sessions import resolve_session_id
from sessionstats.store import Store
from sessionstats.validate import check_limit


@dataclass(frozen=True)
class StoryLine:
    """A story with the token records linked to it (`--story` when they were recorded)."""

    id: str
    created_at: datetime
    title: str
    tone: str | None
    priority: str | None
    word_count: int
    duration: float | None
    api_calls: int
    total_tokens: int
    total_cost: Decimal
    unpriced_records: int

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as the CLI's JSON and CSV carry them."""
        return asdict(self)


@dataclass(frozen=True)
class CallLine:
    """One token usage record as stored."""

    id: str
    created_at: datetime
    model: str | None
    provider: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int
    estimated_cost: Decimal | None
    cost_source: str
    request_id: str | None
    story_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as the CLI's JSON and CSV carry them."""
        return asdict(self)


STORY_FIELDS = list(StoryLine.__dataclass_fields__)
CALL_FIELDS = list(CallLine.__dataclass_fields__)

_STORIES_SQL = """
WITH {records},
linked AS (
    SELECT story_id, count(*) FILTER (WHERE call_part = 0) AS api_calls, sum(total_tokens) AS total_tokens,
           sum(estimated_cost) AS total_cost,
           count(*) FILTER (WHERE estimated_cost IS NULL) AS unpriced
    FROM tokens WHERE story_id IS NOT NULL GROUP BY story_id
)
SELECT sh.id, sh.created_at, sh.title, sh.tone, sh.priority, sh.word_count, sh.duration,
       coalesce(l.api_calls, 0), coalesce(l.total_tokens, 0), coalesce(l.total_cost, 0)::DECIMAL(38, 18),
       coalesce(l.unpriced, 0)
FROM stories s
JOIN story_history sh ON sh.user_id = $user AND sh.session_id = s.session_id AND sh.id = s.id
LEFT JOIN linked l ON l.story_id = s.id
"""

_CALLS_SQL = """
WITH {records}
SELECT tu.id, tu.created_at, tu.model, tu.provider, tu.input_tokens, tu.output_tokens, tu.cache_read_tokens,
       tu.cache_write_tokens, tu.total_tokens, tu.estimated_cost, tu.cost_source, tu.request_id, tu.story_id
FROM tokens t
JOIN token_usage tu ON tu.user_id = $user AND tu.session_id = t.session_id AND tu.id = t.id
"""


def session_stories(store: Store, session: str, *, user: str, scope: Scope = EVERYTHING,
                    limit: int | None = None) -> list[StoryLine]:
    """The session's stories in scope (the newest `limit` of them), oldest first, each with the calls, tokens and
    cost linked to it."""
    rows = _fetch(store, _STORIES_SQL, session, user=user, scope=scope, limit=limit)
    return [StoryLine(*row[:7], int(row[7]), int(row[8]), Decimal(row[9]).normalize() + 0, int(row[10]))
            for row in rows]


def session_calls(store: Store, session: str, *, user: str, scope: Scope = EVERYTHING,
                  limit: int | None = None) -> list[CallLine]:
    """The session's token records in scope (the newest `limit` of them), oldest first."""
    return [CallLine(*row) for row in _fetch(store, _CALLS_SQL, session, user=user, scope=scope, limit=limit)]


def _fetch(store: Store, sql: str, session: str, *, user: str, scope: Scope, limit: int | None) -> list[tuple]:
    params: dict[str, Any] = {"user": user, "session": resolve_session_id(store, session, user=user)}
    records = scoped_records(store, scope, params, sessions="AND {column} = $session")
    newest = ""
    if limit is not None:
        params["limit"] = check_limit(limit)
        newest = "ORDER BY 2 DESC, 1 DESC LIMIT $limit"
    # The newest `limit` lines (2 is created_at, 1 the id), shown in the order they happened.
    return store.fetchall(f"SELECT * FROM ({sql.format(records=records)} {newest}) ORDER BY 2, 1", params)
