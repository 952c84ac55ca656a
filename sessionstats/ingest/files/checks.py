"""SQL for checking imported values, set-based: each field gives its typed value and its problem.

The rules are the record commands' own: the limits and text patterns come from sessionstats.validate and
sessionstats.times, so the bulk path cannot drift from them (tests/test_field_rules.py runs one table of bad
values through every path). Only our own column names and messages go into this SQL; every value from the
file stays data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sessionstats.times import EARLIEST, ISO_TIME, LATEST
from sessionstats.validate import (
    CONTROL_CHARACTERS,
    COST_PLACES,
    DECIMAL_NUMBER,
    EDGE_SPACES,
    MAX_BIGINT,
    MAX_COST,
    MAX_DURATION_SECONDS,
    MAX_ID_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_TEXT_BYTES,
    WHITESPACE,
    WHOLE_NUMBER,
)

_WHOLE, _DECIMAL, _ISO_TIME = (f"'{pattern}'" for pattern in (WHOLE_NUMBER, DECIMAL_NUMBER, ISO_TIME))
_CONTROL, _EDGES = f"'{CONTROL_CHARACTERS}'", f"'{EDGE_SPACES}'"
# How ISO_TIME ends when it has an offset: after a time ('2026-01-01' ends in a day, no offset).
_OFFSET = "':[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'"
# DuckDB reads no offset after a time to the minute ('2026-01-01T10:00Z'), which Python reads: add the seconds.
_NO_SECONDS = r"'^(.{10}[T ][0-9:]{5})([Z+-])', '\1:00\2'"
_TIME_RANGE = f"BETWEEN '{EARLIEST.isoformat()}'::TIMESTAMP AND '{LATEST.isoformat()}'::TIMESTAMP"


IDS = ("session", "id", "model")  # kinds that follow validate.check_id: no control characters, ends stripped


@dataclass(frozen=True)
class Field:
    """An import column: `kind` is session, id, model, label, text, count, cost, time or seconds.

    `blank_refused`: a value given as blank text is refused, as the record command refuses `--request-id ""`
    (an empty CSV cell is no value: it stays missing)."""

    name: str
    kind: str
    required: bool = False
    blank_refused: bool = False


def raw_select(fields: Sequence[Field], present: Sequence[str], source: str) -> str:
    """Each field's text from the `source` scan as `raw_<name>` (NULL for a column the file lacks)."""
    parts = [f"{_ident(f.name) if f.name in present else 'NULL::VARCHAR'} AS {_raw(f)}" for f in fields]
    return f"SELECT {', '.join(parts)} FROM {source}"


def typed_value(field: Field) -> str:
    """The field's typed value, NULL when it is missing or invalid (the problem says which)."""
    raw = _raw(field)
    trimmed = f"trim({raw})"
    stripped = f"nullif(regexp_replace({raw}, {_EDGES}, '', 'g'), '')"  # an id, as validate.check_id strips it
    if field.kind == "session":  # a row without one takes the import's default session
        return f"coalesce({stripped}, $session)"
    if field.kind == "id":
        return stripped
    if field.kind == "model":
        return f"lower({stripped})"
    if field.kind == "label":
        return f"CASE WHEN {_blank(raw)} THEN NULL ELSE {raw} END"
    if field.kind == "text":
        return raw
    # Fast paths first: a CASE tries its later branches (regular expressions) on the remaining rows only.
    if field.kind == "count":
        return whole_count(raw)
    if field.kind in ("cost", "seconds"):  # numbers lose only ASCII spaces, as validate.parse_decimal reads them
        trimmed = _spaces_trimmed(raw)
    if field.kind == "cost":
        # DuckDB's cast also reads '1_000', '+1' and '0.5<tab>', which DECIMAL_NUMBER refuses: the slow path's.
        plain = (f"NOT contains({trimmed}, 'e') AND NOT contains({trimmed}, 'E') AND NOT contains({trimmed}, '_') "
                 f"AND ascii({trimmed}) BETWEEN 45 AND 57 AND ascii(right({trimmed}, 1)) BETWEEN 46 AND 57 "
                 f"AND NOT starts_with({trimmed}, '+') AND (strpos({trimmed}, '.') = 0 "
                 f"OR length({trimmed}) - strpos({trimmed}, '.') <= {COST_PLACES})")
        return (f"CASE WHEN {plain} THEN try_cast({trimmed} AS DECIMAL(38, 18)) "
                f"WHEN regexp_full_match({trimmed}, {_DECIMAL}) AND {_decimal_places(raw)} <= {COST_PLACES} "
                f"THEN try_cast({trimmed} AS DECIMAL(38, 18)) END")
    if field.kind == "time":
        return time_value(trimmed)
    if field.kind == "seconds":
        # + 0.0: -0.0 is 0, as validate.parse_number reads it
        return f"CASE WHEN regexp_full_match({trimmed}, {_DECIMAL}) THEN try_cast({trimmed} AS DOUBLE) + 0.0 END"
    raise ValueError(field.kind)


