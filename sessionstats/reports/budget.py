"""Budgets for a generation loop: a limit is used up once a figure reaches it (>=), so
`while sessionstats check "$S" --max-cost 5; do generate; done` never starts a step at or past the limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sessionstats.errors import BudgetExceeded, InvalidInput
from sessionstats.reports.stats import SessionStats
from sessionstats.validate import check_count, parse_decimal

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
        for name in ("max_tokens", "max_stories"):  # the API hands them in as given: -1 and 1.5 are no limits
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_count(getattr(self, name), name))
        object.__setattr__(self, "warn_at", _percent(self.warn_at))


def _percent(value: object) -> Decimal:
    """warn_at as an exact percentage from 0 to 100 (a number or its text)."""
    number: object = value
    if isinstance(value, str):  # by the rule every number given as text follows ('١٢' and '+5' are none)
        try:
            number = parse_decimal(value, "warn_at")
        except InvalidInput:
            number = Decimal("NaN")
    percent = Decimal(str(number)) if isinstance(number, int | float | Decimal) else Decimal("NaN")
    if isinstance(value, bool) or not percent.is_finite() or not 0 <= percent <= 100:
        raise InvalidInput(f"warn_at: must be a percentage from 0 to 100, got {value!r}", field="warn_at")
    return percent


Shown = Callable[[str, "int | Decimal"], str]  # (kind "cost" or "count", value) -> text


def exact(kind: str, value: int | Decimal) -> str:
    """A figure as exact plain text (the library's default; the CLI passes its own, formatted for people)."""
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


@dataclass(frozen=True)
class LimitUse:
    """How much of one limit a figure uses."""

    field: str  # the limit: max_cost, max_tokens or max_stories
    figure: str
    used: int | Decimal
    limit: int | Decimal

    @property
    def kind(self) -> str:
        return "cost" if self.field == "max_cost" else "count"

    @property
    def percent(self) -> Decimal | None:
        return Decimal(self.used) * 100 / Decimal(self.limit) if self.limit else None

    @property
    def reached(self) -> bool:
        return self.used >= self.limit

    def describe(self, verb: str, shown: Shown = exact) -> str:
        """`total cost 4.1 is at 82% of `max_cost` 5`; the percentage rounds down."""
        percent = f" {int(self.percent)}% of" if self.percent is not None else ""
        return (f"{self.figure} {shown(self.kind, self.used)} {verb}{percent} `{self.field}` "
                f"{shown(self.kind, self.limit)}")


@dataclass(frozen=True)
class BudgetReport:
    """Which limits a session's figures reached, and which passed the warning share."""

    session_id: str
    budget: Budget
    reached: list[LimitUse]
    warned: list[LimitUse]
    unpriced_records: int
    api_calls: int

    def over_budget(self, shown: Shown = exact) -> BudgetExceeded:
        """The error naming every limit reached, figures shown by `shown`."""
        return BudgetExceeded(f"session {self.session_id!r} is over budget: "
                              + "; ".join(use.describe("has reached", shown) for use in self.reached))

    def warnings(self, shown: Shown = exact) -> list[str]:
        """One line each, for a person or a log."""
        lines = [f"warning: {use.describe('is at', shown)} (warning from {self.budget.warn_at.normalize():f}%)"
                 for use in self.warned]
        if self.budget.max_cost is not None and self.unpriced_records:
            lines.append(f"warning: {self.unpriced_records:,} of {self.api_calls:,} API calls have no known "
                         "cost; the cost checked against `max_cost` covers the priced ones only")
        return lines


def assess_budget(stats: SessionStats, budget: Budget) -> BudgetReport:
    """The limits reached and the warnings due, without raising."""
    uses = _uses(stats, budget)
    return BudgetReport(stats.session_id, budget, [use for use in uses if use.reached],
                        [use for use in uses if not use.reached and use.percent is not None
                         and use.percent >= budget.warn_at], stats.unpriced_records, stats.api_calls)


def check_budget(stats: SessionStats, budget: Budget) -> list[str]:
    """Raise BudgetExceeded naming every limit reached; else return the warnings (one line each)."""
    report = assess_budget(stats, budget)
    if report.reached:
        raise report.over_budget()
    return report.warnings()


def _uses(stats: SessionStats, budget: Budget) -> list[LimitUse]:
    uses = []
    if budget.max_cost is not None:
        uses.append(LimitUse("max_cost", "total cost", stats.total_cost, budget.max_cost))
    if budget.max_tokens is not None:
        uses.append(LimitUse("max_tokens", "total tokens", stats.total_tokens, budget.max_tokens))
    if budget.max_stories is not None:
        uses.append(LimitUse("max_stories", "stories", stats.story_count, budget.max_stories))
    return uses
