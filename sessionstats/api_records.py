"""`Database.record_many`'s records as the bulk import's CSV, and its errors in the records' words.

The records go through the same import as `import tokens`, so they meet the same field rules; this module only
writes them out (a record that CSV would change, a float cost or a list, is refused first) and names a refused
one as `records[1].input_tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from sessionstats.api import stored_time
from sessionstats.errors import InvalidInput
from sessionstats.ingest.records import TokenUsageInput
from sessionstats.validate import check_text, whole_number

_IMPORT_COLUMNS = ("session_id", "model", "provider", "input_tokens", "output_tokens", "cache_read_tokens",
                   "cache_write_tokens", "cache_write_1h_tokens", "cost", "cost_source", "request_id", "story_id",
                   "created_at", "service_tier", "speed", "tool_calls")
_IMPORT_NAMES = frozenset(_IMPORT_COLUMNS)
_SOURCE_AT, _TIME_AT = _IMPORT_COLUMNS.index("cost_source"), _IMPORT_COLUMNS.index("created_at")
_COST_AT = _IMPORT_COLUMNS.index("cost")
_PLAIN_TYPES = frozenset({str, int, float, Decimal, datetime, type(None)})  # what CSV carries as it is
_IMPORT_ROW = re.compile(r"^line \d+ \(row (\d+)\): ([a-z_0-9]+): (.*)$", re.S)
_TEXT_COLUMNS = frozenset({"session_id", "model", "provider", "cost_source", "request_id", "story_id",
                           "service_tier", "speed"})
_TEXT_OF = itemgetter(*(at for at, name in enumerate(_IMPORT_COLUMNS) if name in _TEXT_COLUMNS))
_TEXT_TYPES = frozenset({str, type(None)})
_COUNT_AT = tuple(at for at, name in enumerate(_IMPORT_COLUMNS) if name.endswith(("_tokens", "_calls")))
_COUNTS_OF = itemgetter(*_COUNT_AT)
_INEXACT = frozenset({float, Decimal})


@contextmanager
def records_file(records: Iterable[TokenUsageInput | Mapping[str, Any]]) -> Iterator[Path]:
    """The records as a CSV file the bulk import reads (datetimes written in UTC, with a Z), removed afterwards.

    CSV, not JSON Lines: writing a million rows took 1.9 s of CPU against 4.4 s with json.dumps."""
    import csv
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sessionstats-records-") as folder:
        path = Path(folder) / "records.csv"
        latest: list[Any] = []  # (number, row) being written, to name a text UTF-8 cannot carry
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(_IMPORT_COLUMNS)
            try:
                writer.writerows(_rows_noting_latest(records, latest))
            except UnicodeEncodeError:  # a lone surrogate ('\ud800'): refused as record_tokens refuses it
                number, row = latest
                for name, value in zip(_IMPORT_COLUMNS, row, strict=True):
                    if isinstance(value, str):
                        check_text(value, f"records[{number}].{name}")
                raise
        yield path


def _rows_noting_latest(records: Iterable[TokenUsageInput | Mapping[str, Any]],
                        latest: list[Any]) -> Iterator[list[Any]]:
    """_import_row of each record, noting the latest's number and row in `latest`."""
    for number, record in enumerate(records):
        row = _import_row(record, number)
        latest[:] = number, row
        yield row


def _import_row(record: TokenUsageInput | Mapping[str, Any], number: int) -> list[Any]:
    """One record's values in the order of _IMPORT_COLUMNS; None is an empty field (NULL to the import).

    A plain dict takes the short way (no ABC check, no set built per record): ~1 us of a record's ~3."""
    if type(record) is dict or (not isinstance(record, TokenUsageInput) and isinstance(record, Mapping)):
        if not record.keys() <= _IMPORT_NAMES:
            name = sorted(record.keys() - _IMPORT_NAMES)[0]
            raise InvalidInput(f"records: {name!r} is not a token record field", field="records")
        values = list(map(record.get, _IMPORT_COLUMNS))
    elif isinstance(record, TokenUsageInput):
        values = [getattr(record, name, None) for name in _IMPORT_COLUMNS]
        values[_SOURCE_AT] = record.cost_source or None
    else:
        raise InvalidInput(f"records: a record must be a TokenUsageInput or a dict, got {type(record).__name__}",
                           field="records")
    types = tuple(map(type, values))  # set tests on the types run in C: ~0.3 us a record, not ~1.4
    if (types[_COST_AT] is float or not _PLAIN_TYPES.issuperset(types)
            or not _TEXT_TYPES.issuperset(_TEXT_OF(types))):
        for name, value in zip(_IMPORT_COLUMNS, values, strict=True):  # the slow way only to name what is wrong
            _check_plain(name, value, f"records[{number}].{name}")
    if not _INEXACT.isdisjoint(_COUNTS_OF(types)):  # a float or Decimal count counts by its value (CSV would
        for at in _COUNT_AT:                        # write 1e16 as the text '1e+16')
            count = values[at]
            if isinstance(count, float | Decimal) and (whole := whole_number(Decimal(count))) is not None:
                values[at] = whole
    if "" in values:  # CSV writes "" as it writes None (no value); a space is blank text the field's rule judges
        values = [" " if value == "" else value for value in values]
    when = values[_TIME_AT]
    if isinstance(when, datetime):
        values[_TIME_AT] = stored_time(when, f"records[{number}].created_at").isoformat() + "Z"  # type: ignore[union-attr]
    return values


def record_error(error: InvalidInput) -> InvalidInput:
    """The import's 'line 3 (row 2): output_tokens: ...' in the records' words: 'records[1].output_tokens: ...'."""
    found = _IMPORT_ROW.match(str(error))
    if found is None:
        return error
    field = f"records[{int(found.group(1)) - 1}].{found.group(2)}"
    return InvalidInput(f"{field}: {found.group(3)}", field=field)


def _check_plain(name: str, value: Any, field: str) -> None:
    """A value CSV carries as it is: text, a number or a time (a cost exact, never a float); CSV would write
    a list as the text "['x']" and a float cost by its repr."""
    exact = str | int | Decimal | datetime | None
    allowed, wanted = (str | None, "text") if name in _TEXT_COLUMNS else (exact | float, "text or a number")
    if name == "cost":
        allowed, wanted = exact, "exact, a Decimal or text"
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise InvalidInput(f"{field}: must be {wanted}, got {type(value).__name__} {repr(value)[:60]}", field=field)
