"""`serve` upgrades an older sessionstats' database (schema 4) only with a record it stores.

Its writer thread keeps the database open across batches, each record with its own outcome; an upgrade is
made in a copy (store/file.py) that takes the file's place only once a batch has stored something. Real
`serve` processes on real files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import table_of
from otel_files import api_request, logs
from test_database_file import folder_state, older_database

import sessionstats
from sessionstats.errors import SessionNotFound
from sessionstats.ingest.journal import JournalEntry, append
from sessionstats.ingest.records import Recorded, StoryInput, TokenUsageInput
from sessionstats.store.migrations import LATEST_VERSION

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

from serve_helpers import serving  # noqa: E402

pytestmark = [pytest.mark.file_only, pytest.mark.slow]

# Each refused by the batch writer itself (bad input never reaches it: test_every_refusal_... below).
FAILING = [("/api/sessions/nosuch/tokens", {"input_tokens": 1, "output_tokens": 2}, 404),
           ("/api/sessions/nosuch/stories", {"title": "Fog"}, 404),
           ("/api/sessions/nosuch/tokens", {"input_tokens": 3, "output_tokens": 4, "request_id": "r1"}, 404)]
BAD_INPUT = [("/api/sessions/s/tokens", {"input_tokens": -1, "output_tokens": 2}, 400),
             ("/api/sessions/s/stories", {"narrative": "no title"}, 400)]


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    return older_database(tmp_path)


def schema_version(db: Path) -> int:
    return table_of(db, "SELECT max(version) FROM schema_migrations")[0][0]


def posted(url: str, requests: list[tuple[str, dict, int]]) -> None:
    with httpx.Client(timeout=60) as http:
        for path, body, status in requests:
            answer = http.post(f"{url}{path.lstrip('/')}", json=body)
            assert answer.status_code == status, (path, answer.status_code, answer.text)


def test_records_serve_refuses_leave_an_older_database_byte_for_byte_as_it_was(old_db):
    before = folder_state(old_db.parent)
    with serving(str(old_db)) as url:
        posted(url, FAILING + BAD_INPUT + FAILING)
    assert folder_state(old_db.parent) == before


def test_one_record_serve_stores_upgrades_the_older_database_and_keeps_its_rows(old_db):
    with serving(str(old_db)) as url:
        posted(url, [*FAILING, ("/api/sessions/s/tokens", {"input_tokens": 7, "output_tokens": 3}, 201), *FAILING])
    assert schema_version(old_db) == LATEST_VERSION
    assert sorted(table_of(old_db, "SELECT input_tokens, output_tokens FROM token_usage")) == [(7, 3), (10, 5)]
    assert sorted(p.name for p in old_db.parent.iterdir()) == ["stats.duckdb", "stats.duckdb.lock"]


def test_a_record_that_makes_its_session_upgrades_the_older_database(old_db):
    with serving(str(old_db)) as url:
        posted(url, [("/api/sessions/fresh/stories?create=true", {"title": "Fog"}, 201)])
    assert schema_version(old_db) == LATEST_VERSION
    assert table_of(old_db, "SELECT session_id, title FROM story_history") == [("fresh", "Fog")]


def test_a_python_batch_whose_every_record_fails_leaves_an_older_database_as_it_was(old_db):
    before = folder_state(old_db.parent)
    outcomes = sessionstats.connect(str(old_db), "alice").record_batch(
        [TokenUsageInput(session_id="nosuch", input_tokens=1, output_tokens=2),
         StoryInput(session_id="nosuch", title="Fog")])
    assert [type(outcome) for outcome in outcomes] == [SessionNotFound, SessionNotFound]
    assert folder_state(old_db.parent) == before


def test_a_python_batch_with_one_good_record_upgrades_the_older_database_and_stores_it(old_db):
    outcomes = sessionstats.connect(str(old_db), "alice").record_batch(
        [TokenUsageInput(session_id="nosuch", input_tokens=1, output_tokens=2),
         TokenUsageInput(session_id="s", input_tokens=7, output_tokens=3)])
    assert [type(outcome) for outcome in outcomes] == [SessionNotFound, Recorded]
    assert schema_version(old_db) == LATEST_VERSION
    assert sorted(table_of(old_db, "SELECT input_tokens, output_tokens FROM token_usage")) == [(7, 3), (10, 5)]


def test_the_journals_records_upgrade_the_older_database_though_the_batch_itself_fails(old_db):
    """Records kept while the database was busy were acknowledged: folded into the upgrade, they stay."""
    append(old_db, JournalEntry(id="kept-1", kind="tokens", user="alice",
                                record=TokenUsageInput(session_id="s", input_tokens=40, output_tokens=2)))
    sessionstats.connect(str(old_db), "alice").record_batch(
        [TokenUsageInput(session_id="nosuch", input_tokens=1, output_tokens=2)])
    assert table_of(old_db, "SELECT id, input_tokens FROM token_usage WHERE id = 'kept-1'") == [("kept-1", 40)]
    assert schema_version(old_db) == LATEST_VERSION


def test_an_otlp_export_whose_every_call_is_refused_leaves_an_older_database_as_it_was_and_a_good_one_upgrades(
        old_db):
    from starlette.testclient import TestClient

    from sessionstats.serve.app import build_app

    def export(session: str, tokens: int) -> str:
        return logs(api_request(session, 1, model="claude-sonnet-4-5", inp=tokens, out=5, read=0, write=0, cost=0.0))

    before = folder_state(old_db.parent)
    with TestClient(build_app(sessionstats.connect(str(old_db), "alice"))) as web:
        refused = web.post("/v1/logs", content=export("cc-dear", 2**62), headers={"content-type": "application/json"})
    assert refused.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    assert folder_state(old_db.parent) == before
    with TestClient(build_app(sessionstats.connect(str(old_db), "alice"))) as web:
        stored = web.post("/v1/logs", content=export("cc-good", 10), headers={"content-type": "application/json"})
    assert stored.status_code == 200 and stored.json() == {}
    assert schema_version(old_db) == LATEST_VERSION
    assert table_of(old_db, "SELECT session_id, input_tokens FROM token_usage WHERE session_id = 'cc-good'") == [
        ("cc-good", 10)]
