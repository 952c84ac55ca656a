"""The API calls the CLI now stands on: each gives what its command prints, read and written the same way."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import db_argument, snapshot, table_of

import sessionstats
from sessionstats.errors import SessionStatsWarning

FIXTURES = Path(__file__).parent / "fixtures" / "responses"


@pytest.fixture
def api(db):
    return sessionstats.connect(db_argument(db), user="alice")


def test_a_response_with_advisor_iterations_is_recorded_by_the_api_as_by_record_tokens(api, cli, db):
    response = (FIXTURES / "anthropic_advisor_iterations.json").read_bytes()
    api.new_session(id="by-api").record_call(sessionstats.read_response(response))
    cli.ok("new", "--id", "by-cli")
    cli.ok("record-tokens", "-s", "by-cli", "--from-response", str(FIXTURES / "anthropic_advisor_iterations.json"))
    rows = table_of(db, "SELECT session_id, call_part, model, input_tokens, output_tokens, estimated_cost, "
                        "cost_source, priced_at_source "
                        "FROM token_usage ORDER BY session_id, call_part")
    by_api = [row[1:] for row in rows if row[0] == "by-api"]
    assert len(by_api) > 1  # one row per billed iteration
    assert by_api == [row[1:] for row in rows if row[0] == "by-cli"]


def test_stories_calls_and_explanations_print_as_their_commands_print_them(api, cli):
    session = api.new_session(id="friday")
    story = session.record_story("Harbour at dawn", narrative="The fog lifts", tone="calm")
    call = session.record_tokens(1200, 350, model="claude-sonnet-4-5", story_id=story.id)
    assert sessionstats.to_json([line.as_dict() for line in session.stories()]) + "\n" == cli.ok(
        "stories", "friday", "--format", "json")
    assert sessionstats.to_json([line.as_dict() for line in session.calls(last=1)]) + "\n" == cli.ok(
        "calls", "friday", "--last", "1", "--format", "json")
    assert json.loads(sessionstats.to_json(api.explain_record(call.id).as_dict())) == cli.json("explain", call.id)
    assert json.loads(sessionstats.to_json(session.explain().as_dict())) == cli.json("explain", "--session",
                                                                                     "friday")


def test_a_budget_report_names_the_limit_reached_without_raising(api):
    session = api.new_session(id="capped")
    session.record_tokens(100, 100, cost="2")
    report = session.budget(sessionstats.Budget(max_cost=Decimal(2), max_tokens=250))
    assert [use.field for use in report.reached] == ["max_cost"]  # a limit is reached at it (>=)
    assert [use.field for use in report.warned] == ["max_tokens"]  # 200 of 250: past the 80% warning
    with pytest.raises(sessionstats.BudgetExceeded):
        session.check(max_cost="2")


def test_rename_delete_and_records_by_id_act_as_their_commands(api, db):
    session = api.new_session("old name", id="doomed")
    story = session.record_story("Gone soon")
    assert session.rename("new name").name == "new name"
    found = api.find_record(story.id)
    assert (found.kind, found.session_id) == ("story", "doomed")
    assert api.delete_record(story.id).id == story.id
    with pytest.raises(sessionstats.SessionStatsError):
        api.find_record(story.id)
    session.record_tokens(1, 2, cost="0")
    removed, stories, tokens = session.delete()
    assert (removed.id, stories, tokens) == ("doomed", 0, 1)
    assert table_of(db, "SELECT count(*) FROM sessions") == [(0,)]


def test_an_import_reports_its_steps_to_the_progress_display_given(api, tmp_path):
    rows = tmp_path / "calls.csv"
    rows.write_text("session_id,input_tokens,output_tokens,cost\nimported,10,20,0.5\n", encoding="utf-8")
    steps: list[str] = []

    class Display:
        def __init__(self, store) -> None:
            self.store = store

        def __enter__(self):
            return steps.append

        def __exit__(self, *exc) -> None:
            steps.append("closed")

    result = api.import_tokens(rows, create_sessions=True, progress=Display)
    assert result.imported == 1 and steps and steps[-1] == "closed" and len(steps) > 1
    assert api.session("imported").stats().total_cost == Decimal("0.5")


@pytest.mark.file_only
def test_init_db_and_diagnose_say_where_the_database_is(tmp_path):
    path = tmp_path / "team.duckdb"
    ready = sessionstats.init_db(path)
    assert ready.location == str(path) and ready.schema_version > 0
    findings = {f.check: f for f in sessionstats.diagnose(path, user="alice")}
    assert findings["user"].detail == "alice" and findings["database"].ok
    assert findings["schema"].ok


def test_a_bucket_length_and_the_default_one_are_one_call_each(api):
    session = api.new_session(id="timed")
    session.record_tokens(1, 1, cost="0")
    assert sessionstats.parse_every("15m").total_seconds() == 900
    assert session.default_every().total_seconds() > 0


@pytest.mark.file_only
@pytest.mark.parametrize("write", [
    lambda api: api.session("S").rename("new name"),
    lambda api: api.session("S").delete(),
    lambda api: api.delete_record("R"),
    lambda api: api.session("S").record_call(sessionstats.ResponseUsage("options", None, None, 1, 2, 0, 0, 0)),
], ids=["rename", "delete", "delete_record", "record_call"])
def test_an_api_write_that_needs_a_session_makes_no_database_where_there_is_none(tmp_path, write):
    api = sessionstats.connect(tmp_path / "typo.duckdb", user="alice")
    with pytest.raises(sessionstats.SessionStatsError) as refused:
        write(api)
    assert refused.value.exit_code in (1, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.file_only
def test_repricing_through_the_api_where_no_database_is_makes_none(tmp_path):
    with pytest.warns(SessionStatsWarning, match="there is no database at"):
        result = sessionstats.connect(tmp_path / "typo.duckdb", user="alice").reprice()
    assert (result.changed, result.sessions) == (0, [])
    assert list(tmp_path.iterdir()) == []


def test_an_empty_story_id_is_refused_by_the_api_as_by_record_story(api, db):
    session = api.new_session(id="named")
    before = snapshot(db)
    with pytest.raises(sessionstats.InvalidInput) as refused:
        session.record_story("Untitled", id="")
    assert refused.value.field == "id"
    assert snapshot(db) == before
