"""Find Claude Code's log files and decide, from what was read before, which bytes of each are new."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sessionstats.errors import InvalidInput
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list

SOURCE = "claude-code"


@dataclass(frozen=True)
class LogFile:
    """A `*.jsonl` log: the Claude Code session it belongs to and its project folder's name."""

    path: Path
    session_id: str
    project: str


@dataclass(frozen=True)
class Slice:
    """The bytes [start, end) of a log still to read; `end` is just past its last complete line."""

    log: LogFile
    start: int
    end: int
    size: int
    mtime_ns: int


def home_folder() -> Path | None:
    """The user's home, or None when there is none to tell (HOME unset, empty or relative and no passwd entry, as
    under `docker run -u 12345`): then no default place is under it, where Path.home() raised RuntimeError."""
    home = os.path.expanduser("~")
    return Path(home) if os.path.isabs(home) else None


def under_home(*parts: str) -> list[Path]:
    """`~/<parts>` as a list of one place, or none without a home."""
    home = home_folder()
    return [] if home is None else [home.joinpath(*parts)]


def expanded(place: str) -> Path:
    """A place as given, `~` expanded where it can be (Path.expanduser raises without a home, or for ~nobody)."""
    return Path(os.path.expanduser(place))


def config_dirs(given: Sequence[str]) -> list[Path]:
    """The Claude config dirs: those given, else $CLAUDE_CONFIG_DIR (comma-separated), else the defaults."""
    if given:
        dirs = [expanded(d) for d in given]
        missing = [str(d) for d in dirs if not _is_dir(d)]
        if missing:
            raise InvalidInput(f"DIR: {missing[0]!r} is not a directory")
        return dirs
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        candidates = [expanded(part.strip()) for part in env.split(",") if part.strip()]
    else:
        candidates = [*under_home(".config", "claude"), *under_home(".claude")]
    found = [d for d in candidates if _is_dir(d / "projects")]
    if not found:
        places = ", ".join(str(c) for c in candidates) or "no home directory to look in"
        raise InvalidInput(f"no Claude Code logs found (looked for projects/ in {places}); name the directory")
    return found


def find_logs(dirs: Iterable[Path]) -> list[LogFile]:
    """Every log under <dir>/projects: <project>/<session>.jsonl and <project>/<session>/**/*.jsonl.

    A folder that cannot be listed is InvalidInput naming it: skipping it would leave its costs out unseen.
    """
    logs: dict[Path, LogFile] = {}
    for root in dirs:
        projects = root / "projects"
        if not _is_dir(projects):
            continue
        for project in sorted(p for p in _entries(projects) if _is_dir(p)):
            for entry in sorted(_entries(project)):
                if entry.suffix == ".jsonl" and _is_file(entry):
                    logs.setdefault(entry.resolve(), LogFile(entry.resolve(), entry.stem, project.name))
                elif _is_dir(entry):
                    for nested in _nested_logs(entry):
                        logs.setdefault(nested.resolve(), LogFile(nested.resolve(), entry.name, project.name))
    return list(logs.values())


def _nested_logs(folder: Path) -> list[Path]:
    """Every *.jsonl file below `folder` (subagent logs); an unlistable folder raises, as rglob would skip it."""
    found = []
    for parent, _, names in os.walk(folder, onerror=_raise):
        found += [Path(parent) / name for name in names if name.endswith(".jsonl")]
    return sorted(path for path in found if _is_file(path))


def _raise(error: OSError) -> None:
    raise unreadable(Path(error.filename or "?"), error)


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError as error:
        raise unreadable(folder, error) from None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError as error:  # is_dir lets EACCES through (a folder on the way that may not be searched)
        raise unreadable(path, error) from None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as error:
        raise unreadable(path, error) from None


