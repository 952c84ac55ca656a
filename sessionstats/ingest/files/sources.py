"""Read an import file with DuckDB's own readers (read_json, read_csv), in file order.

A table made from the scan keeps the file's order, so its rowid gives each record's index. Line numbers
are only worked out when a record is bad, by reading the file again in Python: good files never pay.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.ingest.files.bad_lines import (
    BOM,
    MAX_LINE_BYTES,
    bad_jsonl_line,
    first_bad_delimited_line,
    first_bad_jsonl_line,
    jsonl_lines,
)
from sessionstats.ingest.files.checks import whole_text
from sessionstats.store import Store

_NOT_AN_OBJECT = "\x01not an object"  # markers no real column name has
_MAYBE_NOT_TEXT = "\x01maybe not text"
_INEXACT_COUNT = "\x01count with a point or exponent"
MAX_HEADER_BYTES = 64 << 10  # a header of every known column is under 300 bytes
_EXACT_NUMBER = "cost"  # the column whose JSON numbers are read from their text (money is exact)


class ImportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


_EXTENSIONS = {".jsonl": ImportFormat.jsonl, ".ndjson": ImportFormat.jsonl, ".json": ImportFormat.jsonl,
               ".csv": ImportFormat.csv, ".tsv": ImportFormat.tsv, ".tab": ImportFormat.tsv}


def resolve_format(path: Path | None, given: ImportFormat | None) -> ImportFormat:
    """`--format` when given, else from the file's extension."""
    if given is not None:
        return given
    found = _EXTENSIONS.get(path.suffix.lower()) if path is not None else None
    if found is None:
        where = f"{path.name!r} has no known extension" if path is not None else "standard input has no extension"
        raise InvalidInput(f"format: {where}; give the format (jsonl, csv or tsv)", field="format")
    return found


@dataclass(frozen=True)
class Scan:
    """A DuckDB table function reading the file (every column as text, in file order; `$path` names the
    file), and the known columns the file has."""

    sql: str
    present: list[str]


def prepare_scan(store: Store, path: Path, fmt: ImportFormat, columns: Sequence[str],
                 text_columns: Sequence[str] = (), count_columns: Sequence[str] = ()) -> Scan:
    """Check the file's columns (the header, or every JSON object's keys) and say how to read it.

    An unknown column, a record that is not an object, a JSON value other than a string in one of
    `text_columns`, or a malformed line is InvalidInput naming its line.
    """
    if fmt is ImportFormat.jsonl:
        return _jsonl_scan(store, path, columns, text_columns, count_columns)
    return _delimited_scan(path, _delimiter(fmt), columns)


def run_scan(store: Store, sql: str, path: Path, fmt: ImportFormat, columns: Sequence[str],
             params: dict[str, object]) -> None:
    """Run a statement that reads the file; a reader error becomes InvalidInput naming the line."""
    if fmt is ImportFormat.jsonl:
        _query(store, sql, path, lambda reason: first_bad_jsonl_line(path, columns, reason), fetch=False,
               **params)
    else:
        _query(store, sql, path, lambda reason: first_bad_delimited_line(path, reason), fetch=False, **params)


def record_location(path: Path, fmt: ImportFormat, index: int) -> str:
    """Where record `index` (0-based) sits in the file, for a person: 'line 7' or 'line 8 (row 7)'."""
    if fmt is ImportFormat.jsonl:
        for number, (line_no, _) in enumerate(jsonl_lines(path)):
            if number == index:
                return f"line {line_no}"
        return f"record {index + 1}"
    for number, line_no in enumerate(_delimited_record_lines(path, _delimiter(fmt))):
        if number == index:
            return f"line {line_no} (row {index + 1})"
    return f"row {index + 1}"


# ---- JSON Lines ---------------------------------------------------------------------------------


def _jsonl_scan(store: Store, path: Path, columns: Sequence[str], text_columns: Sequence[str],
                count_columns: Sequence[str]) -> Scan:
    keys = _jsonl_keys(store, path, text_columns, count_columns)
    markers = (_NOT_AN_OBJECT, _MAYBE_NOT_TEXT, _INEXACT_COUNT)
    unknown = [k for k in keys if k not in columns and k not in markers]
    if unknown or _NOT_AN_OBJECT in keys:
        raise first_bad_jsonl_line(path, columns, text_columns=text_columns)
    if _MAYBE_NOT_TEXT in keys and (bad := bad_jsonl_line(path, columns, text_columns, count_columns)):
        raise bad
    typed = ", ".join(f"{_sql_text(c)}: 'VARCHAR'" for c in columns)
    # a marked line's keys were not listed: read every column (one it lacks is NULL)
    present = list(columns) if _MAYBE_NOT_TEXT in keys else [c for c in columns if c in keys]
    counts = [c for c in count_columns if c in present] if _INEXACT_COUNT in keys else []
    exact = [c for c in (_EXACT_NUMBER, *counts) if c in present]
    if not exact:
        return Scan(f"read_json($path, format = 'newline_delimited', columns = {{{typed}}})", present)
    return Scan(_exact_number_scan(exact, counts, typed), present)


