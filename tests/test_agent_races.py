"""A log that changes between being found and being read: skipped when it is no file any more, one line naming
it when it goes away mid-read; never a traceback, a read that blocks on a FIFO, or a partial store.

The importers find the files first (a listing), then stat and read them; an agent, a sync tool or a cleaner
can remove or replace one in between. Found-then-replaced is what a listing taken a moment later would have
shown (no file): skipped, as find_files skips a FIFO, a folder or a looping symlink.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import snapshot, table_of
from test_claude_code_lines import SOURCES

from sessionstats.ingest import claude_code, codex, gemini_cli, json_lines, qwen_code

# The function each import finds its files with, in the module that calls it.
FINDERS = {"claude-code": (claude_code, "find_logs"), "codex": (codex, "find_rollouts"),
           "gemini": (gemini_cli, "find_recordings"), "qwen": (qwen_code, "find_chats")}
# The function each import decides what is new with (after it, only reading is left).
SLICERS = {"claude-code": (claude_code, "new_slices"), "codex": (json_lines, "unread_parts"),
           "gemini": (gemini_cli, "unread_parts"), "qwen": (json_lines, "unread_parts")}


def two_logs(root: Path, source: str) -> tuple[Path, Path]:
    """A log of one call of 40 input tokens, and beside it the victim: a log of one call of 50."""
    relative, make = SOURCES[source]
    keeper = root / relative
    victim = keeper.with_name(keeper.stem + "x.jsonl")
    keeper.parent.mkdir(parents=True)
    keeper.write_bytes(make(40) + b"\n")
    victim.write_bytes(make(50) + b"\n")
    return keeper, victim


def gone(path: Path) -> None:
    path.unlink()


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def looping_symlink(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as log:
        log.write(data)


def after(module: object, name: str, monkeypatch: pytest.MonkeyPatch, then: Callable[[], None]) -> None:
    """Make `module.name` run `then` once it has returned (the first time: a look before the import calls it too)."""
    original, done = getattr(module, name), []

    def patched(*args, **kwargs):
        result = original(*args, **kwargs)
        if not done:
            done.append(then())
        return result

    monkeypatch.setattr(module, name, patched)


def stored_inputs(cli) -> list[int]:
    return [row[0] for row in table_of(cli.db, "SELECT input_tokens FROM token_usage ORDER BY 1")]


@pytest.mark.file_only
@pytest.mark.parametrize("change", [gone, fifo, folder, looping_symlink])
@pytest.mark.parametrize("source", sorted(FINDERS))
def test_a_log_gone_or_no_longer_a_file_after_it_was_found_is_skipped(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, change) -> None:
    _, victim = two_logs(tmp_path / "root", source)
    after(*FINDERS[source], monkeypatch, lambda: change(victim))
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert stored_inputs(cli) == [40]


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SLICERS))
def test_a_log_gone_while_it_is_read_is_one_line_naming_it_and_nothing_is_stored(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    _, victim = two_logs(tmp_path / "root", source)
    before = snapshot(cli.db)
    after(*SLICERS[source], monkeypatch, lambda: gone(victim))
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert str(victim.resolve()) in line and line.endswith("import again"), line
    assert snapshot(cli.db) == before
    monkeypatch.undo()
    again = cli("import", source, str(tmp_path / "root"))  # the next import reads what is there
    assert again.exit_code == 0, again.stderr
    assert stored_inputs(cli) == [40]


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SLICERS))
def test_a_log_the_agent_writes_on_while_it_is_read_gives_no_malformed_line_and_the_rest_next_time(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    keeper, _ = two_logs(tmp_path / "root", source)
    appended = SOURCES[source][1](70) + b"\n"
    after(*SLICERS[source], monkeypatch, lambda: append(keeper, appended[:25]))  # a line half written
    result = cli("import", source, str(tmp_path / "root"))
    assert result.exit_code == 0, result.stderr
    assert "malformed" not in result.stderr
    assert stored_inputs(cli) == [40, 50]
    monkeypatch.undo()
    append(keeper, appended[25:])
    again = cli("import", source, str(tmp_path / "root"))
    assert again.exit_code == 0, again.stderr
    assert "malformed" not in again.stderr
    assert stored_inputs(cli) == [40, 50, 70]
