"""Find an agent's log files with one rule: what glob finds, but never a silent gap.

`Path.glob` skips a folder it cannot list and returns dangling or looping symlinks; an importer that trusted
it would leave a folder's calls out unseen, or fail on a symlink loop. Here an unlistable folder or an
unreadable file on the way is InvalidInput naming it, and only regular files are found.
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

from sessionstats.history.log_files import unreadable


def find_files(root: Path, pattern: str, source: str) -> list[Path]:
    """The regular files `root.glob(pattern)` finds, resolved and sorted; `**` does not follow symlinked folders.

    Unlike glob, a folder on the way that cannot be listed raises InvalidInput naming it (skipping it would leave
    its calls out unseen), and a dangling or looping symlink is no file.
    """
    folders, _, name = pattern.rpartition("/")
    return sorted({path.resolve() for folder in (find_folders(root, folders, source) if folders else [root])
                   for path in _listing(folder, source) if _matches(path.name, name) and _is_file(path, source)})


def find_folders(root: Path, pattern: str, source: str) -> list[Path]:
    """The folders `root.glob(pattern)` finds, sorted, with `find_files`' rules."""
    folders = [root]
    for step in pattern.split("/"):
        folders = [found for folder in folders for found in _subfolders(folder, step, source)]
    return sorted(folders)


def _subfolders(folder: Path, step: str, source: str) -> list[Path]:
    if step != "**":
        return [path for path in _listing(folder, source) if _matches(path.name, step) and _is_dir(path, source)]

    def fail(error: OSError) -> None:
        raise unreadable(Path(error.filename or folder), error, source)

    return [Path(parent) for parent, _, _ in os.walk(folder, onerror=fail)] if _is_dir(folder, source) else []


def _matches(name: str, pattern: str) -> bool:
    """As glob matches a name: hidden names only by a pattern that starts with a dot."""
    return fnmatchcase(name, pattern) and (not name.startswith(".") or pattern.startswith("."))


def _listing(folder: Path, source: str) -> list[Path]:
    try:
        return list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise unreadable(folder, error, source) from None


def _is_dir(path: Path, source: str) -> bool:
    try:
        return path.is_dir()  # False for a dangling or looping symlink; EACCES on the way is raised
    except OSError as error:
        raise unreadable(path, error, source) from None


def _is_file(path: Path, source: str) -> bool:
    try:
        return path.is_file()
    except OSError as error:
        raise unreadable(path, error, source) from None