def _exact_number_scan(keys: Sequence[str], counts: Sequence[str], typed: str) -> str:
    """Like read_json, but each of `keys` written as a JSON number is its text: DuckDB reads numbers with a
    point or exponent as doubles (1.000000000000000001 became 1.0). Its text is taken only where it reads as
    the double DuckDB parsed, so a look-alike inside another value can never be picked up; a count's text
    then becomes its exact value's digits when that is whole (1E2 is 100), as validate.check_count reads it."""
    replaced = []
    for key in keys:
        pattern = _sql_text(r'[{,]\s*"' + re.escape(key) + r'"\s*:\s*(-?[0-9][0-9.eE+-]*)\s*[,}]')
        column, text = _ident(key), f"regexp_extract(json, {pattern}, 1)"
        number = whole_text(text) if key in counts else text
        replaced.append(f"CASE WHEN try_cast({text} AS DOUBLE) = try_cast({column} AS DOUBLE) THEN {number} "
                        f"ELSE {column} END AS {column}")
    return f"""(SELECT * EXCLUDE (json) REPLACE ({', '.join(replaced)})
               FROM (SELECT json, unnest(json_transform(json, {_sql_text('{' + typed.replace("'", '"') + '}')}))
                     FROM read_ndjson_objects($path)))"""


def _jsonl_keys(store: Store, path: Path, text_columns: Sequence[str], count_columns: Sequence[str]) -> set[str]:
    """Every key of the file's objects, a marker for a record that is not an object, another for one that
    may give a text column something other than a string (read as text, `true` and `[1]` were stored as 'true'
    and '[1]'): a quick look at its text, which `bad_jsonl_line` then checks line by line (+0.27 CPU s on 1M),
    and one for a count written with a point or exponent, which must then be read from its text."""
    names = "|".join(re.escape(name) for name in text_columns) or "\x01"
    # the key (or any key spelt with a \u escape), then neither a string nor null
    text_key = '"(' + names + r'|[^"]*\\u[0-9a-fA-F]{4}[^"]*)"\s*:\s*[^"\sn]'
    counts = "|".join(re.escape(name) for name in count_columns) or "\x01"
    inexact = '"(' + counts + r')"\s*:\s*-?[0-9]+[.eE]'
    # one regular expression for both on the lines that match neither (nearly all): +0.005 CPU s on 500k
    # lines, where testing each apart cost +0.145
    sql = """SELECT DISTINCT unnest(CASE WHEN json_type(json) <> 'OBJECT' THEN [$marker]
                                         WHEN NOT regexp_matches(json, $either) THEN json_keys(json)
                                         WHEN regexp_matches(json, $text_key) THEN [$maybe] || CASE
                                           WHEN regexp_matches(json, $inexact) THEN [$inexact_marker] ELSE [] END
                                         ELSE json_keys(json) || [$inexact_marker] END)
             FROM read_ndjson_objects($path)"""  # 0.45 s on 1M rows; read_json(records = false) took 0.58 s
    rows = _query(store, sql, path, lambda reason: first_bad_jsonl_line(path, (), reason),
                  marker=_NOT_AN_OBJECT, maybe=_MAYBE_NOT_TEXT, text_key=text_key, inexact=inexact,
                  either=f"({text_key})|({inexact})", inexact_marker=_INEXACT_COUNT)
    return {row[0] for row in rows}


# ---- CSV and TSV --------------------------------------------------------------------------------


def _delimited_scan(path: Path, delimiter: str, columns: Sequence[str]) -> Scan:
    header = _header(path, delimiter)
    for name in header:
        if name not in columns:
            raise InvalidInput(f"line 1: unknown column {name!r} (known: {', '.join(columns)})")
        if header.count(name) > 1:
            raise InvalidInput(f"line 1: column {name!r} appears twice")
    if not header:  # an empty file: no rows
        return Scan("(SELECT NULL::VARCHAR AS none LIMIT 0)", [])
    _check_line_lengths(path)
    _check_no_extra_fields(path, delimiter, len(header))
    typed = ", ".join(f"{_sql_text(c)}: 'VARCHAR'" for c in header)
    # max_line_size: a record may be as long as in JSON Lines (DuckDB's default, 2 MiB, refused a 3 MB
    # narrative that `export` had written)
    return Scan(f"""read_csv($path, columns = {{{typed}}}, header = true, auto_detect = false,
                             delim = {_sql_text(delimiter)}, quote = '"', escape = '"', strict_mode = true,
                             encoding = 'utf-8', max_line_size = {MAX_LINE_BYTES})""", list(header))