def time_value(trimmed: str, *, naive_utc: bool = False) -> str:
    """SQL: an ISO_TIME text (its spaces trimmed) as naive UTC, NULL when it is none. A time without an offset
    is in the session's zone, or UTC with `naive_utc` (an agent's log): the one time rule of every path."""
    written_out = f"regexp_replace({trimmed}, {_NO_SECONDS})"
    naive = (f"WHEN NOT regexp_matches({trimmed}, {_OFFSET}) THEN try_cast({trimmed} AS TIMESTAMP) "
             if naive_utc else "")
    return (f"CASE WHEN NOT regexp_full_match({trimmed}, {_ISO_TIME}) THEN NULL "  # a UTC time ('...Z') skips
            f"WHEN suffix({trimmed}, 'Z') THEN coalesce(try_cast({trimmed} AS TIMESTAMP), "  # the zone arithmetic
            f"try_cast({written_out} AS TIMESTAMP)) {naive}"
            f"ELSE coalesce(try_cast({trimmed} AS TIMESTAMPTZ), try_cast({written_out} AS TIMESTAMPTZ)) "
            "AT TIME ZONE 'UTC' END")


def whole_count(text: str) -> str:
    """The count a text holds, as validate.check_count reads it; NULL when it is no whole number (12.5 is not 13)."""
    cast, trimmed = f"try_cast({text} AS BIGINT)", _spaces_trimmed(text)
    # Fast path first: a CASE tries its later branch (a regular expression) on the remaining rows only.
    return (f"CASE WHEN {cast} >= 0 AND {cast}::VARCHAR = {text} THEN {cast} "
            f"WHEN regexp_full_match({trimmed}, {_WHOLE}) "
            f"THEN try_cast(regexp_extract({trimmed}, '^-?[0-9]+') AS BIGINT) END")  # '-0' is 0


def whole_text(number: str) -> str:
    """A JSON number's text as the digits of its exact value when that is whole ('1E2' is '100', '-0.0' is '0'),
    else as it is ('1.5', '1.00000000000000000001'), for whole_count to judge as validate.check_count does."""
    whole = f"coalesce(try_cast(try_cast({number} AS DECIMAL(38, 0)) AS VARCHAR), {number})"
    return f"CASE WHEN {_decimal_places(number)} <= 0 THEN {whole} ELSE {number} END"


def checked_rows(table: str, fields: Sequence[Field]) -> str:
    """`table` again with ids and models as every path stores them (stripped, lower-cased) and a `problem`.

    For rows another reader staged already typed (Claude Code, llm): the fields' rules in SQL, as on import.
    """
    raws = ", ".join(f"{_ident(f.name)}::VARCHAR AS {_raw(f)}" for f in fields)
    retyped = ", ".join(f"{typed_value(f)} AS {_ident(f.name)}" for f in fields if f.kind in IDS)
    good, clauses = [is_good(f) for f in fields], [c for f in fields for c in problems(f)]
    return f"""SELECT * EXCLUDE ({', '.join(_raw(f) for f in fields)}), {first_problem(good, clauses)} AS problem
               FROM (SELECT * REPLACE ({retyped}) FROM (SELECT *, {raws} FROM {table}))"""


