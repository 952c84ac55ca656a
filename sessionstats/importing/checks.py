"""SQL for checking imported values, set-based: each field gives its typed value and its problem.

The rules are the record commands' own (sessionstats.validate), written for DuckDB. Only our own
column names and messages go into this SQL; every value from the file stays data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sessionstats.validate import COST_PLACES, MAX_BIGINT, MAX_ID_LENGTH, MAX_LABEL_LENGTH

_WHOLE = r"'[0-9]+(\.0*)?'"
_DECIMAL = r"'-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?'"


@dataclass(frozen=True)
class Field:
    """An import column: `kind` is session, id, label, text, count, cost, time or seconds."""

    name: str
    kind: str
    required: bool = False


def raw_select(fields: Sequence[Field], present: Sequence[str], source: str) -> str:
    """Each field's text from the `source` scan as `raw_<name>` (NULL for a column the file lacks)."""
    parts = [f"{_ident(f.name) if f.name in present else 'NULL::VARCHAR'} AS {_raw(f)}" for f in fields]
    return f"SELECT {', '.join(parts)} FROM {source}"


def typed_value(field: Field) -> str:
    """The field's typed value, NULL when it is missing or invalid (the problem says which)."""
    raw = _raw(field)
    trimmed = f"trim({raw})"
    if field.kind == "session":  # a row without one takes --session
        return f"coalesce(nullif({trimmed}, ''), $session)"
    if field.kind == "id":
        return f"nullif({trimmed}, '')"
    if field.kind == "label":
        return f"CASE WHEN {trimmed} = '' THEN NULL ELSE {raw} END"
    if field.kind == "text":
        return raw
    # Fast paths first: a CASE tries its later branches (regular expressions) on the remaining rows only.
    if field.kind == "count":
        cast = f"try_cast({raw} AS BIGINT)"
        return (f"CASE WHEN {cast} >= 0 AND {cast}::VARCHAR = {raw} THEN {cast} "
                f"WHEN regexp_full_match({trimmed}, {_WHOLE}) "
                f"THEN try_cast(regexp_extract({trimmed}, '^[0-9]+') AS BIGINT) END")
    if field.kind == "cost":
        plain = (f"NOT contains({trimmed}, 'e') AND NOT contains({trimmed}, 'E') AND (strpos({trimmed}, '.') = 0 "
                 f"OR length({trimmed}) - strpos({trimmed}, '.') <= {COST_PLACES})")
        return (f"CASE WHEN {plain} THEN try_cast({trimmed} AS DECIMAL(38, 18)) "
                f"WHEN regexp_full_match({trimmed}, {_DECIMAL}) AND {_decimal_places(raw)} <= {COST_PLACES} "
                f"THEN try_cast({trimmed} AS DECIMAL(38, 18)) END")
    if field.kind == "time":  # a UTC time ('...Z') skips the time zone arithmetic
        return (f"CASE WHEN suffix({trimmed}, 'Z') THEN try_cast({trimmed} AS TIMESTAMP) "
                f"ELSE try_cast({trimmed} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END")
    if field.kind == "seconds":
        return f"try_cast({trimmed} AS DOUBLE)"
    raise ValueError(field.kind)


def problems(field: Field, value: str | None = None) -> list[str]:
    """`WHEN ... THEN 'message'` clauses for the field; `value` is its typed column (default: its name)."""
    raw, name = _raw(field), field.name
    value = value or _ident(name)
    got = f"' got ' || to_json(left({raw}, 60))"
    clauses = []
    if field.required:
        missing = {"label": "must not be empty", "session": "is missing (add the column or pass --session)"}
        clauses.append(f"WHEN {value} IS NULL AND ({raw} IS NULL OR trim({raw}) = '') "
                       f"THEN '{name}: {missing.get(field.kind, 'is missing')}'")
    if field.kind in ("session", "id", "label", "text"):
        if field.kind != "text":
            limit = MAX_LABEL_LENGTH if field.kind == "label" else MAX_ID_LENGTH
            what = "is" if field.kind == "label" else "the id is"
            clauses.append(f"WHEN length({value}) > {limit} THEN '{name}: {what} ' || length({value}) "
                           f"|| ' characters long (at most {limit:,})'")
        clauses.append(f"WHEN contains({value}, chr(0)) THEN '{name}: contains a NUL byte'")
    elif field.kind == "count":
        clauses.append(f"WHEN {raw} IS NOT NULL AND NOT regexp_full_match(trim({raw}), {_WHOLE}) "
                       f"THEN '{name}: must be a whole number >= 0,' || {got}")
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{name}: ' || trim({raw}) "
                       f"|| ' is too large (at most {MAX_BIGINT})'")
    elif field.kind == "cost":
        clauses.append(f"WHEN {raw} IS NOT NULL AND NOT regexp_full_match(trim({raw}), {_DECIMAL}) "
                       f"THEN '{name}: must be a number of US dollars,' || {got}")
        clauses.append(f"WHEN {raw} IS NOT NULL AND {_decimal_places(raw)} > {COST_PLACES} "
                       f"THEN '{name}: has more than {COST_PLACES} decimal places'")
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{name}: is too large,' || {got}")
        clauses.append(f"WHEN {value} < 0 THEN '{name}: must not be negative,' || {got}")
    elif field.kind == "time":
        clauses.append(f"WHEN {raw} IS NOT NULL AND {value} IS NULL "
                       f"THEN '{name}: must be an ISO 8601 time such as 2026-03-01T10:00:00Z,' || {got}")
    elif field.kind == "seconds":
        clauses.append(f"WHEN {raw} IS NOT NULL AND ({value} IS NULL OR NOT isfinite({value}) OR {value} < 0) "
                       f"THEN '{name}: must be a number of seconds >= 0,' || {got}")
    return clauses


def is_good(field: Field) -> str:
    """A cheap test that the field has no problem; the messages are only worked out for rows failing it."""
    raw, value = _raw(field), _ident(field.name)
    tests = [f"{value} IS NOT NULL"] if field.required else []
    if field.kind in ("session", "id", "label"):
        limit = MAX_LABEL_LENGTH if field.kind == "label" else MAX_ID_LENGTH
        tests.append(f"({value} IS NULL OR (length({value}) <= {limit} AND NOT contains({value}, chr(0))))")
    elif field.kind == "text":
        tests.append(f"({value} IS NULL OR NOT contains({value}, chr(0)))")
    else:
        tests.append(f"({raw} IS NULL OR {value} IS NOT NULL)")
    if field.kind == "cost":
        tests.append(f"({value} IS NULL OR {value} >= 0)")
    if field.kind == "seconds":
        tests.append(f"({value} IS NULL OR (isfinite({value}) AND {value} >= 0))")
    return " AND ".join(tests)


def first_problem(good: Sequence[str], clauses: Sequence[str]) -> str:
    """One CASE giving the first problem of a row, NULL for a good row."""
    return f"CASE WHEN NOT ({' AND '.join(good)}) THEN CASE {' '.join(clauses)} ELSE 'cannot be read' END END"


def _decimal_places(raw: str) -> str:
    """Places after the point once trailing zeros go, exponent included ('7.5e-8' has 9)."""
    trimmed = f"trim({raw})"
    return (f"(length(rtrim(regexp_extract(regexp_replace({trimmed}, '[eE].*$', ''), '\\.([0-9]*)', 1), '0')) "
            f"- coalesce(try_cast(regexp_extract({trimmed}, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0))")


def _raw(field: Field) -> str:
    return _ident("raw_" + field.name)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
