"""Write a user's stories, token records or per-session figures to Parquet, CSV, TSV or JSON Lines.

DuckDB's COPY writes the file; the path and every filter travel as parameters. The file is written
next to its destination under a temporary name and renamed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import enum
import os
import stat
import typing
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.reports.scope import EVERYTHING, Scope, scoped_records
from sessionstats.reports.stats import SessionStats, compare_stats, list_stats
from sessionstats.sessions import resolve_session_id
from sessionstats.store import Store
from sessionstats.store.paths import DUCKDB_MAGIC
from sessionstats.validate import MAX_BIGINT


class ExportWhat(enum.StrEnum):
    """What to export."""

    stories = "stories"
    tokens = "tokens"
    stats = "stats"


_FORMATS = {".parquet": "(FORMAT parquet)", ".csv": "(FORMAT csv, HEADER true)",
            ".tsv": "(FORMAT csv, HEADER true, DELIMITER '\t')", ".jsonl": "(FORMAT json)",
            ".ndjson": "(FORMAT json)", ".json": "(FORMAT json)"}
_UTC_TEXT = "strftime(timezone('UTC', {column}), '%Y-%m-%dT%H:%M:%S.%fZ')"
_SQL_TYPES = {str: "VARCHAR", int: "BIGINT", float: "DOUBLE", Decimal: "DECIMAL(38, 18)", datetime: "TIMESTAMPTZ"}


def export(store: Store, destination: Path, what: ExportWhat, *, user: str, session_ids: Sequence[str] = (),
           scope: Scope = EVERYTHING) -> int:
    """Write the user's `what` (in the sessions given, else all) in scope to `destination`; return the rows."""
    options = _copy_options(destination)
    _check_replaceable(store, destination)
    wanted = list(dict.fromkeys(resolve_session_id(store, s, user=user) for s in session_ids))
    store.execute("SET TimeZone = 'UTC'")
    text_times = destination.suffix.lower() != ".parquet"
    if what is ExportWhat.stats:
        query, params = _stats_query(store, user, wanted, scope, text_times=text_times)
    else:
        query, params = _records_query(store, what, user, wanted, scope, text_times=text_times)
    count = store.fetchone(f"SELECT count(*) FROM ({query})", params)[0]  # type: ignore[index]
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        _check_writable(partial, destination)
        store.execute(f"COPY ({query}) TO $export_path {options}", {**params, "export_path": str(partial)})
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return int(count)


def _copy_options(destination: Path) -> str:
    options = _FORMATS.get(destination.suffix.lower())
    if options is None:
        raise InvalidInput(f"destination: cannot tell the format of {destination.name!r}; end it in "
                           + ", ".join(_FORMATS), field="destination")
    if not destination.parent.is_dir():
        raise InvalidInput(f"destination: folder {str(destination.parent)!r} does not exist",
                           field="destination")
    if destination.is_dir():
        raise InvalidInput(f"destination: {str(destination)!r} is a folder", field="destination")
    return options


def _check_replaceable(store: Store, destination: Path) -> None:
    """An export replaces a regular file only: never the database itself, its lock or WAL, nor any DuckDB
    file (`export --to db.csv` with `--db db.csv` replaced the database with its own export)."""
    try:
        info = os.stat(destination)
    except OSError:
        return  # nothing there (or nothing we can look at: writing it then says why)
    databases = {os.path.realpath(store.location + suffix) for suffix in ("", ".lock", ".wal")}
    if not stat.S_ISREG(info.st_mode):
        reason = "is not a regular file (a FIFO, device or socket); export writes files"
    elif os.path.realpath(destination) in databases or _is_duckdb_file(destination):
        reason = "is a database; export never replaces one"
    else:
        return
    raise InvalidInput(f"destination: {str(destination)!r} {reason}", field="destination")