def problems(field: Field, value: str | None = None) -> list[str]:
    """`WHEN ... THEN 'message'` clauses for the field; `value` is its typed column (default: its name)."""
    raw, name = _raw(field), field.name
    value = value or _ident(name)
    got = f"' got ' || to_json(left({raw}, 60))"
    clauses = []
    if field.required:
        missing = {"label": "must not be empty", "session": "is missing (add the column or pass `session_id`)"}
        clauses.append(f"WHEN {value} IS NULL AND ({raw} IS NULL OR {_blank(raw)}) "
                       f"THEN '{name}: {missing.get(field.kind, 'is missing')}'")
    if field.blank_refused:
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{name}: the id is empty'")
    if field.kind in IDS:
        clauses.append(f"WHEN regexp_matches({raw}, {_CONTROL}) THEN '{name}: the id contains a control "
                       f"character (' || printf('U+%04X', unicode(regexp_extract({raw}, {_CONTROL}))) || ')'")
    if field.kind in (*IDS, "label", "text"):
        if field.kind != "text":
            limit = MAX_LABEL_LENGTH if field.kind == "label" else MAX_ID_LENGTH
            what = "is" if field.kind == "label" else "the id is"
            clauses.append(f"WHEN length({value}) > {limit} THEN '{name}: {what} ' || format('{{:,}}', length({value}))"
                           f" || ' characters long (at most {limit:,})'")
        clauses.append(f"WHEN contains({value}, chr(0)) THEN '{name}: contains a NUL byte'")
        if field.kind == "text":
            clauses.append(f"WHEN strlen({value}) > {MAX_TEXT_BYTES} THEN '{name}: is ' || format('{{:,}}', "
                           f"strlen({value})) || ' bytes of UTF-8 text (at most {MAX_TEXT_BYTES:,})'")
    elif field.kind == "count":
        clauses.append(f"WHEN {raw} IS NOT NULL AND NOT regexp_full_match({_spaces_trimmed(raw)}, {_WHOLE}) "
                       f"THEN '{name}: must be a whole number >= 0,' || {got}")
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{name}: ' || trim({raw}) "
                       f"|| ' is too large (at most {MAX_BIGINT})'")
    elif field.kind == "cost":
        clauses.append(f"WHEN {raw} IS NOT NULL AND NOT regexp_full_match({_spaces_trimmed(raw)}, {_DECIMAL}) "
                       f"THEN '{name}: must be a number of US dollars,' || {got}")
        clauses.append(f"WHEN {raw} IS NOT NULL AND {_decimal_places(raw)} > {COST_PLACES} "
                       f"THEN '{name}: has more than {COST_PLACES} decimal places'")
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{name}: is too large,' || {got}")
        clauses.append(f"WHEN {value} < 0 THEN '{name}: must not be negative,' || {got}")
        clauses.append(f"WHEN {value} >= {MAX_COST} THEN '{name}: is too large (a record must cost under "
                       f"{MAX_COST:,} US dollars),' || {got}")
    elif field.kind == "time":
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL "
                       f"THEN '{name}: must be an ISO 8601 time such as 2026-03-01T10:00:00Z,' || {got}")
        clauses.append(f"WHEN NOT {value} {_TIME_RANGE} "
                       f"THEN '{name}: ' || to_json(trim({raw})) || ' is too far in the past or future to store'")
    elif field.kind == "seconds":
        clauses.append(f"WHEN {raw} IS NOT NULL AND ({value} IS NULL OR NOT isfinite({value}) OR {value} < 0) "
                       f"THEN '{name}: must be a number of seconds >= 0,' || {got}")
        clauses.append(f"WHEN {value} > {MAX_DURATION_SECONDS} THEN '{name}: ' || trim({raw}) "
                       f"|| ' seconds is more than a year (at most {MAX_DURATION_SECONDS:,})'")
    return clauses


