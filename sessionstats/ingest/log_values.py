"""What an agent log's values mean, read the same by every agent's Python reader: JSON (each key once, no half
surrogate pairs), token counts, stated costs, providers and times. The DuckDB readers (json_lines) mirror them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.pricing.prices import check_provider
from sessionstats.times import ISO_TIME_PATTERN, storable
from sessionstats.validate import COST_PLACES, MAX_BIGINT, MAX_COST, SPACE_SEPARATORS, check_count, unique_keys


def parse_json(raw: object, **options: Any) -> Any:
    """A JSON value, or None for text that is not JSON (nested too deep for Python included), that names a key
    twice in one object (json_lines.unique_keys says why), that escapes half a surrogate pair (no Unicode text:
    DuckDB's reader refuses such a line whole, and it could not be stored), or for no text at all (a database
    column may hold a number or NULL). A number with a point or exponent is an exact Decimal: a count is judged
    by its exact value (validate.check_count), never by the nearest float (1.00000000000000000001 is no count)."""
    options.setdefault("parse_float", Decimal)
    try:
        if type(raw) is str and not raw.startswith("\ufeff"):  # json.loads refuses a BOM, decode not
            value = _decoder(**options).decode(raw)  # one decoder, not one per call: 0.2 CPU s per 100k values
        else:
            value = json.loads(raw or "", object_pairs_hook=unique_keys, **options)  # type: ignore[arg-type]
        if _escapes_surrogate(raw):
            json.dumps(value, ensure_ascii=False, default=str).encode()  # a lone half raises UnicodeEncodeError
        return value
    except (ValueError, RecursionError, TypeError):  # UnicodeEncodeError is a ValueError
        return None


_HALF_PAIR_TEXT, _HALF_PAIR_BYTES = re.compile(r"\\u[dD][89a-fA-F]"), re.compile(rb"\\u[dD][89a-fA-F]")


def _escapes_surrogate(raw: object) -> bool:
    """The text escapes a code point of a surrogate pair (rare: only then is a parsed value checked whole)."""
    if isinstance(raw, str):
        return _HALF_PAIR_TEXT.search(raw) is not None
    return isinstance(raw, bytes) and _HALF_PAIR_BYTES.search(raw) is not None


@lru_cache(maxsize=8)
def _decoder(**options: Any) -> json.JSONDecoder:
    return json.JSONDecoder(object_pairs_hook=unique_keys, **options)


def parse_object(raw: object, **options: Any) -> dict[str, Any] | None:
    """A JSON object, or None for anything else."""
    value = parse_json(raw, **options)
    return value if isinstance(value, dict) else None


def token_count(mapping: Mapping[str, Any], key: str) -> int:
    """A token count from a log object: 0 when absent or null, InvalidInput when present but not a count."""
    value = mapping.get(key)
    if type(value) is int and 0 <= value <= MAX_BIGINT:  # the common case, without the full check's cost
        return value
    return 0 if value is None else check_count(value, key)


def stated_cost(value: object) -> Decimal | None:
    """A cost a log states for a call (OpenCode's `cost`, Claude Code's `cost_usd`): above 0 and under the cap.

    Zero is what OpenCode writes for a model it has no price for; a negative, absurd or non-numeric cost
    states nothing either, and the call is estimated as usual (as Claude Code's costUSD is).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float) or not 0 < value < MAX_COST:
        return None
    exact = Decimal(str(value))  # a float's shortest decimal form: 0.1, not 0.1000000000000000055
    if exact.as_tuple().exponent < -COST_PLACES:  # type: ignore[operator]  # a tail past the stored places
        exact = exact.quantize(Decimal(1).scaleb(-COST_PLACES))
    return exact if exact > 0 else None


def known_provider(provider: object) -> str | None:
    """The provider when the price data knows it (anthropic, openai...); else None: priced by the model alone."""
    if not isinstance(provider, str) or not provider:
        return None
    return _known_provider(provider)


@lru_cache(maxsize=256)
def _known_provider(provider: str) -> str | None:
    """Looked up once per name: a log names the same few on every call (0.35 CPU s per 100k OpenCode calls)."""
    try:
        return check_provider(provider, "provider")
    except InvalidInput:
        return None


# An agent's time follows the one time rule of every path (times.ISO_TIME, spaces around it dropped), naive
# being UTC in a log; json_lines.utc_time is the same rule in SQL. Two rules let a time one refused be stored as
# the import's time by the other, and refused '2025-10-03T09:00Z' that `--at` and `import tokens` read.


def utc_time(value: object) -> datetime | None:
    """An ISO-8601 text (times.ISO_TIME) or epoch milliseconds as naive UTC; None when it is neither, or a time
    the store cannot keep (the call is then stored at the import's time, as for no time at all)."""
    try:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return storable(datetime.fromtimestamp(float(value) / 1000, UTC).replace(tzinfo=None))
        if isinstance(value, str) and ISO_TIME_PATTERN.fullmatch(text := value.strip(SPACE_SEPARATORS)):
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return storable(parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed)
    except (ValueError, OverflowError, OSError):
        return None
    return None
