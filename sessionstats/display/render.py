"""Formatting for people (separators, four-decimal costs) and for machines (exact JSON, CSV, TSV)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sessionstats.display.escaping import json_safe, tsv_field, visible
from sessionstats.times import to_zone

EMPTY = "-"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"


# ---- for people ---------------------------------------------------------------------------


def fmt_tokens(n: int | None) -> str:
    """1234567 -> '1,234,567'."""
    return EMPTY if n is None else f"{n:,}"


def fmt_cost(usd: Decimal | None) -> str:
    """Decimal('0.00125') -> '$0.0013': four places, half-up, never '-$0.0000'."""
    if usd is None:
        return EMPTY
    rounded = Decimal(usd).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "$0.0000"
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.4f}"


def fmt_known_cost(usd: Decimal, unpriced: int, calls: int, *, compact: bool = False) -> str:
    """A total that may leave calls out: '$0.0123', '$0.0123 + 2 unpriced calls' ('$0.0123*' in a narrow
    column, explained by a note), or 'unknown' when no call is priced: never a made-up '$0.0000'."""
    if not unpriced:
        return fmt_cost(usd)
    if unpriced >= calls:
        return "unknown"
    if compact:
        return fmt_cost(usd) + "*"
    return f"{fmt_cost(usd)} + {unpriced:,} unpriced call{'s' if unpriced != 1 else ''}"


def cost_notes(counts: Sequence[tuple[int, int]], row_name: str) -> str:
    """The notes under a table whose cost column says '*' or 'unknown' (from each row's unpriced and calls)."""
    text = ""
    if any(0 < unpriced < calls for unpriced, calls in counts):
        text += f"* some API calls of this {row_name} have no known cost; its cost covers the priced ones only.\n"
    if any(calls and unpriced >= calls for unpriced, calls in counts):
        text += f"unknown: no API call of this {row_name} has a known cost (its model has no price).\n"
    return text


def fmt_number(value: float | None, places: int = 1) -> str:
    """A ratio for reading: 1234.56 -> '1,234.6'."""
    if value is None or not math.isfinite(value):
        return EMPTY
    return f"{value:,.{places}f}"


def fmt_duration(seconds: float | None) -> str:
    """3725 -> '01:02:05'; days roll into the hours."""
    if seconds is None:
        return EMPTY
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def fmt_time(stored: datetime | None, zone: tzinfo | None) -> str:
    """A stored UTC time in the chosen zone, to the second, with its offset."""
    shown = to_zone(stored, zone)
    return EMPTY if shown is None else shown.strftime("%Y-%m-%d %H:%M:%S %z")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str] = (), tablefmt: str = "simple",
          text_columns: int = 1) -> str:
    """A tabulate table of pre-formatted text: the first `text_columns` left, the figures right."""
    from tabulate import tabulate  # only table output pays for the import

    width = len(rows[0]) if rows else len(headers)
    align = ["left"] * text_columns + ["right"] * (width - text_columns)
    cells = [[visible(str(cell)) for cell in row] for row in rows]  # a name never moves the cursor or a line
    return tabulate(cells, headers=[visible(h) for h in headers], tablefmt=tablefmt, disable_numparse=True,
                    colalign=align)


ELLIPSIS = "…"


def fitted_table(rows: Sequence[Sequence[str]], headers: Sequence[str], *, width: int | None, left: set[str],
                 drop: Sequence[str] = (), shrink: str | None = None, tablefmt: str = "simple") -> str:
    """A table no wider than `width` (None: as wide as it comes): the `drop` columns go first, in order, then
    the `shrink` column's text is cut with an ellipsis, down to 8 characters."""
    columns = [visible(header) for header in headers]
    cells = [[visible(str(cell)) for cell in row] for row in rows]  # a name never moves the cursor or a line
    left = {visible(name) for name in left}
    drop = [visible(name) for name in drop]
    shrink = visible(shrink) if shrink is not None else None
    text = _aligned(cells, columns, left, tablefmt)
    for name in drop:
        if width is None or _width(text) <= width:
            break
        index = columns.index(name)
        columns.pop(index)
        for row in cells:
            row.pop(index)
        text = _aligned(cells, columns, left, tablefmt)
    if width is not None and shrink in columns:
        index = columns.index(shrink)
        room = max((len(row[index]) for row in cells), default=0)
        while _width(text) > width and room > 8:
            room = max(8, room - (_width(text) - width))
            for row in cells:
                if len(row[index]) > room:
                    row[index] = row[index][:room - 1] + ELLIPSIS
            text = _aligned(cells, columns, left, tablefmt)
    return text


