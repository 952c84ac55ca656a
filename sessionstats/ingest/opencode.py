"""Import OpenCode's history: a session per OpenCode session (child sessions too), a token record per step.

OpenCode 1.2 and later (and Kilo CLI) keep it in SQLite, `opencode.db` or `opencode-<channel>.db`: table
`message(id, session_id, data)`, where an assistant message's `data` holds `tokens: {input, output,
reasoning, cache: {read, write}}` (input already without the cache), `modelID`, `providerID`, `cost` and
`time.created`. A step's `step-finish` part repeats its message's tokens, so only messages are read.
Older installs keep JSON copies under storage/message/<session>/<message>.json: the database wins. Newer ones
also keep v2 messages in table `session_message(id, session_id, type, data)`, an assistant's data holding the
same tokens, `cost` and `time.created` with `model: {id, providerID}`; the messages of table `message` copied
there keep their ids and count once.
Reasoning is billed on top of output by OpenCode's own cost formula, so it is stored as output.
A step's non-zero `cost` is what OpenCode says it charged: stored as the reported cost (the estimate is kept
for comparison in `explain`); zero means OpenCode did not know the price, so the step is estimated.
SQLite is read with Python's sqlite3, read-only; the database and its WAL are re-read when either changed.
The rows read go to DuckDB, which parses them and stages the steps (opencode_steps).
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.ingest.agent_files import find_files
from sessionstats.ingest.agent_import import (
    MAX_LINE_BYTES,
    Coverage,
    SourceSummary,
    existing_dirs,
    files_changing,
    unread_parts,
)
from sessionstats.ingest.json_lines import store_staged
from sessionstats.ingest.log_files import expanded, under_home, unreadable
from sessionstats.ingest.log_values import parse_object
from sessionstats.ingest.opencode_steps import MessagesRead, stage_steps
from sessionstats.ingest.writing import StepReporter
from sessionstats.store import Store

SOURCE = "opencode"
_BUSY_SECONDS = 5.0  # how long a read waits for OpenCode to finish a write that locks the whole database


def data_dirs(given: Sequence[str]) -> list[Path]:
    """The OpenCode data dirs given, else the folder of $OPENCODE_DB, else ${XDG_DATA_HOME:-~/.local/share}/opencode."""
    if os.environ.get("OPENCODE_DB", "").strip() and not given:
        return [expanded(os.environ["OPENCODE_DB"].strip()).parent]
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    places = [expanded(xdg) / "opencode"] if xdg else under_home(".local", "share", "opencode")
    return existing_dirs(given, places, "OpenCode's data dir, holding opencode.db")


def find_databases(dirs: Sequence[Path]) -> list[Path]:
    """opencode.db, opencode-<channel>.db (or $OPENCODE_DB) in each dir."""
    named = os.environ.get("OPENCODE_DB", "").strip()
    found = find_files(expanded(named).parent, glob.escape(expanded(named).name), SOURCE) if named else []
    for folder in dirs:
        found += find_files(folder, "opencode.db", SOURCE) + find_files(folder, "opencode-*.db", SOURCE)
    return list(dict.fromkeys(p.resolve() for p in found))


@dataclass(frozen=True)
class _Session:
    """An OpenCode session's name and parent (a child session is a subagent's)."""

    name: str | None
    parent: str | None


def find_legacy_copies(folders: Sequence[Path]) -> list[Path]:
    """The JSON copies older installs keep under storage/message/<session>/."""
    return [f for folder in folders for f in find_files(folder, "storage/message/*/*.json", SOURCE)]


def import_opencode(store: Store, dirs: Sequence[str], *, user: str,
                    on_step: StepReporter | None = None) -> SourceSummary:
    """Import the OpenCode messages with token counts not imported before."""
    step = on_step or (lambda _: None)
    step("finding logs")
    folders = data_dirs(dirs)
    databases = find_databases(folders)
    legacy = find_legacy_copies(folders)
    parts = unread_parts(store, user, SOURCE, [*databases, *(Path(f"{d}-wal") for d in databases), *legacy])
    changed = {p.log.path for p in parts}
    coverage = Coverage(files_found=len(databases) + len(legacy))
    step("reading")
    read, sessions = MessagesRead(), {}
    legacy_changed = any(path.resolve() in changed for path in legacy)
    with files_changing(SOURCE):
        for database in databases:
            # A changed legacy copy is read against the database (which wins), so the database is read too.
            if legacy_changed or database in changed or Path(f"{database}-wal").resolve() in changed:
                coverage.files_read += 1
                _read_database(database, coverage, read, sessions)
        for path in legacy:
            if path.resolve() in changed:
                coverage.files_read += 1
                _read_legacy(path, coverage, read)
    read.children = {sid for sid, session in sessions.items() if session.parent}
    stage_steps(store, read, coverage)
    return store_staged(store, user=user, source=SOURCE, coverage=coverage, step=step, parts=parts)


def _read_database(path: Path, coverage: Coverage, read: MessagesRead, sessions: dict[str, _Session]) -> None:
    with tempfile.TemporaryDirectory(prefix="sessionstats-opencode-") as scratch:
        try:
            con = sqlite3.connect(_read_only_uri(path, Path(scratch)), uri=True, timeout=_BUSY_SECONDS)
        except OSError as error:
            raise unreadable(path, error, SOURCE) from None
        except sqlite3.Error as error:
            raise InvalidInput(f"PATH: cannot open {str(path)!r}: {error}") from None
        _read_messages(con, path, coverage, read, sessions)


def _read_only_uri(path: Path, scratch: Path) -> str:
    """How to open the database so that reading it creates nothing beside it.

    OpenCode keeps it in WAL mode; a read-only open of a WAL database whose -wal and -shm are gone (OpenCode
    closed it) would create both and leave them there. So: with OpenCode's -wal and -shm present, read-only (the
    WAL holds its latest steps); with no -wal, immutable (all is in the file); with a -wal but no -shm (no
    writer: a copied or crashed one), a scratch copy of the two.
    """
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if (wal.exists() and shm.exists()) or not _wal_mode(path):
        return f"{path.as_uri()}?mode=ro"
    if not wal.exists():
        return f"{path.as_uri()}?mode=ro&immutable=1"
    copy = scratch / "opencode.db"
    shutil.copyfile(path, copy)
    shutil.copyfile(wal, f"{copy}-wal")
    return f"{copy.as_uri()}?mode=ro"


def _wal_mode(path: Path) -> bool:
    """The SQLite header says WAL (its read and write versions, bytes 18 and 19, are 2)."""
    with path.open("rb") as database:
        return database.read(20)[18:20] == b"\x02\x02"


def _read_messages(con: sqlite3.Connection, path: Path, coverage: Coverage, read: MessagesRead,
                   sessions: dict[str, _Session]) -> None:
    try:
        sessions.update(_sessions(con))  # a later database names a session anew
        read.start_database({sid: _name(session) for sid, session in sessions.items()})
        for rows, v2 in _messages(con):
            coverage.lines += len(rows)
            read.add(rows, v2)
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
            raise InvalidInput(f"PATH: cannot read {str(path)!r} as an OpenCode database: {error}") from None
        raise InvalidInput(f"PATH: {str(path)!r} stayed locked by another process (OpenCode writing to it) for "
                           f"{_BUSY_SECONDS:g} s: import again when it is done") from None
    except sqlite3.Error as error:
        raise InvalidInput(f"PATH: cannot read {str(path)!r} as an OpenCode database: {error}") from None
    finally:
        con.close()


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[0] for row in con.execute("SELECT name FROM pragma_table_info(?)", (table,))}


def _sessions(con: sqlite3.Connection) -> dict[str, _Session]:
    columns = _columns(con, "session")
    if "id" not in columns:
        return {}
    name = "directory" if "directory" in columns else "NULL"
    parent = "parent_id" if "parent_id" in columns else "NULL"
    return {sid: _Session(_text(place), _text(up)) for sid, place, up in
            con.execute(f"SELECT id, {name}, {parent} FROM session")}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _messages(con: sqlite3.Connection) -> Iterator[tuple[list[tuple[object, object, object, object]], bool]]:
    """The rows (id, session id, data, v2 type) of table `message` (type None: the role is in the data), then
    of `session_message`, OpenCode's v2 messages (the type a column, the model `{id, providerID}`), where it
    also copies older messages, keeping their ids; each table's rows with whether they are v2."""
    v1, v2 = ({"id", "session_id", "data"} <= _columns(con, "message"),
              {"id", "session_id", "type", "data"} <= _columns(con, "session_message"))
    if not v1 and not v2:
        raise sqlite3.DatabaseError("no message(id, session_id, data) table")
    if v1:
        yield con.execute("SELECT id, session_id, data, NULL FROM message ORDER BY id").fetchall(), False
    if v2:
        yield con.execute("SELECT id, session_id, data, type FROM session_message ORDER BY id").fetchall(), True


def _read_legacy(path: Path, coverage: Coverage, read: MessagesRead) -> None:
    """A storage/message JSON copy: used only for a message the database does not have."""
    coverage.lines += 1
    if path.stat().st_size > MAX_LINE_BYTES:
        coverage.malformed += 1
        return
    data = path.read_text(errors="replace")
    message = parse_object(data, parse_float=Decimal)
    message_id = message.get("id") if message else path.stem
    session_id = message.get("sessionID") if message else path.parent.name
    read.add_legacy(str(message_id), str(session_id or path.parent.name), data if message is not None else "")


def _name(session: _Session | None) -> str | None:
    if session is None:
        return None
    if session.parent:
        return f"{session.name or ''} (subagent of {session.parent})".strip()
    return session.name
