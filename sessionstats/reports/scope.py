"""Which records a report counts: a time window and model/tone/priority filters, as parameterised SQL.

Token records carry no tone or priority: a record takes them from its story (token_usage.story_id ->
story_history.id, in the same session); a record without a story has neither, so a tone or priority filter
leaves it out. Stories carry no model: `--model X` keeps the stories that have a token record of model X.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.pricing.model_names import model_in
from sessionstats.store import Store
from sessionstats.validate import check_model

# Labels of the story a token record belongs to; grouped so a repeated story id cannot double a record.
_STORY_LABELS = """
    SELECT session_id, id, any_value(tone) AS tone, any_value(priority) AS priority
    FROM story_history WHERE user_id = $user {sessions}
    GROUP BY session_id, id
"""


@dataclass(frozen=True)
class Scope:
    """Only records created in [since, until) that match every filter given count; None lets all through."""

    since: datetime | None = None
    until: datetime | None = None
    model: str | None = None
    tone: str | None = None
    priority: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", check_model(self.model))  # as stored: `GPT-4O` finds gpt-4o
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidInput("until: must be later than `since`", field="until")

    @property
    def labels_tokens(self) -> bool:
        """Whether token records need their story's tone and priority."""
        return self.tone is not None or self.priority is not None


EVERYTHING = Scope()


def scoped_records(store: Store, scope: Scope, params: dict[str, Any], *, sessions: str,
                   labelled: bool = False) -> str:
    """Two CTEs, `stories` and `tokens`: the user's records in scope, in the sessions `sessions` picks.

    `sessions` is a condition with `{column}` for the session id column, e.g. "AND {column} = $session".
    `labelled` gives every token record its story's tone and priority (story_tone, story_priority).
    A model filter matches every name the model is recorded under (`model_names.py`).
    """
    story_filter = sessions.format(column="sh.session_id") + _window("sh", scope, params)
    token_filter = sessions.format(column="tu.session_id") + _window("tu", scope, params)
    if scope.tone is not None:
        params["tone"] = scope.tone
        story_filter += " AND sh.tone = $tone"
        token_filter += " AND ls.tone = $tone"
    if scope.priority is not None:
        params["priority"] = scope.priority
        story_filter += " AND sh.priority = $priority"
        token_filter += " AND ls.priority = $priority"
    if scope.model is not None:
        names = model_in(store, scope.model, params, user=params["user"])
        token_filter += f" AND tu.model {names}"
        story_filter += (" AND EXISTS (SELECT 1 FROM token_usage m WHERE m.user_id = $user "
                         + sessions.format(column="m.session_id") + " AND m.session_id = sh.session_id"
                         f" AND m.story_id = sh.id AND m.model {names})")
    if labelled or scope.labels_tokens:
        labels = _STORY_LABELS.format(sessions=sessions.format(column="session_id"))
        labels_join = f"LEFT JOIN ({labels}) ls ON ls.session_id = tu.session_id AND ls.id = tu.story_id"
        label_columns = "ls.tone AS story_tone, ls.priority AS story_priority"
    else:
        labels_join = ""
        label_columns = "NULL::TEXT AS story_tone, NULL::TEXT AS story_priority"
    return f"""
stories AS (
    SELECT sh.id, sh.session_id, sh.tone, sh.priority, sh.word_count, sh.duration, sh.created_at
    FROM story_history sh
    WHERE sh.user_id = $user {story_filter}
),
tokens AS (
    SELECT tu.id, tu.session_id, tu.story_id, tu.model, tu.input_tokens, tu.output_tokens,
           tu.cache_read_tokens, tu.cache_write_tokens, tu.total_tokens, tu.estimated_cost, tu.created_at,
           tu.call_part, tu.tool_calls, tu.tool_cost, {label_columns}
    FROM token_usage tu {labels_join}
    WHERE tu.user_id = $user {token_filter}
)"""


def _window(alias: str, scope: Scope, params: dict[str, Any]) -> str:
    condition = ""
    if scope.since is not None:
        params["since"] = scope.since
        condition += f" AND {alias}.created_at >= $since"
    if scope.until is not None:
        params["until"] = scope.until
        condition += f" AND {alias}.created_at < $until"
    return condition
