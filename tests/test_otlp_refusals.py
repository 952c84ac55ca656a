"""The OTLP receiver's partial success counts every record that carried usage and was not stored, and says why.

A count that is not a whole number, or an id or model the shared field rules refuse (checked before the export
is queued, as `import otel` counts such a line malformed), or counts whose cost a record cannot hold (known as
the export is stored), is a rejected record. None is dropped without the exporter being told.
Starlette's TestClient drives the app in-process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import db_argument, table_of
from otel_files import api_request, genai_span, logs, traces

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

from starlette.testclient import TestClient

import sessionstats
from sessionstats.serve.app import build_app

pytestmark = pytest.mark.file_only
TAIL = " (`sessionstats import otel` of the same export counts them malformed)"
IDS_REFUSED = ("carried a session id, model or request id the field rules refuse (a control character, or over "
               "200 characters)")


@pytest.fixture
def web(db) -> Iterator[TestClient]:
    with TestClient(build_app(sessionstats.connect(db_argument(db), "alice"))) as client:
        yield client


def call(session: str, sequence: int, model: str = "claude-sonnet-4-5", inp: int = 10, cost: float = 0.001) -> dict:
    return api_request(session, sequence, model=model, inp=inp, out=5, read=0, write=0, cost=cost)


def post(web: TestClient, signal: str, body: str) -> dict:
    answer = web.post(f"/v1/{signal}", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(("session", "model"), [
    ("cc\x1b[2J", "claude-sonnet-4-5"), ("cc\n", "claude-sonnet-4-5"), ("s" * 201, "claude-sonnet-4-5"),
    ("cc-ok", "claude\tsonnet"), ("cc-ok", "m" * 201),
])
def test_a_log_record_the_field_rules_refuse_is_counted_as_rejected_and_the_others_stored(web, db, session, model):
    answer = post(web, "logs", logs(call("cc-good", 1), call(session, 2, model=model)))
    assert answer == {"partialSuccess": {"rejectedLogRecords": "1",
                                         "errorMessage": f"1 log record not stored: 1 {IDS_REFUSED}{TAIL}"}}
    assert table_of(db, "SELECT session_id, input_tokens FROM token_usage") == [("cc-good", 10)]


def test_a_span_whose_conversation_id_is_refused_is_counted_as_rejected(web, db):
    good = genai_span("a" * 32, "b" * 16, model="gpt-4o", inp=10, out=5)
    bad = genai_span("c" * 32, "d" * 16, model="gpt-4o", inp=10, out=5, conversation="conv\x07")
    answer = post(web, "traces", traces(good, bad))
    assert answer == {"partialSuccess": {"rejectedSpans": "1",
                                         "errorMessage": f"1 span not stored: 1 {IDS_REFUSED}{TAIL}"}}
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(1,)]


def test_refusals_of_both_kinds_are_counted_together_and_each_named(web, db):
    fractional = call("cc-frac", 3)
    for attribute in fractional["attributes"]:
        if attribute["key"] == "input_tokens":
            attribute["value"] = {"doubleValue": 1.5}
    answer = post(web, "logs", logs(call("cc-good", 1), call("cc\x00", 2), fractional, call("x" * 300, 4)))
    said = f"3 log records not stored: 1 carried token counts that are not whole numbers >= 0; 2 {IDS_REFUSED}{TAIL}"
    assert answer == {"partialSuccess": {"rejectedLogRecords": "3", "errorMessage": said}}
    assert table_of(db, "SELECT session_id FROM token_usage") == [("cc-good",)]


def test_a_call_whose_cost_a_record_cannot_hold_is_a_rejected_record_and_the_rest_is_stored(web, db):
    """A cost past the per-record limit (an estimate: cost_usd 0 states none) is known only once priced, as the
    export is stored: the exporter is told in the partial success, as `import otel` counts the line malformed
    (it refused the whole export before, as a file's import refused the whole file)."""
    answer = post(web, "logs", logs(call("cc-a", 1), call("cc-b", 2, inp=2**62, cost=0.0)))
    assert answer == {"partialSuccess": {"rejectedLogRecords": "1", "errorMessage": (
        "1 log record not stored: 1 carried token counts whose cost a record cannot hold (over $1e9)"
        " (`sessionstats import otel` of the same export counts them malformed)")}}
    assert table_of(db, "SELECT session_id FROM token_usage") == [("cc-a",)]


def test_exports_stored_in_one_batch_are_each_told_what_they_lost(db):
    from sessionstats.serve.otlp import store_exports, usage_events

    exports = [usage_events(json.loads(logs(call(session, 1, inp=tokens, cost=0.0))))[0]
               for session, tokens in (("cc-a", 5), ("cc-b", 2**62), ("cc-c", 7))]
    database = sessionstats.connect(db_argument(db, "alice"), user="alice")
    with database.writing() as store:
        assert store_exports(store, "alice", exports) == [0, 1, 0]
    assert table_of(db, "SELECT session_id FROM token_usage ORDER BY 1") == [("cc-a",), ("cc-c",)]


def test_an_export_with_nothing_refused_is_an_empty_answer(web, db):
    assert post(web, "logs", logs(call("cc-a", 1), call("cc-b", 2))) == {}
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(2,)]


def test_the_same_export_through_import_otel_counts_the_same_records_malformed(cli, db, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text(logs(call("cc-good", 1), call("cc\x1b", 2)) + "\n")
    result = cli("import", "otel", str(path))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed" in result.stderr
    assert table_of(db, "SELECT session_id FROM token_usage") == [("cc-good",)]
    assert json.loads(path.read_text())  # the export itself was valid JSON
