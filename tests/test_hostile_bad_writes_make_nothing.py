"""A write refused for its input makes nothing: no database, no lock file, no data folder, whichever way in.

`new --id ""` validated the id only after opening the database to write, so on a first use it left a
`.lock` beside the missing database (and the CLI, the web API and the Python API all went that way).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import sessionstats
from sessionstats.errors import InvalidInput
from sessionstats.serve.app import build_app

pytestmark = pytest.mark.file_only

BAD_NEW = [("--id", ""), ("--id", "   "), ("--id", "a\x01b"), ("--id", "x" * 201), ("--setting", "novalue"),
           ("--setting", "=5")]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("option", "value"), BAD_NEW)
def test_new_with_a_bad_value_leaves_the_folder_of_a_missing_database_empty(tmp_path, option, value):
    folder = tmp_path / "data"
    folder.mkdir()
    result = run({"SESSIONSTATS_DB": str(folder / "x.duckdb")}, "new", option, value)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"sessionstats: {option}: ")
    assert sorted(os.listdir(folder)) == []  # was ['x.duckdb.lock']


def test_new_with_a_bad_id_makes_no_default_data_folder(tmp_path):
    env = {name: value for name, value in os.environ.items() if name != "SESSIONSTATS_DB"}
    result = subprocess.run([sys.executable, "-m", "sessionstats", "new", "--id", ""], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert not Path(os.environ["XDG_DATA_HOME"]).exists()


@pytest.mark.parametrize("body", ['{"id": ""}', '{"id": "a\\u0001"}', '{"name": "' + "n" * 1001 + '"}',
                                  '{"settings": {"x": NaN}}', '{"id": 5}'])
def test_a_session_the_web_api_refuses_makes_no_file(tmp_path, body):
    with TestClient(build_app(sessionstats.connect(tmp_path / "x.duckdb", "alice"))) as client:
        answer = client.post("/api/sessions", content=body)
    assert answer.status_code == 400, answer.text
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("given", [{"id": ""}, {"name": 5}, {"settings": [1]}, {"settings": {"x": float("nan")}}])
def test_a_session_the_python_api_refuses_makes_no_file(tmp_path, given):
    with pytest.raises(InvalidInput):
        sessionstats.connect(tmp_path / "x.duckdb", "alice").new_session(**given)
    assert sorted(os.listdir(tmp_path)) == []


def test_a_narrative_file_saved_with_a_bom_is_stored_without_it(tmp_path):
    """A Windows editor's UTF-8 file starts with U+FEFF; the imports and --from-response drop it, so does this."""
    from conftest import table_of

    db = tmp_path / "x.duckdb"
    env = {"SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    assert run(env, "new", "--id", "s").returncode == 0
    story = tmp_path / "story.txt"
    story.write_bytes(b"\xef\xbb\xbfHarbour at dawn")
    assert run(env, "record-story", "-s", "s", "--title", "t", "--narrative-file", str(story)).returncode == 0
    assert table_of(db, "SELECT narrative, word_count FROM story_history") == [("Harbour at dawn", 3)]


@pytest.mark.parametrize("how", ["option", "variable"])
def test_a_database_path_ending_in_a_slash_is_refused_not_made_a_file(tmp_path, how):
    """`--db newdir/` made a FILE named newdir (Path drops the slash), which a later `mkdir newdir` then hits."""
    given = f"{tmp_path}/newdir/"
    args, env = (("new", "--db", given), {}) if how == "option" else (("new",), {"SESSIONSTATS_DB": given})
    result = run(env, *args)
    assert result.returncode == 2
    assert result.stderr == (f"sessionstats: --db: {given!r} names a folder; give the database file's path, such as "
                             f"'{tmp_path}/newdir/sessionstats.duckdb'\n")
    assert sorted(os.listdir(tmp_path)) == []


def test_the_python_api_refuses_a_database_path_ending_in_a_slash(tmp_path):
    with pytest.raises(InvalidInput) as refused:
        sessionstats.connect(f"{tmp_path}/newdir/", "alice").new_session("n")
    assert refused.value.field == "db"
    assert sorted(os.listdir(tmp_path)) == []