def _aligned(rows: list[list[str]], headers: list[str], left: set[str], tablefmt: str) -> str:
    from tabulate import tabulate

    align = ["left" if name in left else "right" for name in headers]
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True, colalign=align)


def _width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


# ---- for machines -------------------------------------------------------------------------


def exact_text(value: Any, zone: tzinfo | None = None) -> str:
    """A value as exact, unformatted text: Decimal in plain notation, times in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, datetime):
        return to_zone(value, zone).isoformat()  # type: ignore[union-attr]
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_json(value: Any, zone: tzinfo | None = None, indent: int = 2) -> str:
    """JSON in which a Decimal is an exact number literal (never a float, never a string)."""
    return _json(value, zone, indent, 0)


def to_delimited(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: Format,
                 zone: tzinfo | None = None) -> str:
    """CSV (`fmt` csv) or TSV (otherwise) with a header line; values exact, as `exact_text` gives them.

    CSV quotes as RFC 4180 does (a value with a comma, quote, CR or LF is quoted, tabs and all). TSV has no
    quoting, so a value is written in PostgreSQL's text format: backslash, tab, LF, CR and the other C0
    controls escaped (`\\t`, `\\n`, `\\x1b`), so every line is one record of `awk -F'\\t'`.
    """
    if fmt is not Format.csv:
        lines = ["\t".join(tsv_field(c) for c in columns)]
        lines += ["\t".join(tsv_field(exact_text(row.get(c), zone)) for c in columns) for row in rows]
        return "\n".join(lines) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([exact_text(row.get(column), zone) for column in columns])
    return buffer.getvalue()


def to_machine(rows: Mapping[str, Any] | Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: Format,
               zone: tzinfo | None = None) -> str:
    """Records for a machine: a JSON array (one record alone: an object), or CSV/TSV with a header line."""
    single = isinstance(rows, Mapping)
    if fmt is Format.json:
        return to_json(rows if single else list(rows), zone) + "\n"
    return to_delimited([rows] if single else rows, columns, fmt, zone)  # type: ignore[list-item]


def _json(value: Any, zone: tzinfo | None, indent: int, depth: int) -> str:
    if isinstance(value, Mapping):
        items = [f"{json.dumps(str(k))}: {_json(v, zone, indent, depth + 1)}" for k, v in value.items()]
        return _bracket("{", "}", items, indent, depth)
    if isinstance(value, (list, tuple)):
        return _bracket("[", "]", [_json(v, zone, indent, depth + 1) for v in value], indent, depth)
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, datetime):
        return json.dumps(exact_text(value, zone))
    return json_safe(json.dumps(value, ensure_ascii=False))


def _bracket(open_: str, close: str, items: list[str], indent: int, depth: int) -> str:
    if not items:
        return open_ + close
    if not indent:
        return open_ + ", ".join(items) + close
    pad = " " * indent * (depth + 1)
    return open_ + "\n" + ",\n".join(pad + item for item in items) + "\n" + " " * indent * depth + close


def _plain_decimal(value: Decimal) -> str:
    """Decimal('1.2300E-7') -> '0.000000123': fixed-point, no trailing zeros, no exponent, every digit.

    Not normalize(): it rounds to the context's 28 digits (eleven costs of $999999999.999999999999999999
    printed 10999999999.99999999999999999).
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", "0"} else text
