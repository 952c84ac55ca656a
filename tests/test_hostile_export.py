"""export --to a path a careless person types: it never replaces a database or a FIFO it was given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sessionstats
from sessionstats.errors import InvalidInput

pytestmark = pytest.mark.file_only


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SESSIONSTATS_USER": "alice"}
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=env, capture_output=True, text=True,
                          timeout=60, cwd=folder)


@pytest.fixture
def database_named_csv(tmp_path: Path) -> Path:
    """A database whose own name ends in .csv, as `--db usage.csv` makes one."""
    assert run(tmp_path, "record-tokens", "-s", "s", "--create", "--input", "1", "--output", "2",
               "--db", "usage.csv").returncode == 0
    return tmp_path / "usage.csv"


def test_exporting_onto_the_database_itself_is_refused_and_the_database_survives(database_named_csv: Path):
    before = database_named_csv.read_bytes()
    result = run(database_named_csv.parent, "export", "--db", "usage.csv", "--to", "usage.csv")
    assert result.returncode == 2
    assert result.stderr == "sessionstats: --to: 'usage.csv' is a database; export never replaces one\n"
    assert database_named_csv.read_bytes() == before
    shown = run(database_named_csv.parent, "show", "s", "--db", "usage.csv", "--format", "csv")
    assert shown.returncode == 0 and shown.stdout.splitlines()[1].startswith("s,,idle,0,1,1,2,")


def test_exporting_through_a_symlink_to_the_database_is_refused(database_named_csv: Path):
    (database_named_csv.parent / "alias.parquet").symlink_to(database_named_csv)
    result = run(database_named_csv.parent, "export", "--db", "usage.csv", "--to", "alias.parquet")
    assert result.returncode == 2 and "is a database; export never replaces one" in result.stderr
    assert (database_named_csv.parent / "alias.parquet").is_symlink()


def test_exporting_onto_another_duckdb_database_is_refused(database_named_csv: Path, tmp_path: Path):
    other = tmp_path / "other.jsonl"
    other.write_bytes(database_named_csv.read_bytes())
    result = run(tmp_path, "export", "--db", "usage.csv", "--to", "other.jsonl")
    assert result.returncode == 2
    assert other.read_bytes() == database_named_csv.read_bytes()


def test_exporting_onto_a_fifo_is_refused_and_the_fifo_stays(database_named_csv: Path, tmp_path: Path):
    os.mkfifo(tmp_path / "stream.csv")
    result = run(tmp_path, "export", "--db", "usage.csv", "--to", "stream.csv")
    assert result.returncode == 2
    assert result.stderr == ("sessionstats: --to: 'stream.csv' is not a regular file (a FIFO, device or socket); "
                             "export writes files\n")
    assert (tmp_path / "stream.csv").is_fifo()


def test_an_export_still_replaces_an_earlier_export(database_named_csv: Path, tmp_path: Path):
    (tmp_path / "calls.csv").write_text("old\n")
    assert run(tmp_path, "export", "--db", "usage.csv", "--to", "calls.csv").returncode == 0
    assert (tmp_path / "calls.csv").read_text().splitlines()[0].startswith("session_id,model,")


def test_the_api_refuses_to_export_onto_its_database(database_named_csv: Path):
    database = sessionstats.connect(database_named_csv, user="alice")
    with pytest.raises(InvalidInput) as refused:
        database.export(database_named_csv)
    assert refused.value.field == "destination"
