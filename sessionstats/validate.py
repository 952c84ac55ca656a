"""The field rules: one check per field, shared by every way a record comes in.

Each failure is InvalidInput(field=...) naming the field as the core knows it (`input_tokens`), never a
CLI flag. The limits and text patterns here are also what importing/checks.py turns into SQL for the bulk
path, so the two cannot drift: change a rule here and both follow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from sessionstats.errors import InvalidInput

MAX_BIGINT = 2**63 - 1
MAX_ID_LENGTH = 200
MAX_LABEL_LENGTH = 1_000
MAX_TEXT_BYTES = 16 << 20  # a story's narrative as UTF-8: a novel is ~1 MiB; what --narrative-file reads at most
COST_PLACES = 18  # DECIMAL(38, 18): exact down to a billionth of a billionth of a dollar
# Per record, below $1e9: a DECIMAL(38, 18) total holds < 1e20, so a session can sum 1e11 records
# before its total could overflow (at 1e20 per record, two records broke `show` and `list`).
MAX_COST = Decimal(10) ** 9
# A story takes seconds or hours to make; a year is far past any real one and keeps sums far from overflow.
MAX_DURATION_SECONDS = 366 * 86_400
# A session's settings are a few names and values; these keep one row readable by every later read, whatever
# recursion limit the writing process had (a settings object 5,000 deep was a RecursionError traceback).
MAX_SETTINGS_BYTES = 1 << 20
MAX_SETTINGS_DEPTH = 64

# Patterns written once, in the syntax both Python's re and DuckDB's RE2 read the same way.
# C0, DEL and C1, and the invisible format controls (soft hyphen, zero-width characters, bidi embeddings,
# overrides and isolates, word joiners, BOM): never part of an id. `r1` and `r1<U+200B>` look one request and
# would count twice; a right-to-left override in a session id would reverse what a table shows after it.
_CONTROL_RANGES = ((0x00, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x200B, 0x200F), (0x202A, 0x202E),
                   (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF))
CONTROL_CHARACTERS = "[" + "".join(f"\\x{{{low:02X}}}-\\x{{{high:02X}}}" for low, high in _CONTROL_RANGES) + "]"
EDGE_SPACES = r"^\p{Z}+|\p{Z}+$"  # what an id loses at its ends (control characters are refused first)
# Unicode's space separators (Zs), what DuckDB's trim() strips: all a time loses at its ends, on every path.
SPACE_SEPARATORS = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
_EDGE_SPACE_CHARACTERS = SPACE_SEPARATORS + "\u2028\u2029"  # \p{Z}: the line and paragraph separators too
# What str.isspace() takes (compared over every code point): a label of only these is no label on every path.
WHITESPACE = r"[\t-\r\x{1C}-\x{20}\x{85}\p{Z}]"
# A count's text: ASCII digits ('²'.isdigit() is True, yet it is no count), a point and zeros after them at most,
# a minus only on zero (-0 and -0.0 are 0: DuckDB's JSON reader writes the JSON number -0.0 so). See check_count.
WHOLE_NUMBER = r"(-0+|[0-9]+)(\.0*)?"
DECIMAL_NUMBER = r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"

_ONE_CHARACTER_LOWER = {"\u0130": "i"}  # İ: the one character str.lower() makes two (i and a combining dot)
_CONTROL = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _CONTROL_RANGES) + "]")
_WHOLE = re.compile(WHOLE_NUMBER)
_DECIMAL = re.compile(DECIMAL_NUMBER)


def check_id(value: str | None, field: str) -> str:
    """A non-empty id of printable text, at most 200 characters, without spaces at its ends.

    A control character anywhere is refused rather than stripped: `r1` and `r1\\n` must not be two requests.
    """
    _check_is_text(value, field)
    control = _CONTROL.search(value or "")
    if control:
        raise InvalidInput(f"{field}: the id contains a control character (U+{ord(control.group()):04X})",
                           field=field)
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{field}: the id is empty", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(f"{field}: the id is {len(value):,} characters long (at most {MAX_ID_LENGTH})",
                           field=field)
    return check_text(value, field)


def check_model(value: str | None, field: str = "model") -> str | None:
    """A model name as an id, lower-cased: `GPT-4O` and ` gpt-4o ` are one model everywhere; spaces alone are
    no model, a tab is a control character (as the import reads it)."""
    if value is None or not _check_is_text(value, field).strip(_EDGE_SPACE_CHARACTERS):
        return None
    return lower_as_stored(check_id(value, field))


def lower_as_stored(text: str) -> str:
    """`text` lower-cased as SQL's lower() does it, so an import and the record command store one name: each
    character on its own. str.lower() made 'ΟΔΟΣ' 'οδος' (a final sigma) and 'İ' two characters, where
    DuckDB makes 'οδοσ' and 'i' (every code point was compared)."""
    if text.isascii():
        return text.lower()
    return "".join(_ONE_CHARACTER_LOWER.get(character, character.lower()) for character in text)


def check_label(value: str | None, field: str, *, required: bool = False) -> str | None:
    """A short text such as a name, title, tone or priority: no NUL, at most 1,000 characters."""
    if value is None or not _check_is_text(value, field).strip():
        if required:
            raise InvalidInput(f"{field}: must not be empty", field=field)
        return None
    if len(value) > MAX_LABEL_LENGTH:
        raise InvalidInput(f"{field}: is {len(value):,} characters long (at most {MAX_LABEL_LENGTH:,})",
                           field=field)
    return check_text(value, field)


def check_text(value: str, field: str) -> str:
    """Refuse text the database or a terminal would mangle: NUL bytes and lone surrogates."""
    if "\x00" in _check_is_text(value, field):
        raise InvalidInput(f"{field}: contains a NUL byte", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field}: is not valid UTF-8 text", field=field) from None
    return value


def check_long_text(value: str, field: str) -> str:
    """A long text such as a narrative: check_text's rules, and at most MAX_TEXT_BYTES of UTF-8 on every path
    (a JSON Lines import and the API took 20 MiB that --narrative-file, a web body and a CSV row refused)."""
    check_text(value, field)
    if len(value) * 4 > MAX_TEXT_BYTES and (size := len(value.encode("utf-8"))) > MAX_TEXT_BYTES:
        raise InvalidInput(f"{field}: is {size:,} bytes of UTF-8 text (at most {MAX_TEXT_BYTES:,})", field=field)
    return value


def _check_is_text(value: Any, field: str) -> Any:
    """The Python API hands values in as given: a number or bytes where text belongs is named, not crashed on."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field}: must be text, got {type(value).__name__} {repr(value)[:60]}", field=field)
    return value


