"""The steps every import shares: stage and check the rows, find their sessions, report the result."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.ingest.files.checks import (
    IDS,
    Field,
    first_problem,
    is_good,
    offset_required,
    problems,
    raw_select,
    typed_value,
)
from sessionstats.ingest.files.sources import ImportFormat, prepare_scan, record_location, run_scan
from sessionstats.store import Store

StepReporter = Callable[[str], None]
NEW_SESSION_COLUMNS = ("user_id", "id", "name", "settings", "status", "created_at")
ROW_INDEX = "rowid - (SELECT min(rowid) FROM import_rows)"  # the record's 0-based index in the file


@dataclass(frozen=True)
class ImportSource:
    """A file to import and how to read it; `zone` reads times without an offset (None: no zone can)."""

    path: Path
    format: ImportFormat
    zone: str | None = None


@dataclass(frozen=True)
class ImportResult:
    """What an import stored; `skipped` were there already (same request id or story id).

    `unkeyed` of the imported rows had no such id: importing them again would store them again.
    """

    what: str
    key: str
    imported: int
    skipped: int
    unkeyed: int
    sessions: int
    created_sessions: int
    unknown_models: dict[str, int] = field(default_factory=dict)


def stage_rows(store: Store, source: ImportSource, fields: Sequence[Field], *, session: str | None,
               now: datetime, defaults: dict[str, str], extra: tuple[str, str] | None = None) -> None:
    """Read the file into `import_rows` (typed fields, in file order), or raise naming the first bad record.

    `extra` is a further (good-row test, `WHEN ... THEN message` clause) across fields.
    """
    names = [f.name for f in fields]
    text = [f.name for f in fields if f.kind in (*IDS, "label", "text")]  # the API takes only a str for these
    counts = [f.name for f in fields if f.kind == "count"]
    scan = prepare_scan(store, source.path, source.format, names, text, counts)
    if source.zone:
        store.execute("SET TimeZone = $zone", {"zone": source.zone})
    inner = ", ".join(f"{typed_value(f)} AS {_ident(f.name)}" for f in fields)
    outer = ", ".join(f"{defaults[f.name]} AS {_ident(f.name)}" if f.name in defaults else _ident(f.name)
                      for f in fields)
    checks = [extra] if extra else []
    if source.zone is None:  # no zone to read a time without an offset in: refuse rather than guess one
        checks += [offset_required(f) for f in fields if f.kind == "time"]
    good = [is_good(f) for f in fields] + [check[0] for check in checks]
    clauses = [clause for f in fields for clause in problems(f)] + [check[1] for check in checks]
    # Straight from the reader into one table, whose rowids then follow the file's order.
    sql = f"""CREATE OR REPLACE TEMP TABLE import_rows AS
              SELECT {outer}, {first_problem(good, clauses)} AS problem
              FROM (SELECT *, {inner} FROM ({raw_select(fields, scan.present, scan.sql)}))"""
    try:
        run_scan(store, sql, source.path, source.format, names, used_params(sql, session=session, now=now))
    finally:
        if source.zone:
            store.execute("RESET TimeZone")
    bad = store.fetchone(
        f"SELECT {ROW_INDEX}, problem FROM import_rows WHERE problem IS NOT NULL ORDER BY rowid LIMIT 1")
    if bad:
        raise InvalidInput(f"{record_location(source.path, source.format, bad[0])}: {bad[1]}")


def ensure_sessions(store: Store, source: ImportSource, *, user: str, create: bool, now: datetime) -> int:
    """Check every row's session is the user's; make the missing ones when `create`. Returns how many were made."""
    missing = store.fetchone(
        f"""SELECT min({ROW_INDEX}), session_id FROM import_rows r
           WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = $user AND s.id = r.session_id)
           GROUP BY session_id ORDER BY 1 LIMIT 1""",
        {"user": user},
    )
    if missing is None:
        return 0
    if not create:
        raise InvalidInput(f"{record_location(source.path, source.format, missing[0])}: session_id: no session "
                           f"{missing[1]!r} (create it first, or pass `create_sessions`)", field="session_id")
    return store.insert_select(
        "sessions", NEW_SESSION_COLUMNS,
        """SELECT DISTINCT $user, session_id, NULL, '{}', 'idle', $now FROM import_rows r
           WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = $user AND s.id = r.session_id)""",
        {"user": user, "now": now},
    )


def drop_repeats(store: Store, *, user: str, table: str, key: str) -> int:
    """Delete staged rows whose `key` is in the session already, or earlier in the file; return how many."""
    cursor = store.execute(
        f"""DELETE FROM import_rows WHERE rowid IN (
                SELECT r.rowid FROM import_rows r JOIN {table} t
                  ON t.user_id = $user AND t.session_id = r.session_id AND t.{key} = r.{key}
                UNION ALL
                SELECT r.rowid FROM import_rows r JOIN (
                    SELECT session_id, {key}, min(rowid) AS first FROM import_rows WHERE {key} IS NOT NULL
                    GROUP BY ALL HAVING count(*) > 1) f
                  ON f.session_id = r.session_id AND f.{key} = r.{key} AND r.rowid > f.first)""",
        {"user": user},
    )
    return int(cursor.fetchone()[0])  # type: ignore[index]


def staged_counts(store: Store, key: str) -> tuple[int, int, int]:
    """Rows left to insert, how many of them lack `key`, and the sessions they go to."""
    row = store.fetchone(f"SELECT count(*), count(*) FILTER (WHERE {key} IS NULL), count(DISTINCT session_id) "
                         "FROM import_rows")
    return int(row[0]), int(row[1]), int(row[2])  # type: ignore[index]


def used_params(sql: str, **candidates: object) -> dict[str, object]:
    """The named parameters the statement uses (DuckDB refuses extra ones)."""
    return {name: value for name, value in candidates.items() if re.search(rf"\${name}\b", sql)}


def _ident(name: str) -> str:
    return '"' + name + '"'
