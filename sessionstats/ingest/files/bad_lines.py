"""Why a file DuckDB would not read is bad, found by reading it again in Python, bounded: the line and
the reason. Only a failed import pays for this; every line read is capped at MAX_LINE_BYTES.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.validate import DuplicateKey, check_count, check_text, refuse_constant, unique_keys

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 16 << 20  # DuckDB's own limit on one JSON object (maximum_object_size)


def first_bad_jsonl_line(path: Path, columns: Sequence[str], reason: str = "", *,
                         text_columns: Sequence[str] = ()) -> InvalidInput:
    """The first line that is not a JSON object, has a column we do not know, or gives one of `text_columns`
    a value that is not a string; else DuckDB's `reason`."""
    bad = bad_jsonl_line(path, columns, text_columns)
    return bad or InvalidInput(f"{path.name}: cannot read it as JSON Lines{f' ({reason})' if reason else ''}")


def bad_jsonl_line(path: Path, columns: Sequence[str], text_columns: Sequence[str] = (),
                   count_columns: Sequence[str] = ()) -> InvalidInput | None:
    """What is wrong with the first bad line (see first_bad_jsonl_line; also a number in one of `count_columns`
    whose exact value is no count), or None when every line is good."""
    for line_no, raw in jsonl_lines(path):
        problem = _json_object_problem(raw, columns, text_columns, count_columns)
        if problem:
            return InvalidInput(f"line {line_no}: {problem}")
    return None


class _Number(str):
    """A JSON number kept as its text."""


def _json_object_problem(raw: bytes, columns: Sequence[str], text_columns: Sequence[str] = (),
                         count_columns: Sequence[str] = ()) -> str | None:
    """What is wrong with one line as a record, or None. Numbers stay text: 5,000 digits are no trouble."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 text (byte 0x{raw[error.start]:02x} at byte {error.start + 1} of the line)"
    try:
        record = json.loads(text, parse_int=_Number, parse_float=_Number, parse_constant=refuse_constant,
                            object_pairs_hook=unique_keys)
    except DuplicateKey as error:
        return str(error)
    except json.JSONDecodeError as error:
        hint = "; a lone CR inside it: mixed line ends?" if "\r" in text.rstrip("\r\n") else ""
        return f"not valid JSON ({error.msg} at column {error.colno}){hint}"
    except ValueError as error:
        return f"not valid JSON ({error})"
    except RecursionError:
        return "not a record: its JSON is nested too deeply"
    if not isinstance(record, dict):
        return f"expected a JSON object, got {_JSON_KINDS.get(type(record), type(record).__name__)}"
    unknown = [key for key in record if key not in columns]
    if columns and unknown:
        return f"unknown column {unknown[0]!r} (known: {', '.join(columns)})"
    for name in text_columns:
        value = record.get(name)
        if value is not None and type(value) is not str:  # a _Number is a str too
            shown = str(value) if isinstance(value, _Number) else json.dumps(value) if isinstance(value, bool) \
                else _JSON_KINDS.get(type(value), "an object")
            return f"{name}: must be text, got {shown[:60]}"
    return _text_problem(record) or _count_problem(record, count_columns)


def _text_problem(record: dict) -> str | None:
    """A text DuckDB's reader cannot take ('\\ud800' alone), named as the record command names it."""
    for name, value in record.items():
        if type(value) is str:
            try:
                check_text(value, name)
            except InvalidInput as error:
                return str(error)
    return None


def _count_problem(record: dict, count_columns: Sequence[str]) -> str | None:
    """A count written as a number with a point or exponent, judged by its exact value (a key spelt with a
    \\u escape hides it from the import's exact reading of such numbers, which DuckDB reads as doubles)."""
    for name in count_columns:
        value = record.get(name)
        if isinstance(value, _Number) and not value.isdigit():
            try:
                check_count(Decimal(value), name)
            except InvalidInput as error:
                return str(error)
    return None


_JSON_KINDS = {list: "an array", str: "a string", _Number: "a number", type(None): "null", bool: "true or false"}


def jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line, split at LF as DuckDB does; DuckDB skips blank lines,
    so records are these. A first-line byte order mark is dropped (the CLI reads such a file from a copy)."""
    for line_no, raw in _bounded_lines(path):
        if line_no == 1:
            raw = raw.removeprefix(BOM)
        if raw.strip():
            yield line_no, raw


def _bounded_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Each LF-ended line of the file with its number; a line over MAX_LINE_BYTES is InvalidInput."""
    with path.open("rb") as lines:
        line_no = 0
        while raw := lines.readline(MAX_LINE_BYTES + 1):
            line_no += 1
            if len(raw) > MAX_LINE_BYTES:
                raise InvalidInput(f"line {line_no}: longer than {MAX_LINE_BYTES >> 20} MiB, the most a "
                                   "record may be")
            yield line_no, raw


def first_bad_delimited_line(path: Path, reason: str) -> InvalidInput:
    """The first line that is not UTF-8 or ends differently from line 1 (CR, LF, CRLF), else DuckDB's reason."""
    first_end = None
    for line_no, (text, end) in enumerate(_physical_lines(path), start=1):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as error:
            return InvalidInput(f"line {line_no}: not UTF-8 text (byte 0x{text[error.start]:02x} at byte "
                                f"{error.start + 1} of the line)")
        first_end = first_end or end
        if end and end != first_end:
            return InvalidInput(f"line {line_no}: ends in {_ENDINGS[end]} where line 1 ends in "
                                f"{_ENDINGS[first_end]}; use one kind of line end throughout")
    return InvalidInput(f"{path.name}: cannot read it as CSV{f' ({reason})' if reason else ''}")


_ENDINGS = {b"\r\n": "CRLF", b"\n": "LF", b"\r": "a lone CR"}
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _physical_lines(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """(text, line end) of each line as an editor counts them: CRLF, LF and a lone CR each end one."""
    for _, raw in _bounded_lines(path):
        start = 0
        for end in _LINE_END.finditer(raw):
            yield raw[start:end.start()], end.group()
            start = end.end()
        if start < len(raw):
            yield raw[start:], b""
