"""The figures every report counts (stories, API calls, the four token kinds, cost, unpriced records), declared
once for `show`, each breakdown group and each timeline bucket, with the SQL that sums them item by item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, ClassVar

# One row per story and per token record, with the figures it adds; `{key}` is what the rows are grouped by.
# An iteration of a call (call_part > 0) is no new call.
ITEMS_SQL = """items AS (
    SELECT {story_key}, 1 AS stories, 0 AS calls, 0 AS input_tokens, 0 AS output_tokens,
           0 AS cache_read_tokens, 0 AS cache_write_tokens, 0 AS total_tokens,
           NULL::DECIMAL(38, 18) AS cost, 0 AS unpriced
    FROM {story_rows}
    UNION ALL
    SELECT {token_key}, 0, CASE WHEN call_part = 0 THEN 1 ELSE 0 END,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
           total_tokens, estimated_cost, CASE WHEN estimated_cost IS NULL THEN 1 ELSE 0 END
    FROM tokens
)"""
# The items' sums, in TOKEN_FIGURES order (token_figures() reads them so).
SUMS_SQL = """sum(stories), sum(calls), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_tokens), sum(total_tokens), coalesce(sum(cost), 0)::DECIMAL(38, 18), sum(unpriced)"""


@dataclass(frozen=True, kw_only=True)
class TokenFigures:
    """What a session, a group or a bucket counts. A report's own fields that come before these in its JSON
    and CSV are named in LEADING; the rest follow them."""

    LEADING: ClassVar[tuple[str, ...]] = ()

    story_count: int
    api_calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int
    total_cost: Decimal
    unpriced_records: int

    @classmethod
    def figure_names(cls) -> list[str]:
        """The field names in the order the CLI's JSON and CSV carry them: LEADING, these figures, the rest."""
        own = [f.name for f in fields(cls) if f.name not in cls.LEADING]
        return [*cls.LEADING, *own]

    def as_dict(self) -> dict[str, Any]:
        """The figures by name, as the CLI's JSON and CSV carry them."""
        return {name: getattr(self, name) for name in self.figure_names()}


TOKEN_FIGURES = [f.name for f in fields(TokenFigures)]


def token_figures(sums: Sequence[Any]) -> dict[str, Any]:
    """The nine sums of SUMS_SQL (or as many zeros) as TokenFigures' fields: counts as int, the cost as given."""
    return {name: value if name == "total_cost" else int(value) for name, value in zip(TOKEN_FIGURES, sums,
                                                                                         strict=True)}
