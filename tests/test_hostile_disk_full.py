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