def is_good(field: Field) -> str:
    """A cheap test that the field has no problem; the messages are only worked out for rows failing it."""
    raw, value = _raw(field), _ident(field.name)
    tests = [f"{value} IS NOT NULL"] if field.required else []
    if field.kind in (*IDS, "label"):
        limit = MAX_LABEL_LENGTH if field.kind == "label" else MAX_ID_LENGTH
        tests.append(f"({value} IS NULL OR (length({value}) <= {limit} AND NOT contains({value}, chr(0))))")
    if field.kind in IDS:
        tests.append(f"({raw} IS NULL OR NOT regexp_matches({raw}, {_CONTROL}))")
    elif field.kind == "text":
        tests.append(f"({value} IS NULL OR (NOT contains({value}, chr(0)) AND strlen({value}) <= {MAX_TEXT_BYTES}))")
    elif field.kind != "label":  # a blank label is no label (check_label), not a value that failed to read
        tests.append(f"({raw} IS NULL OR {value} IS NOT NULL)")
    if field.blank_refused:
        tests.append(f"({raw} IS NULL OR {value} IS NOT NULL)")
    if field.kind == "cost":
        tests.append(f"({value} IS NULL OR ({value} >= 0 AND {value} < {MAX_COST}))")
    if field.kind == "seconds":
        tests.append(f"({value} IS NULL OR (isfinite({value}) AND {value} >= 0 AND {value} <= {MAX_DURATION_SECONDS}))")
    if field.kind == "time":
        tests.append(f"({value} IS NULL OR {value} {_TIME_RANGE})")
    return " AND ".join(tests)


def offset_required(field: Field) -> tuple[str, str]:
    """(good-row test, clause) refusing a time without an offset, for when no zone can be named to read it in."""
    raw = _raw(field)
    has_offset = f"({raw} IS NULL OR regexp_matches(trim({raw}), {_OFFSET}))"
    return has_offset, (f"WHEN NOT {has_offset} THEN '{field.name}: ' || to_json(trim({raw})) || ' has no offset, "
                        "and the local time zone has no name to read it in; add one (Z, +01:00) or pass `tz`'")


def first_problem(good: Sequence[str], clauses: Sequence[str]) -> str:
    """One CASE giving the first problem of a row, NULL for a good row."""
    return f"CASE WHEN NOT ({' AND '.join(good)}) THEN CASE {' '.join(clauses)} ELSE 'cannot be read' END END"


def _blank(text: str) -> str:
    """Whether the text is empty or all whitespace, as `not text.strip()` says in validate.check_label (trim()
    keeps a tab, a newline and U+2028); a printable ASCII first character skips the regular expression."""
    return (f"(NOT (unicode({text}) BETWEEN 33 AND 126) "
            f"AND regexp_full_match({text}, '{WHITESPACE}*'))")


def _spaces_trimmed(text: str) -> str:
    """The text without the ASCII spaces at its ends, as validate.check_count strips them (DuckDB's trim()
    alone also strips a no-break space, which no count has)."""
    return f"trim({text}, ' ')"


def _decimal_places(raw: str) -> str:
    """Places after the point of the number's exact value, as validate.parse_cost counts them: '7.5e-8' has 9,
    '1.50' 1, '100e-20' 18, '0e-30' none (an exponent past any integer still counts, as a DOUBLE)."""
    trimmed = f"trim({raw})"
    mantissa = f"regexp_replace({trimmed}, '[eE].*$', '')"
    digits = f"regexp_replace({mantissa}, '[^0-9]', '', 'g')"
    fraction = f"length(regexp_extract({mantissa}, '\\.([0-9]*)', 1))"
    trailing = f"(length({digits}) - length(rtrim({digits}, '0')))"
    written = f"regexp_extract({trimmed}, '[eE]([+-]?[0-9]+)$', 1)"
    exponent = (f"coalesce(try_cast(nullif({written}, '') AS DOUBLE), CASE WHEN {written} = '' THEN 0 "
                f"WHEN starts_with({written}, '-') THEN -1e308 ELSE 1e308 END)")
    return f"(CASE WHEN rtrim({digits}, '0') = '' THEN 0 ELSE {fraction} - {trailing} - {exponent} END)"


def _raw(field: Field) -> str:
    return _ident("raw_" + field.name)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
