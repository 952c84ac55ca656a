"""Budgets for a generation loop: a limit is used up once a figure reaches it (>=), so
`while sessionstats check "$S" --max-cost 5; do generate; done` never starts a step at or past the limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sessionstats.errors import BudgetExceeded, InvalidInput
from sessionstats.render import fmt_cost, fmt_tokens
from sessionstats.stats import SessionStats

DEFAULT_WARN_AT = Decimal(80)


@dataclass(frozen=True)
class Budget:
    """Limits on one session's figures (None: no limit) and the percentage of a limit that earns a warning."""

    max_cost: Decimal | None = None
    max_tokens: int | None = None
    max_stories: int | None = None
    warn_at: Decimal = DEFAULT_WARN_AT

    def __post_init__(self) -> None:
        if self.max_cost is None and self.max_tokens is None and self.max_stories is None:
            raise InvalidInput("check: give at least one limit: `max_cost`, `max_tokens` or `max_stories`")
        if not self.warn_at.is_finite() or not 0 <= self.warn_at <= 100:
            raise InvalidInput(f"warn_at: must be a percentage from 0 to 100, got {self.warn_at}", field="warn_at")


@dataclass(frozen=True)
class LimitUse:
    """How much of one limit a figure uses."""

    option: str
    figure: str
    used: int | Decimal
    limit: int | Decimal
    shown: Callable[[int | Decimal], str]

    @property
    def percent(self) -> Decimal | None:
        return Decimal(self.used) * 100 / Decimal(self.limit) if self.limit else None

    @property
    def reached(self) -> bool:
        return self.used >= self.limit

    def describe(self, verb: str) -> str:
        """`total cost $4.1000 is at 82% of `max_cost` $5.0000`; the percentage rounds down."""
        percent = f" {int(self.percent)}% of" if self.percent is not None else ""
        return f"{self.figure} {self.shown(self.used)} {verb}{percent} {self.option} {self.shown(self.limit)}"


def check_budget(stats: SessionStats, budget: Budget) -> list[str]:
    """Raise BudgetExceeded naming every limit reached; else return the warnings (one line each)."""
    uses = _uses(stats, budget)
    reached = [use for use in uses if use.reached]
    if reached:
        raise BudgetExceeded(f"session {stats.session_id!r} is over budget: "
                             + "; ".join(use.describe("has reached") for use in reached))
    warnings = [f"warning: {use.describe('is at')} (warning from {budget.warn_at.normalize():f}%)"
                for use in uses if use.percent is not None and use.percent >= budget.warn_at]
    if budget.max_cost is not None and stats.unpriced_records:
        warnings.append(f"warning: {stats.unpriced_records:,} of {stats.api_calls:,} API calls have no known "
                        "cost; the cost checked against `max_cost` covers the priced ones only")
    return warnings


def _uses(stats: SessionStats, budget: Budget) -> list[LimitUse]:
    uses = []
    if budget.max_cost is not None:
        uses.append(LimitUse("`max_cost`", "total cost", stats.total_cost, budget.max_cost, fmt_cost))
    if budget.max_tokens is not None:
        uses.append(LimitUse("`max_tokens`", "total tokens", stats.total_tokens, budget.max_tokens, fmt_tokens))
    if budget.max_stories is not None:
        uses.append(LimitUse("`max_stories`", "stories", stats.story_count, budget.max_stories, fmt_tokens))
    return uses