def unreadable(path: Path, error: OSError, source: str = SOURCE) -> InvalidInput:
    """A file or folder of a source's logs that cannot be read, named, with what to do."""
    where, away = ("Claude Code logs", "out of projects/") if source == SOURCE else (f"{source} history", "away")
    if isinstance(error, FileNotFoundError):  # found, then gone before it was read whole
        return InvalidInput(f"{str(path)!r} of the {where} went away while it was read (the agent moved or "
                            "deleted it): import again")
    return InvalidInput(f"cannot read {str(path)!r} of the {where} ({error.strerror or error}): make "
                        f"it readable to you (chmod u+r, or u+rx for a folder) or move it {away}")


def new_slices(store: Store, user: str, logs: Sequence[LogFile], source: str = SOURCE) -> list[Slice]:
    """What to read of each log: appended bytes of a known file, all of a new or shrunk one.

    A log gone since it was found, or no longer a regular file (a FIFO, a folder, a looping symlink put in its
    place), is no log, as it would not have been found: it is skipped, never opened for a read that blocks.
    """
    known = {path: (size, mtime, read_to) for path, size, mtime, read_to in store.fetchall(
        "SELECT path, size, mtime_ns, read_to FROM import_files WHERE user_id = $user AND source = $source",
        {"user": user, "source": source})}
    slices = []
    for log in logs:
        found = _regular_file(log.path, source, os.stat)
        if found is None:
            continue
        before = known.get(str(log.path))
        if before is not None and before[:2] == (found.st_size, found.st_mtime_ns):
            continue
        # Same size, new time (touch, a restore, a sync tool): the bytes read are taken as read. Reading them
        # again would store their lines without a message id a second time; Claude Code only appends.
        start = before[2] if before is not None and before[2] <= found.st_size else 0
        end = _complete_end(log.path, start, found.st_size, source)
        if end is not None:
            slices.append(Slice(log, start, end, found.st_size, found.st_mtime_ns))
    return slices


def _regular_file(path: Path, source: str, look: Callable[[Path], os.stat_result]) -> os.stat_result | None:
    """`look(path)` when it is a regular file; None when it is gone or is no regular file."""
    try:
        found = look(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            return None
        raise unreadable(path, error, source) from None
    return found if stat.S_ISREG(found.st_mode) else None


def _complete_end(path: Path, start: int, size: int, source: str) -> int | None:
    """Just past the last newline in [start, size): a line still being written is left for the next run.

    None when the path is gone or no regular file by now (opened without blocking: a FIFO would wait for a writer).
    """
    descriptor: list[int] = []

    def opened(place: Path) -> os.stat_result:
        descriptor.append(os.open(place, os.O_RDONLY | os.O_NONBLOCK))
        return os.fstat(descriptor[0])

    try:
        if _regular_file(path, source, opened) is None:
            return None
        position = size
        while position > start:
            step = min(1 << 16, position - start)
            chunk = os.pread(descriptor[0], step, position - step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                return position - step + newline + 1
            position -= step
    except OSError as error:
        raise unreadable(path, error, source) from None
    finally:
        if descriptor:
            os.close(descriptor[0])
    return start


def remember_slices(store: Store, user: str, slices: Sequence[Slice], now: object, source: str = SOURCE) -> None:
    """Record how far each log was read (inside the import's transaction)."""
    if not slices:
        return
    params = {"user": user, "source": source, "paths": json_list(str(s.log.path) for s in slices),
              "sizes": json_list(s.size for s in slices), "mtimes": json_list(s.mtime_ns for s in slices),
              "ends": json_list(s.end for s in slices), "now": now}
    store.replace_rows(
        "import_files", ("user_id", "source", "path"),
        ("user_id", "source", "path", "size", "mtime_ns", "read_to", "read_at"),
        f"""SELECT $user AS user_id, $source AS source, {unnest_list("paths", "VARCHAR")} AS path,
                   {unnest_list("sizes", "BIGINT")} AS size, {unnest_list("mtimes", "BIGINT")} AS mtime_ns,
                   {unnest_list("ends", "BIGINT")} AS read_to, $now AS read_at""",
        params,
    )
