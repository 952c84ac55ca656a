"""Checks on values from users and files; each failure names the field and the problem."""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from sessionstats.errors import InvalidInput

MAX_BIGINT = 2**63 - 1
MAX_ID_LENGTH = 200
MAX_LABEL_LENGTH = 1_000
COST_PLACES = 18  # DECIMAL(38, 18): exact down to a billionth of a billionth of a dollar
# Per record, below $1e9: a DECIMAL(38, 18) total holds < 1e20, so a session can sum 1e11 records
# before its total could overflow (at 1e20 per record, two records broke `show` and `list`).
MAX_COST = Decimal(10) ** 9


def check_id(value: str | None, field: str) -> str:
    """A non-empty id of printable text, at most 200 characters; returned stripped."""
    if value is None or not value.strip():
        raise InvalidInput(f"{field}: the id is empty")
    value = value.strip()
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(f"{field}: the id is {len(value):,} characters long (at most {MAX_ID_LENGTH})")
    check_text(value, field)
    return value


def check_label(value: str | None, field: str, *, required: bool = False) -> str | None:
    """A short text such as a name, title, tone or model: no NUL, at most 1,000 characters."""
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{field}: must not be empty")
        return None
    if len(value) > MAX_LABEL_LENGTH:
        raise InvalidInput(f"{field}: is {len(value):,} characters long (at most {MAX_LABEL_LENGTH:,})")
    return check_text(value, field)


def check_text(value: str, field: str) -> str:
    """Refuse text the database or a terminal would mangle: NUL bytes and lone surrogates."""
    if "\x00" in value:
        raise InvalidInput(f"{field}: contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field}: is not valid UTF-8 text") from None
    return value


def check_count(value: Any, field: str) -> int:
    """A whole number from 0 to 2^63-1 (token counts, word counts)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise InvalidInput(f"{field}: must be a whole number >= 0, got {value!r}")
    if value < 0:
        raise InvalidInput(f"{field}: must be a whole number >= 0, got {value}")
    if value > MAX_BIGINT:
        raise InvalidInput(f"{field}: {value} is too large (at most {MAX_BIGINT})")
    return value


def check_seconds(value: float | int | None, field: str) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{field}: must be a number of seconds >= 0, got {value!r}")
    return float(value)


def parse_cost(value: str | int | float | Decimal | None, field: str) -> Decimal | None:
    """An exact, non-negative, finite cost in USD with at most 18 decimal places."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: must be a number of US dollars, got {value!r}")
    try:
        # str() first so a float keeps its shortest decimal form (0.1, not 0.1000000000000000055).
        cost = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field}: must be a number of US dollars, got {value!r}") from None
    if not cost.is_finite():
        raise InvalidInput(f"{field}: must be a finite number, got {value!r}")
    if cost < 0:
        raise InvalidInput(f"{field}: must not be negative, got {value!r}")
    if cost >= MAX_COST:
        raise InvalidInput(f"{field}: {value!r} is too large (a record must cost under {MAX_COST:,} US dollars)")
    with localcontext() as exact:
        exact.prec = 60
        if cost != cost.quantize(Decimal(1).scaleb(-COST_PLACES)):
            raise InvalidInput(f"{field}: has more than {COST_PLACES} decimal places")
        return cost + 0  # normalises -0 to 0


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs into a dict; a VALUE that reads as JSON keeps its type."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--setting: expected KEY=VALUE, got {pair!r}")
        check_text(pair, "--setting")
        try:
            settings[key.strip()] = json.loads(raw, parse_constant=_refuse_constant)
        except ValueError:
            settings[key.strip()] = raw
    return settings


def _refuse_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON: keep such a value as text