def check_count(value: Any, field: str) -> int:
    """A whole number from 0 to 2^63-1 (token counts, word counts), never rounded; the one rule of every path in.

    A number (an int, or a JSON number read exactly, as a Decimal) is judged by its exact value: 12, 12.0, 1.2E1,
    0e5 and -0.0 are counts (12, 12, 12, 0, 0); 12.5, 1.00000000000000000001, -1, 1e400 and 2^63 are not.
    A text (a CSV cell, an option, a JSON string) is judged by WHOLE_NUMBER: '12', ' 12 ', '12.0' and '-0' are
    counts, '1e3', '+1', '1_000' and '١٢' are not. true and false are no counts.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        value = _whole(value, field)
    if value < 0:
        raise InvalidInput(f"{field}: must be a whole number >= 0, got {value}", field=field)
    if value > MAX_BIGINT:
        raise InvalidInput(f"{field}: {value} is too large (at most {MAX_BIGINT})", field=field)
    return value


def check_limit(value: Any, field: str = "limit") -> int:
    """How many rows to show: a whole number from 1 to 2^63-1 (not True, 1.5 or "5": SQL would take them)."""
    if type(value) is not int or not 1 <= value <= MAX_BIGINT:
        raise InvalidInput(f"{field}: must be from 1 to {MAX_BIGINT}, got {value!r}", field=field)
    return value


def _whole(value: Any, field: str) -> int:
    """A float, Decimal or text that is a whole number, as an int; anything else is refused."""
    if isinstance(value, float | Decimal):
        whole = whole_number(Decimal(value))
        if whole is not None:
            return whole
        if Decimal(value).is_finite() and Decimal(value).adjusted() >= 19 and value > 0:
            raise InvalidInput(f"{field}: {value} is too large (at most {MAX_BIGINT})", field=field)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip(" ")):
        return int(value.strip(" ").partition(".")[0])
    odd_digits = isinstance(value, str) and not value.isascii() and any(c.isdigit() for c in value)
    hint = " (only the digits 0-9)" if odd_digits else ""
    shown = str(value) if isinstance(value, float | Decimal) else repr(value)[:60]  # 1.5, not Decimal('1.5')
    raise InvalidInput(f"{field}: must be a whole number >= 0, got {shown}{hint}", field=field)


def parse_decimal(text: str, field: str) -> Decimal:
    """A number written as every import reads one ('12.5', '1e3', '-2'), exactly. Decimal() and float() alone
    also read '١٢', '１２', '1_000', '+5', 'nan' and 'infinity', which no import takes."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text.strip(" ")):
        odd_digits = isinstance(text, str) and not text.isascii() and any(c.isdigit() for c in text)
        hint = " (only the digits 0-9)" if odd_digits else ""
        shown = text.strip() if isinstance(text, str) and text.strip() else repr(text)
        shown = "nan" if shown.lower() == "nan" else shown  # NaN, nan, NAN: one thing, named as before
        raise InvalidInput(f"{field}: {shown} is not a number such as 12.5{hint}", field=field)
    number = Decimal(text.strip(" "))
    return number.copy_abs() if number.is_zero() else number  # -0 is 0 (no arithmetic: 1e99999999 + 0 overflows)