def _is_duckdb_file(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(12)[8:] == DUCKDB_MAGIC
    except OSError:
        return False


def _check_writable(partial: Path, destination: Path) -> None:
    """Create the file COPY will write, so an unwritable --to is bad input naming it, not a database error."""
    try:
        partial.open("xb").close()
    except OSError as error:
        raise InvalidInput(f"destination: cannot write {str(destination)!r} ({error.strerror or error})",
                           field="destination") from None


def _session_filter(params: dict[str, Any], wanted: list[str]) -> str:
    if not wanted:
        return ""
    names = [f"session{i}" for i in range(len(wanted))]
    params.update(zip(names, wanted, strict=True))
    return "AND {column} IN (" + ", ".join(f"${name}" for name in names) + ")"


def _records_query(store: Store, what: ExportWhat, user: str, wanted: list[str], scope: Scope,
                   text_times: bool) -> tuple[str, dict[str, Any]]:
    """Rows shaped as `import tokens|stories` reads them, so an export can be imported again."""
    params: dict[str, Any] = {"user": user}
    records = scoped_records(store, scope, params, sessions=_session_filter(params, wanted))
    created = (_UTC_TEXT if text_times else "timezone('UTC', {column})").format(column="t.created_at")
    if what is ExportWhat.tokens:
        body = f"""SELECT t.session_id, t.model, t.provider, t.input_tokens, t.output_tokens, t.cache_read_tokens,
                          t.cache_write_tokens, t.cache_write_1h_tokens, t.estimated_cost AS cost, t.cost_source,
                          t.request_id, t.story_id,
                          {created} AS created_at, t.service_tier, t.speed, t.tool_calls
                   FROM token_usage t JOIN tokens s ON s.id = t.id AND s.session_id = t.session_id
                   WHERE t.user_id = $user ORDER BY t.session_id, t.created_at, t.id"""
    else:
        body = f"""SELECT t.session_id, t.id, t.title, t.narrative, t.tone, t.priority, t.word_count, t.duration,
                          {created} AS created_at
                   FROM story_history t JOIN (SELECT DISTINCT session_id, id, created_at FROM stories) s
                     ON s.id = t.id AND s.session_id = t.session_id AND s.created_at = t.created_at
                   WHERE t.user_id = $user ORDER BY t.session_id, t.created_at, t.id"""
    return f"WITH {records} {body}", params


def _stats_query(store: Store, user: str, wanted: list[str], scope: Scope, *,
                 text_times: bool) -> tuple[str, dict[str, Any]]:
    """The per-session figures `list` shows, staged in a temp table with exact types; times in text files
    written as the records' are (2026-11-28T19:28:38.860956Z, not DuckDB's '2026-11-28 19:28:38.860956+00')."""
    if len(wanted) > 1:
        rows = compare_stats(store, wanted, user=user, scope=scope)
    else:
        rows = [r for r in list_stats(store, user=user, scope=scope) if not wanted or r.session_id in wanted]
    hints = typing.get_type_hints(SessionStats)
    columns, params = [], {}
    for number, column in enumerate(fields(SessionStats)):
        kind = next(t for t in _SQL_TYPES if t in (hints[column.name], *typing.get_args(hints[column.name])))
        values = [getattr(row, column.name) for row in rows]
        params[f"c{number}"] = [_text(value) for value in values]
        typed = f"unnest($c{number}::VARCHAR[])::{_sql_type(kind, values)}"
        if kind is datetime and text_times:
            typed = _UTC_TEXT.format(column=typed)
        columns.append(f"{typed} AS {column.name}")
    store.execute(f"CREATE OR REPLACE TEMP TABLE export_stats AS SELECT {', '.join(columns)}", params)
    return "SELECT * FROM export_stats", {}


def _sql_type(kind: type, values: list[Any]) -> str:
    """The column's type; token sums past 2^63 (as `show` reports them) become DECIMAL(38, 0), not HUGEINT,
    which Parquet would turn into a DOUBLE."""
    if kind is int and any(value is not None and value > MAX_BIGINT for value in values):
        return "DECIMAL(38, 0)"
    return _SQL_TYPES[kind]


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)
