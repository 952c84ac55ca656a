"""OpenCode keeps its database in WAL mode: an import reads what the WAL holds and creates nothing beside it.

A read-only SQLite open of a WAL database whose -wal and -shm are gone (OpenCode closed it cleanly, which
removes them) creates both and leaves them next to opencode.db; an import is a read, so it must not.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

from conftest import table_of
from opencode_logs import OpenCodeDir, create_database


def wal_database(root: Path, steps: int) -> tuple[OpenCodeDir, sqlite3.Connection]:
    """A WAL-mode OpenCode database with `steps` steps committed, its connection left open (OpenCode running)."""
    made = OpenCodeDir(root)
    con = create_database(made.database)
    con.execute("PRAGMA journal_mode = WAL")  # as OpenCode opens its database
    con.execute("PRAGMA wal_autocheckpoint = 0")  # the steps stay in the WAL, as between OpenCode's checkpoints
    made.session(con, "ses_main", "/home/me/site")
    rng = random.Random(5)
    for _ in range(steps):
        made.step(con, "ses_main", rng)
    con.commit()
    return made, con


def stored(cli) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in row) for row in table_of(
        cli.db, "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
                "sum(cache_write_tokens) FROM token_usage")]


def test_a_wal_database_opencode_closed_is_read_and_no_wal_or_shm_is_left_beside_it(cli, tmp_path: Path) -> None:
    made, con = wal_database(tmp_path / "opencode", 3)
    con.close()  # the last connection checkpoints and removes -wal and -shm
    before = sorted(p.name for p in made.root.iterdir())
    assert before == ["opencode.db"]
    for _ in range(2):
        result = cli("import", "opencode", str(made.root))
        assert result.exit_code == 0, result.stderr
        assert sorted(p.name for p in made.root.iterdir()) == before
    assert stored(cli) == [(3, *made.rows()["ses_main"][1:])]


def test_steps_still_in_the_wal_of_a_running_opencode_are_read_and_its_files_left_as_they_were(
        cli, tmp_path: Path) -> None:
    made, con = wal_database(tmp_path / "opencode", 2)
    try:
        before = sorted(p.name for p in made.root.iterdir())
        assert before == ["opencode.db", "opencode.db-shm", "opencode.db-wal"]
        result = cli("import", "opencode", str(made.root))
        assert result.exit_code == 0, result.stderr
        assert stored(cli) == [(2, *made.rows()["ses_main"][1:])]
        assert sorted(p.name for p in made.root.iterdir()) == before
    finally:
        con.close()


def test_a_wal_left_without_its_shm_is_read_and_no_shm_is_made(cli, tmp_path: Path) -> None:
    made, con = wal_database(tmp_path / "running", 2)
    try:  # a copy taken while OpenCode ran: the database and its WAL, not the shared-memory index
        copy = tmp_path / "opencode"
        copy.mkdir()
        shutil.copyfile(made.database, copy / "opencode.db")
        shutil.copyfile(f"{made.database}-wal", copy / "opencode.db-wal")
    finally:
        con.close()
    result = cli("import", "opencode", str(copy))
    assert result.exit_code == 0, result.stderr
    assert stored(cli) == [(2, *made.rows()["ses_main"][1:])]
    assert sorted(p.name for p in copy.iterdir()) == ["opencode.db", "opencode.db-wal"]