def parse_number(text: str, field: str) -> float:
    """parse_decimal's number as a float, for what is no money (seconds, percentages)."""
    return float(parse_decimal(text, field))


def whole_number(number: Decimal) -> int | None:
    """The int a Decimal holds when it is whole and under 10^19, else None. Compared before int(): int() of
    a JSON number such as 1e99999999 builds all its digits (minutes of CPU for one request)."""
    if number.is_finite() and number.adjusted() < 19 and number == number.to_integral_value():
        return int(number)
    return None


def check_seconds(value: float | int | Decimal | str | None, field: str) -> float | None:
    """A finite number of seconds from 0 to a year, or None; a Decimal (a JSON number) or a number as text
    is read as the import reads its text."""
    if value is None:
        return None
    given = value
    if isinstance(value, Decimal | str) and _DECIMAL.fullmatch(str(value).strip(" ")):
        value = parse_number(str(value), field)
    # `not 0 <= x < inf` refuses NaN and infinity as the import does ('1e400' is no number of seconds there either)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise InvalidInput(f"{field}: must be a number of seconds >= 0, got {_shown(given)}", field=field)
    if value > MAX_DURATION_SECONDS:
        raise InvalidInput(f"{field}: {_shown(given)} seconds is more than a year (at most {MAX_DURATION_SECONDS:,})",
                           field=field)
    return float(value) + 0.0  # -0.0 is 0, as every import stores it


def _shown(value: Any) -> str:
    """A value as a message names it: a number as written (1E+9, not Decimal('1E+9')), anything else as repr."""
    return str(value) if isinstance(value, Decimal | int | float) and not isinstance(value, bool) else \
        repr(value)[:60]