def _check_line_lengths(path: Path) -> None:
    """Refuse a line longer than MAX_LINE_BYTES, naming it. DuckDB's parallel CSV reader returned NO rows and
    no error for a file with a 300 MB line (a 40 MB one was a 'Not implemented' error). Jumps from the last
    newline of one MAX_LINE_BYTES window to the next: a few memrchr calls per 100 MB."""
    import mmap

    size = path.stat().st_size
    if size <= MAX_LINE_BYTES:
        return
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as content:
        start = 0
        while size - start > MAX_LINE_BYTES:
            newline = content.rfind(b"\n", start, start + MAX_LINE_BYTES + 1)
            if newline < 0:
                line_no = content[:start].count(b"\n") + 1 if start else 1
                raise InvalidInput(f"line {line_no}: longer than {MAX_LINE_BYTES >> 20} MiB, the most a record may be")
            start = newline + 1


def _header(path: Path, delimiter: str) -> list[str]:
    """The header's column names, read from at most MAX_HEADER_BYTES of the first line."""
    with path.open("rb") as lines:
        raw = lines.readline(MAX_HEADER_BYTES + 1)
    if len(raw) > MAX_HEADER_BYTES:
        raise InvalidInput(f"line 1: the header is longer than {MAX_HEADER_BYTES >> 10} KiB; is this a CSV file?")
    try:
        text = raw.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("line 1: the header is not UTF-8 text") from None
    try:
        first = next(csv.reader(text.splitlines(), delimiter=delimiter), [])
    except csv.Error as error:
        raise InvalidInput(f"line 1: cannot read the header ({error})") from None
    return [name.strip() for name in first]


def _check_no_extra_fields(path: Path, delimiter: str, width: int) -> None:
    """Refuse a row with more fields than the header even when the extra ones are empty (`s,1,2,,`), as DuckDB
    refuses a non-empty one: it drops empty fields (`,""` too) after the last column. Only a file with a
    delimiter, or a delimiter and `""`, at a line's end is parsed again to find the row; the byte scan for one
    took 0.08 CPU s on a 31 MiB file of 500k rows, whose import took 1.7 s."""
    import mmap

    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as content:
        if not re.search(re.escape(delimiter.encode()) + rb'(?:"")?(?:[\r\n]|\Z)', content):
            return
    for line_no, record in _delimited_records(path, delimiter):
        if len(record) > width:
            raise InvalidInput(f"line {line_no}: expected {width} fields, found {len(record)}")


def _delimited_record_lines(path: Path, delimiter: str) -> Iterator[int]:
    """The line each data record starts on (records may span lines inside quotes)."""
    return (line_no for line_no, _ in _delimited_records(path, delimiter))


def _delimited_records(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each data record's fields and the line it starts on; blank lines are no records."""
    limit = csv.field_size_limit(MAX_LINE_BYTES)  # a long narrative is one field; DuckDB read it already
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as lines:
            reader = csv.reader(lines, delimiter=delimiter)
            next(reader, None)
            previous_end = reader.line_num
            for record in reader:
                if record:
                    yield previous_end + 1, record
                previous_end = reader.line_num
    except csv.Error:
        return
    finally:
        csv.field_size_limit(limit)


def _delimiter(fmt: ImportFormat) -> str:
    return "\t" if fmt is ImportFormat.tsv else ","


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _csv_problem(message: str) -> str | None:
    """DuckDB's CSV error as one line: 'line 3: expected 2 fields, found 3'."""
    found = _CSV_LINE.search(message)
    if not found:
        return None
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if fields:
        what = f"expected {fields.group(1)} fields, found {fields.group(2)}"
    elif "Maximum line size" in message:
        what = f"longer than {MAX_LINE_BYTES >> 20} MiB, the most a record may be"
    elif "unterminated quote" in message:
        what = "a quoted value is never closed"
    elif "unicode" in message.lower() or "utf-8" in message.lower():
        what = "not UTF-8 text"
    else:
        what = "cannot be read as CSV"
    return f"line {found.group(1)}: {what}"


# ---- shared -------------------------------------------------------------------------------------


def _query(store: Store, sql: str, path: Path, explain: Callable[[str], InvalidInput], *, fetch: bool = True,
           **params: str) -> list[tuple]:
    """Run a statement reading the file; DuckDB's reader error becomes InvalidInput naming the line."""
    import duckdb

    try:
        file = {"path": str(path)} if "$path" in sql else {}  # an empty CSV's scan reads no file
        cursor = store.execute(sql, {**file, **params})
        return cursor.fetchall() if fetch else []
    except duckdb.InvalidInputException as error:
        message = str(error)
        problem = _csv_problem(message)
        if problem:
            raise InvalidInput(problem) from None
        raise explain(_reader_reason(message)) from None


def _reader_reason(message: str) -> str:
    """DuckDB's reason without its file name and line (its JSON line numbers are one off): 'BOM is not ...'."""
    first = message.splitlines()[0] if message else ""
    return first.rsplit(": ", 1)[-1].strip().rstrip(".")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    """A string literal for names we chose ourselves (column names, delimiters), never user data."""
    return "'" + value.replace("'", "''") + "'"
