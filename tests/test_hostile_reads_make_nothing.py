"""A new user's first commands: reads make no folder, no file; only the first write makes the data folder."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.file_only

READS = [("list",), ("show", "s"), ("stories", "s"), ("calls", "s"), ("timeline", "s"), ("compare", "a", "b"),
         ("check", "s", "--max-cost", "1"), ("explain", "--session", "s"), ("doctor",),
         ("reprice", "--all", "--dry-run"), ("export", "--to", "OUT/o.csv")]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """sessionstats with no --db and no SESSIONSTATS_DB: the default database in the (test's) data folder."""
    env = {name: value for name, value in os.environ.items() if name != "SESSIONSTATS_DB"}
    env["SESSIONSTATS_USER"] = "alice"
    args = tuple(arg.replace("OUT", str(tmp_path)) for arg in args)
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("args", READS, ids=[" ".join(a[:2]) for a in READS])
def test_a_read_on_the_default_database_makes_no_data_folder(tmp_path, args):
    data = Path(os.environ["XDG_DATA_HOME"])
    result = run(tmp_path, *args)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists()


def test_a_missing_session_on_the_default_database_says_there_is_none_yet(tmp_path):
    result = run(tmp_path, "show", "s")
    assert result.returncode == 1
    assert "there is no database at " in result.stderr and "/sessionstats/sessionstats.duckdb yet" in result.stderr


def test_the_first_write_makes_the_data_folder_owner_only(tmp_path):
    data = Path(os.environ["XDG_DATA_HOME"])
    assert run(tmp_path, "new", "--id", "s").returncode == 0
    assert stat.S_IMODE((data / "sessionstats").stat().st_mode) == 0o700
    assert (data / "sessionstats" / "sessionstats.duckdb").is_file()
    assert run(tmp_path, "show", "s").returncode == 0


def test_a_write_that_needs_a_session_makes_no_data_folder_either(tmp_path):
    result = run(tmp_path, "delete", "s", "--yes")
    assert result.returncode == 1
    assert not Path(os.environ["XDG_DATA_HOME"]).exists()


IMPORTS = [("import", "--all"), ("import", "detect"), ("import", "codex"), ("import", "gemini"),
           ("import", "opencode"), ("import", "qwen"), ("import", "codex", "OUT/empty"),
           ("import", "qwen", "OUT/empty"), ("import", "codex", "OUT/missing")]


@pytest.mark.parametrize("args", IMPORTS, ids=[" ".join(a[1:]) for a in IMPORTS])
def test_an_import_that_finds_no_history_makes_no_data_folder(tmp_path, args):
    """A first `import --all` on a machine without the agents is a look around, not a write: nothing is made."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "home").mkdir()  # $HOME, without any agent's folder
    result = run(tmp_path, *args)
    assert result.returncode == (2 if "OUT/missing" in args else 0), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") <= 2
    assert not Path(os.environ["XDG_DATA_HOME"]).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "home"]
