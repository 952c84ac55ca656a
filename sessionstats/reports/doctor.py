"""What `doctor` finds: where the database is and in what state, the price data, and the history sources here.

Nothing here creates or changes a file: the database is only read when it exists, and its lock is
probed without being made.
"""

from __future__ import annotations

import fcntl
import os
import stat
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sessionstats.errors import SessionStatsError, SessionStatsWarning
from sessionstats.store.base import lock_timeout
from sessionstats.store.target import PostgresTarget, resolve_target


@dataclass(frozen=True)
class Finding:
    """One thing looked at: `ok` False is a problem, and `remedy` then says what to do."""

    check: str
    ok: bool
    detail: str
    remedy: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The finding by field name, as `doctor --format json` prints it."""
        return asdict(self)


def diagnose(db: str | None, *, user: str) -> list[Finding]:
    """Everything `doctor` reports, in the order it is shown."""
    try:
        target = resolve_target(db)
    except SessionStatsError as error:
        return [Finding("database", False, str(error), "pass --db PATH or set SESSIONSTATS_DB")]
    found = [Finding("user", True, user), _lock_timeout()]
    found += _server(target, user) if isinstance(target, PostgresTarget) else _file(target)
    found.append(_price_data())
    found += _history_sources()
    return found


def _lock_timeout() -> Finding:
    """$SESSIONSTATS_LOCK_TIMEOUT as every other command reads it: a bad value makes each of them fail."""
    try:
        seconds = lock_timeout()
    except SessionStatsError as error:
        return Finding("lock timeout", False, str(error), "give seconds (e.g. 10) or unset SESSIONSTATS_LOCK_TIMEOUT")
    return Finding("lock timeout", True, f"{seconds:g} seconds")


def _file(path: Path) -> list[Finding]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return [Finding("database", True, f"no database at {path} yet; the first record makes it")]
    except OSError as error:
        return [Finding("database", False, f"cannot look at {path}: {error.strerror}",
                        "check the path and its folders' permissions")]
    if not stat.S_ISREG(info.st_mode):
        return [Finding("database", False, f"{path} is not a regular file", "point --db at a database file")]
    found = [Finding("database", True, f"{path} ({info.st_size:,} bytes)"), _lock(path)]
    if info.st_mode & 0o077:
        found.append(Finding("permissions", False, f"{path} can be read by others (mode {info.st_mode & 0o777:o})",
                             f"chmod 600 {path}"))
    return found + _schema(path)


def _lock(path: Path) -> Finding:
    """Who holds the database now, from its lock file (opened without creating it, probed without waiting)."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return Finding("lock", True, "free (no lock file yet)")
    try:
        for operation, holder in ((fcntl.LOCK_EX, None), (fcntl.LOCK_SH, "a command is reading it")):
            try:
                fcntl.flock(fd, operation | fcntl.LOCK_NB)
                return Finding("lock", True, holder or "free")
            except BlockingIOError:
                continue
        return Finding("lock", True, "a command is writing to it now (others wait up to "
                                     "SESSIONSTATS_LOCK_TIMEOUT seconds)")
    finally:
        os.close(fd)


def _schema(target: Path | PostgresTarget) -> list[Finding]:
    from sessionstats.store import open_store
    from sessionstats.store.migrations import LATEST_VERSION, current_version

    try:
        with open_store(target) as store:
            version = current_version(store)
            sessions, records = store.fetchone(
                "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM token_usage)")  # type: ignore[misc]
    except SessionStatsError as error:
        return [Finding("schema", False, str(error), "see the message; 'sessionstats init-db' checks it again")]
    state = "current" if version == LATEST_VERSION else f"older (the next write upgrades it to {LATEST_VERSION})"
    return [Finding("schema", True, f"version {version}, {state}; {sessions:,} sessions, {records:,} token "
                                    "records in all")]


def _server(target: PostgresTarget, user: str) -> list[Finding]:
    from sessionstats.store import PlainSQL, open_store
    from sessionstats.store.migrations import MEMBER_ROLE

    found = [Finding("database", True, f"PostgreSQL server {target}")]
    try:
        with warnings.catch_warnings(), open_store(target) as store:
            warnings.simplefilter("ignore", SessionStatsWarning)  # the finding says there is no database yet
            if not store.exists:  # an empty database answered: its roles are not the server's
                return [*found, Finding("schema", True, f"no sessionstats tables in {target} yet; the database's "
                                                        "owner makes them ('sessionstats init-db --db URL')")]
            member = store.fetchone(PlainSQL("SELECT pg_has_role(current_user, ?, 'MEMBER')"), [MEMBER_ROLE])
    except SessionStatsError as error:
        return [*found, Finding("server", False, str(error), "check the URL, the server and PGPASSWORD/~/.pgpass")]
    if not (member and member[0]):
        return [*found, Finding("role", False, f"role {user!r} is not a member of {MEMBER_ROLE}",
                                f"an administrator runs: GRANT {MEMBER_ROLE} TO {user}")]
    return [*found, Finding("role", True, f"{user!r} is a member of {MEMBER_ROLE}"), *_schema(target)]


def _price_data() -> Finding:
    from sessionstats.pricing.prices import price_data_version

    return Finding("price data", True, f"genai-prices {price_data_version()} (bundled snapshot, read offline)")


def _history_sources() -> list[Finding]:
    """Each agent's logs this machine has, as `import --all` would find them."""
    from sessionstats.ingest.codex import codex_homes, find_rollouts
    from sessionstats.ingest.gemini_cli import find_recordings, gemini_roots
    from sessionstats.ingest.llm_logs import default_logs_path
    from sessionstats.ingest.log_files import config_dirs, find_logs
    from sessionstats.ingest.opencode import data_dirs, find_databases
    from sessionstats.ingest.qwen_code import find_chats, qwen_dirs

    sources: list[tuple[str, Callable[[], Sequence[object]], str]] = [
        ("claude-code", lambda: find_logs(config_dirs([])), "import claude-code"),
        ("llm", lambda: [path] if (path := default_logs_path()).is_file() else [], "import llm"),
        ("codex", lambda: find_rollouts(codex_homes([])), "import codex"),
        ("gemini", lambda: find_recordings(gemini_roots([])), "import gemini"),
        ("opencode", lambda: find_databases(data_dirs([])), "import opencode"),
        ("qwen", lambda: find_chats(qwen_dirs([])), "import qwen"),
    ]
    return [_source(name, find, command) for name, find, command in sources]


def _source(name: str, find: Callable[[], Sequence[object]], command: str) -> Finding:
    try:
        files = len(find())
    except (SessionStatsError, OSError):
        files = 0
    detail = f"{files:,} log files found; 'sessionstats {command}' reads them" if files else "no logs found here"
    return Finding(f"history: {name}", True, detail)