def parse_cost(value: str | int | Decimal | None, field: str) -> Decimal | None:
    """An exact, non-negative cost in USD under $1e9 with at most 18 decimal places, read from its text."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: must be a number of US dollars, got {value!r}", field=field)
    if isinstance(value, float):  # 0.1 + 0.2 is 0.30000000000000004: money is never a float, on any path
        raise InvalidInput(f"{field}: must be exact, a Decimal or text such as '0.0123', not the float {value!r}",
                           field=field)
    text = value.strip(" ") if isinstance(value, str) else str(value)
    if not isinstance(value, Decimal) and not _DECIMAL.fullmatch(text):
        raise InvalidInput(f"{field}: must be a number of US dollars, got {value!r}", field=field)
    try:
        cost = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{field}: must be a number of US dollars, got {value!r}", field=field) from None
    if not cost.is_finite():
        raise InvalidInput(f"{field}: must be a finite number, got {_shown(value)}", field=field)
    if cost < 0:
        raise InvalidInput(f"{field}: must not be negative, got {_shown(value)}", field=field)
    if cost >= MAX_COST:
        raise InvalidInput(f"{field}: {_shown(value)} is too large (a record must cost under {MAX_COST:,} US "
                           "dollars)", field=field)
    with localcontext() as exact:
        exact.prec = 60
        if cost != cost.quantize(Decimal(1).scaleb(-COST_PLACES)):
            raise InvalidInput(f"{field}: has more than {COST_PLACES} decimal places", field=field)
        return cost + 0  # normalises -0 to 0


def check_estimate(cost: Decimal | None) -> Decimal | None:
    """An estimated cost holds to the limit a given one does, so no sum of records can overflow."""
    if cost is not None and cost >= MAX_COST:
        raise InvalidInput(f"total_tokens: at the model's prices these tokens cost {cost.normalize():,f} US "
                           f"dollars; a record must cost under {MAX_COST:,}", field="total_tokens")
    return cost


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs into a dict; a VALUE that reads as JSON keeps its type."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"settings: expected KEY=VALUE, got {pair!r}", field="settings")
        check_text(pair, "settings")
        try:
            settings[key.strip()] = json.loads(raw, parse_constant=refuse_constant, object_pairs_hook=unique_keys)
        except RecursionError:
            raise _too_deep() from None
        except ValueError:
            settings[key.strip()] = raw
    return settings


def settings_json(settings: Any) -> str:
    """A session's settings as the JSON object stored: names to JSON values; NaN, sets and objects are refused."""
    if not isinstance(settings, Mapping):
        raise InvalidInput(f"settings: must be a mapping of names to values, got {type(settings).__name__}",
                           field="settings")
    _check_settings_values(settings)
    try:  # a Decimal (as JSON bodies are read) is a number; settings are no money, so a float is exact enough
        text = json.dumps(dict(settings), allow_nan=False, default=_json_number)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"settings: cannot be stored as JSON ({error})", field="settings") from None
    if len(text) > MAX_SETTINGS_BYTES:  # ASCII: json.dumps escapes the rest
        raise InvalidInput(f"settings: {len(text):,} bytes of JSON (at most {MAX_SETTINGS_BYTES:,}); keep large "
                           "data outside the session", field="settings")
    return text


def _check_settings_values(settings: Mapping) -> None:
    """Each name and text in the settings as any text field is checked (json.dumps would escape a NUL or a lone
    surrogate the name of a session refuses), no deeper than MAX_SETTINGS_DEPTH; walked without recursion, so a
    cycle is only too deep."""
    pending: list[tuple[Any, int]] = [(settings, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            check_text(item, "settings")
        elif isinstance(item, Mapping | list | tuple):
            if depth > MAX_SETTINGS_DEPTH:
                raise _too_deep()
            children = [*item.keys(), *item.values()] if isinstance(item, Mapping) else item
            pending.extend((child, depth + 1) for child in children)


def _too_deep() -> InvalidInput:
    return InvalidInput(f"settings: nests more than {MAX_SETTINGS_DEPTH} levels deep", field="settings")


def _json_number(value: Any) -> float:
    if isinstance(value, Decimal) and value.is_finite():
        return float(value)
    raise TypeError(f"{type(value).__name__} {repr(value)[:60]} is not a JSON value")


# JSON read the one way every path in reads it: an object that names a key twice is refused (which of its values
# counts would be a guess: Python keeps the last, DuckDB the first), and so are NaN and Infinity.
class DuplicateKey(ValueError):
    """An object names `key` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} appears twice in the object")
        self.key = key


def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json.loads' object_pairs_hook: the object as a dict, or DuplicateKey (in linear time: an object may be huge)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


def refuse_constant(name: str) -> object:
    """json.loads' parse_constant: NaN, Infinity and -Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not a JSON number")
