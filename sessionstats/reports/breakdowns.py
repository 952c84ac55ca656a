"""A session's figures split by tone, priority, model, day or hour (any combination), with shares of the total.

Grouping rules (the tables do not share every column):
- tone / priority: a story by its own; a token record by its story's (token_usage.story_id ->
  story_history.id); a record without a story, or a story without one, falls in the None group "(none)".
- model: a token record by its own; a story by the model of its token records, so a story made with two
  models counts under both (story shares may then add up past 100%); a story without records is "(none)".
- day / hour: each record by when it was made, cut in the zone given (day: its local date, as 2026-11-24; hour:
  the start of its local hour, as naive UTC like every stored time).
Shares are of the session's totals in the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sessionstats.pricing.model_names import identity_sql, model_in
from sessionstats.reports.scope import EVERYTHING, Scope, scoped_records
from sessionstats.reports.stats import SessionStats
from sessionstats.reports.token_figures import ITEMS_SQL, SUMS_SQL, TokenFigures, token_figures
from sessionstats.store import Store
from sessionstats.times import local_to_utc


class Dimension(StrEnum):
    tone = "tone"
    priority = "priority"
    model = "model"
    day = "day"
    hour = "hour"


_LOCAL_TIME = "timezone($zone, created_at AT TIME ZONE 'UTC')"
# Per dimension: how a story row and how a token row is grouped.
_GROUP_SQL: dict[Dimension, tuple[str, str]] = {
    Dimension.tone: ("tone", "story_tone"),
    Dimension.priority: ("priority", "story_priority"),
    Dimension.model: ("story_model", "model"),
    Dimension.day: (f"CAST({_LOCAL_TIME} AS DATE)", f"CAST({_LOCAL_TIME} AS DATE)"),
    Dimension.hour: (f"date_trunc('hour', {_LOCAL_TIME})", f"date_trunc('hour', {_LOCAL_TIME})"),
}

_STORY_MODELS = """
story_models AS (
    SELECT DISTINCT session_id, story_id, {model} AS model FROM token_usage
    WHERE user_id = $user AND session_id = $session AND story_id IS NOT NULL {model_filter}
),
story_rows AS (
    SELECT st.*, sm.model AS story_model
    FROM stories st LEFT JOIN story_models sm ON sm.session_id = st.session_id AND sm.story_id = st.id
)"""

_BREAKDOWN_SQL = """
WITH {records},
{story_rows},
""" + ITEMS_SQL.format(story_key="{story_groups}", token_key="{token_groups}", story_rows="story_rows") + """
SELECT {group_names}, """ + SUMS_SQL + """
FROM items
GROUP BY {group_names}
ORDER BY {group_order}
"""


@dataclass(frozen=True, kw_only=True)
class BreakdownRow(TokenFigures):
    """One group's figures; `group` maps each dimension to its value (None: the "(none)" group)."""

    LEADING = ("group",)  # its dimensions' values head the row, then the token figures, then the shares

    group: dict[str, str | datetime | None]
    story_share: float | None
    token_share: float | None
    cost_share: float | None

    def as_dict(self) -> dict[str, Any]:
        """The group's dimension values, then its figures, as the CLI's JSON and CSV carry them."""
        return {**self.group, **{name: getattr(self, name) for name in BREAKDOWN_FIGURES}}


BREAKDOWN_FIGURES = BreakdownRow.figure_names()[1:]


@dataclass(frozen=True)
class Breakdown:
    """The groups of one session, in order of their values (the "(none)" group last)."""

    dimensions: tuple[Dimension, ...]
    rows: list[BreakdownRow]
    story_total: int

    @property
    def counts_stories_twice(self) -> bool:
        """True when a story made with several models is counted under each of them."""
        return sum(row.story_count for row in self.rows) > self.story_total

    @property
    def columns(self) -> list[str]:
        """The table's columns: the dimensions, then the figures."""
        return [*self.dimensions, *BREAKDOWN_FIGURES]

    def as_dict(self) -> dict[str, Any]:
        """The breakdown as JSON takes it: its dimensions and its rows."""
        return {"by": [str(d) for d in self.dimensions], "rows": [row.as_dict() for row in self.rows]}


def breakdown(store: Store, totals: SessionStats, dimensions: list[Dimension], *, user: str,
              zone: str = "UTC", scope: Scope = EVERYTHING) -> Breakdown:
    """Split the session of `totals` (its figures in the same scope) by `dimensions`, in that order."""
    chosen = tuple(dict.fromkeys(Dimension(d) for d in dimensions))
    params: dict[str, Any] = {"user": user, "session": totals.session_id}
    if {Dimension.day, Dimension.hour} & set(chosen):
        params["zone"] = zone
    records = scoped_records(store, scope, params, sessions="AND {column} = $session",
                             labelled=bool({Dimension.tone, Dimension.priority} & set(chosen)))
    names = [f"g{i}" for i in range(len(chosen))]
    story_rows, token_group = "story_rows AS (SELECT *, NULL::TEXT AS story_model FROM stories)", _GROUP_SQL
    if Dimension.model in chosen:  # one model is one group, whatever names it was recorded under
        model = identity_sql(store, "model", params, user=user, session=totals.session_id)
        model_filter = f"AND model {model_in(store, scope.model, params, user=user)}" if scope.model else ""
        story_rows = _STORY_MODELS.format(model=model, model_filter=model_filter)
        token_group = {**_GROUP_SQL, Dimension.model: ("story_model", model)}
    sql = _BREAKDOWN_SQL.format(
        records=records,
        story_rows=story_rows,
        story_groups=", ".join(f"{_GROUP_SQL[d][0]} AS {n}" for d, n in zip(chosen, names, strict=True)),
        token_groups=", ".join(f"{token_group[d][1]} AS {n}" for d, n in zip(chosen, names, strict=True)),
        group_names=", ".join(names),
        group_order=", ".join(f"{n} NULLS LAST" for n in names),
    )
    rows = [_row(values, chosen, totals, zone) for values in store.fetchall(sql, params)]
    return Breakdown(chosen, rows, totals.story_count)


def _row(values: tuple, dimensions: tuple[Dimension, ...], totals: SessionStats, zone: str) -> BreakdownRow:
    width = len(dimensions)
    group = {str(d): _group_value(d, v, zone) for d, v in zip(dimensions, values[:width], strict=True)}
    figures = token_figures(values[width:])
    return BreakdownRow(
        **figures, group=group, story_share=_share(figures["story_count"], totals.story_count),
        token_share=_share(figures["total_tokens"], totals.total_tokens),
        cost_share=_share(figures["total_cost"], totals.total_cost),
    )


def _group_value(dimension: Dimension, value: Any, zone: str) -> str | datetime | None:
    if value is None:
        return None
    if dimension is Dimension.hour:
        return local_to_utc(value, zone)
    return value.isoformat() if dimension is Dimension.day else value


def _share(part: int | Decimal, whole: int | Decimal) -> float | None:
    return float(Decimal(part) / Decimal(whole)) if whole else None
