"""The one way a report is written: a table for a person, or its records as JSON, CSV or TSV for a machine."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sessionstats.display.render import Format, to_machine

NOTHING_IN_SCOPE = "no records in scope\n"  # what a table says when the filters leave nothing


@dataclass(frozen=True)
class Layout:
    """How a report is written: its format; for a table, the tabulate style and the width it may take (None:
    any); the zone its times are shown in (None: local)."""

    fmt: Format
    zone: tzinfo | None = None
    style: str = "simple"
    width: int | None = None


Records = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def report_text(records: Records, columns: Sequence[str], layout: Layout, as_table: Callable[[], str], *,
                whole: Mapping[str, Any] | None = None) -> str:
    """The table `as_table` draws, or the records (one as a JSON object, several as an array; CSV and TSV with
    `columns`). JSON carries `whole` instead when given: the report's every field, where CSV has its lines."""
    if layout.fmt is Format.table:
        return as_table()
    if layout.fmt is Format.json and whole is not None:
        records = whole
    return to_machine(records, columns, layout.fmt, layout.zone)


def emit(records: Records, columns: Sequence[str], layout: Layout, as_table: Callable[[], str], *,
         whole: Mapping[str, Any] | None = None) -> None:
    """Write the report to stdout (see report_text)."""
    sys.stdout.write(report_text(records, columns, layout, as_table, whole=whole))
