"""A full disk: a database that cannot be made leaves nothing of itself behind and names the file asked for.

Needs root to mount a 1 MiB tmpfs (a DuckDB file needs more than that); skipped elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.file_only


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_database_that_cannot_be_made_on_a_full_disk_leaves_only_its_lock(full_disk: Path) -> None:
    env = {**os.environ, "SESSIONSTATS_USER": "alice"}
    result = subprocess.run([sys.executable, "-m", "sessionstats", "new", "--id", "s", "--db",
                             str(full_disk / "f.duckdb")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert len(result.stderr.splitlines()) == 1 and "No space left on device" in result.stderr
    assert result.stderr.startswith(f"sessionstats: cannot use the database at {full_disk}/f.duckdb: ")
    assert ".creating" not in result.stderr
    assert sorted(p.name for p in full_disk.iterdir()) == ["f.duckdb.lock"]


def test_an_older_database_on_a_disk_without_room_for_its_upgrade_is_one_line_and_left_as_it_was(
        tmp_path: Path) -> None:
    from test_database_file import downgrade_to_schema_4, folder_state, make_database

    made = tmp_path / "made" / "f.duckdb"
    made.parent.mkdir()
    make_database(made)
    downgrade_to_schema_4(made)
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={made.stat().st_size + 200_000}",
                                            "tmpfs", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        db = folder / "f.duckdb"
        db.write_bytes(made.read_bytes())
        (folder / "f.duckdb.lock").touch(mode=0o600)
        before = folder_state(folder)
        env = {**os.environ, "SESSIONSTATS_USER": "alice"}
        result = subprocess.run([sys.executable, "-m", "sessionstats", "record-tokens", "-s", "s", "--input", "1",
                                 "--output", "1", "--db", str(db)], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 4, result.stderr
        assert result.stderr == (f"sessionstats: cannot upgrade the database at {db} to this sessionstats' schema: "
                                 "copying it beside itself failed (no space left on device); make room for a copy, "
                                 "then try again\n")
        assert folder_state(folder) == before
    finally:
        subprocess.run(["umount", str(folder)], check=True)
