"""The Python API: the CLI's figures one call away, read and written the way the CLI does it."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import PgDatabase, db_argument, snapshot, table_of

import sessionstats

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def api(db):
    return sessionstats.connect(db_argument(db), user="alice")


def filled(api) -> sessionstats.SessionHandle:
    """A session with two stories and three priced calls, one an hour earlier."""
    session = api.new_session("Friday broadcast", id="friday", settings={"voice": "alloy"})
    first = session.record_story("Harbour at dawn", narrative="The fog lifts over the harbour", tone="calm")
    session.record_story("Storm warning", narrative="Wind rises", tone="urgent", priority="high", duration=42.5)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    session.record_tokens(1200, 350, model="claude-sonnet-4-5", story_id=first.id, at=hour_ago)
    session.record_tokens(10, 20, cache_read_tokens=30, cache_write_tokens=40, cost="0.000000075",
                          model="gpt-4o", request_id="req-1")
    session.record_response((FIXTURES / "anthropic_message.json").read_text())
    return session


def test_importing_sessionstats_loads_nothing_but_the_package():
    code = "import sys, sessionstats; print(sorted(m for m in sys.modules if m.startswith(('sessionstats', 'duckdb'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['sessionstats']", done.stderr


def test_every_public_name_and_method_has_a_docstring():
    assert sorted(sessionstats.__all__) == sorted(set(sessionstats.__all__))
    assert callable(sessionstats.track) and not inspect.ismodule(sessionstats.connect)
    for name in sessionstats.__all__:
        value = getattr(sessionstats, name)
        assert inspect.getdoc(value) and not inspect.ismodule(value), name
        if inspect.isclass(value):
            for method_name, method in vars(value).items():
                if callable(method) and not method_name.startswith("_"):
                    assert inspect.getdoc(method), f"{name}.{method_name}"


def test_stats_print_exactly_as_show_prints_them(api, cli):
    session = filled(api)
    stats = session.stats()
    assert sessionstats.to_json(stats) + "\n" == cli.ok("show", "friday", "--format", "json")
    assert stats.story_count == 2 and stats.api_calls == 3 and isinstance(stats.total_cost, Decimal)
    assert stats.created_at.tzinfo is UTC and stats.first_record_at.tzinfo is UTC
    filtered = session.stats(tone="calm", since="2h")
    assert sessionstats.to_json(filtered) + "\n" == cli.ok("show", "friday", "--tone", "calm", "--since", "2h",
                                                           "--format", "json")


def test_breakdown_timeline_and_lists_print_as_their_commands_print_them(api, cli):
    session = filled(api)
    api.new_session("empty", id="empty")
    split = session.breakdown("model", "tone")
    shown = {**session.stats().as_dict(), "breakdown": split.as_dict()}
    assert sessionstats.to_json(shown) + "\n" == cli.ok("show", "friday", "--by", "model", "--by", "tone",
                                                        "--format", "json")
    buckets = session.timeline("15m")
    assert sessionstats.to_json(buckets) + "\n" == cli.ok("timeline", "friday", "--every", "15m", "--format", "json")
    assert buckets[0].start.tzinfo is UTC
    assert sessionstats.to_json(api.list_sessions()) + "\n" == cli.ok("list", "--format", "json")
    assert sessionstats.to_json(api.compare("friday", "empty")) + "\n" == cli.ok("compare", "friday", "empty",
                                                                               "--format", "json")


def test_a_priced_call_costs_what_the_price_data_says(api):
    session = api.new_session(id="priced")
    session.record_tokens(100_000, 10_000, model="claude-sonnet-4-5")
    # claude-sonnet-4-5 up to 200k input tokens: $3 per million input, $15 per million output (genai-prices' data)
    assert session.stats().total_cost == Decimal(100_000) * 3 / 10**6 + Decimal(10_000) * 15 / 10**6


def test_a_service_tier_prices_a_call_as_record_tokens_does(api, cli):
    # gpt-4o on the Batch API is half of $2.50 / $10 per million (OpenAI's pricing page, genai-prices' list
    # price): (1,000 x 2.5 + 100 x 10) / 2 / 1e6 = $0.00175
    session = api.new_session(id="tiered")
    session.record_tokens(1000, 100, model="gpt-4o", service_tier="batch")
    cli.ok("record-tokens", "-s", "tiered", "--input", "1000", "--output", "100", "--model", "gpt-4o",
           "--service-tier", "batch")
    api.record_many([session.token_usage(1000, 100, model="gpt-4o", service_tier="batch"),
                     {"session_id": "tiered", "input_tokens": 1000, "output_tokens": 100, "model": "gpt-4o",
                      "service_tier": "batch"}])  # the bulk path dropped the tier: $0.0035 each
    assert [call.estimated_cost for call in session.calls()] == [Decimal("0.00175")] * 4
    with pytest.raises(sessionstats.InvalidInput) as refused:
        session.record_tokens(1, 1, service_tier="x" * 1001)
    assert refused.value.field == "service_tier"


def test_a_response_object_of_either_sdk_records_what_from_response_records(api, cli, tmp_path):
    anthropic = pytest.importorskip("anthropic")
    openai = pytest.importorskip("openai")
    session = api.new_session(id="objects")
    cases = [
        (anthropic.types.Message, "anthropic_message_cache_1h.json"),
        (openai.types.chat.ChatCompletion, "openai_chat_completion.json"),
        (openai.types.responses.Response, "openai_response.json"),
    ]
    columns = "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, " \
              "model, request_id, estimated_cost"
    for kind, fixture in cases:
        document = json.loads((FIXTURES / fixture).read_text())
        if kind is openai.types.responses.Response:  # this SDK version requires a field the fixture leaves out
            document["usage"]["input_tokens_details"].setdefault("cache_write_tokens", 0)
        recorded = session.record_response(kind.model_validate(document))
        cli.ok("record-tokens", "-s", "by-cli", "--create", "--from-response", str(FIXTURES / fixture))
        mine = table_of(cli.db, f"SELECT {columns} FROM token_usage WHERE id = '{recorded.id}'")
        theirs = table_of(cli.db, f"SELECT {columns} FROM token_usage WHERE session_id = 'by-cli' AND request_id = "
                                  f"(SELECT request_id FROM token_usage WHERE id = '{recorded.id}')")
        assert mine == theirs, fixture


def test_a_stream_s_last_event_alone_is_read_as_its_stream(api):
    session = api.new_session(id="events")
    stream = (FIXTURES / "openai_response_stream.sse").read_text()
    completed = next(json.loads(line[5:]) for line in stream.splitlines() if '"response.completed"' in line)
    assert session.record_response(completed).created
    chat = (FIXTURES / "openai_chat_stream.sse").read_text()
    usage_chunk = next(json.loads(line[5:]) for line in chat.splitlines() if '"usage":{' in line)
    assert session.record_response(usage_chunk).created
    assert session.stats().input_tokens == 37 + 476  # the two fixtures' uncached input


def test_a_response_as_a_dict_text_bytes_or_event_list_is_read_the_same(api):
    session = api.new_session(id="shapes")
    text = (FIXTURES / "anthropic_stream.sse").read_text()
    events = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    first = session.record_response(events)
    assert first.created
    assert not session.record_response(text).created  # the same message id: recorded already
    assert not session.record_response(text.encode()).created
    document = json.loads((FIXTURES / "openai_response.json").read_text())
    assert session.record_response(document).created
    assert session.stats().api_calls == 2


@pytest.mark.parametrize("response", [42, "not a response", {"type": "message"}, b"\xff\xfe", [1, 2]])
def test_something_that_is_not_a_response_is_refused_naming_the_response_and_writes_nothing(api, db, response):
    session = api.new_session(id="shapes")
    before = snapshot(db)
    with pytest.raises(sessionstats.InvalidInput) as refused:
        session.record_response(response)
    assert refused.value.field == "response"
    assert snapshot(db) == before


def test_bad_input_raises_the_project_s_error_and_writes_nothing(api, db):
    session = api.new_session(id="friday")
    before = snapshot(db)
    for call in (lambda: session.record_tokens(-1, 0), lambda: session.record_tokens(1, 1, cost="-0.5"),
                 lambda: session.record_story(""), lambda: session.record_tokens(1, 1, at="yesterday-ish")):
        with pytest.raises(sessionstats.InvalidInput):
            call()
    with pytest.raises(sessionstats.InvalidInput) as refused:
        session.stats(since="not a time")
    assert refused.value.field == "since"
    assert snapshot(db) == before


def test_another_user_s_session_is_not_found(api, db):
    api.new_session(id="friday")
    bob = sessionstats.connect(db_argument(db, "bob"), user="bob")
    with pytest.raises(sessionstats.SessionNotFound):
        bob.session("friday").stats()
    with pytest.raises(sessionstats.SessionNotFound):
        bob.session("friday").record_tokens(1, 1)
    assert bob.list_sessions() == []


def test_a_session_made_at_its_first_record_with_create(api):
    session = api.session("fresh", create=True)
    session.record_tokens(5, 6, cost="0.01")
    assert session.info().name is None and session.stats().api_calls == 1


def test_a_story_block_that_raises_records_its_calls_but_no_story(api, db):
    session = api.new_session(id="failing")
    with pytest.raises(RuntimeError), session.story("Never finished") as story:
        session.record_tokens(5, 6, cost="0.01")
        raise RuntimeError("the generator gave up")
    assert table_of(db, "SELECT story_id FROM token_usage") == [(story.id,)]
    assert session.stats().story_count == 0 and story.recorded is None
    with session.story("Finished", tone="calm") as done:
        session.record_tokens(1, 2, cost="0.01", story_id="chosen-by-caller")
    assert done.recorded.created
    assert sorted(row[0] for row in table_of(db, "SELECT story_id FROM token_usage")) == sorted(
        [story.id, "chosen-by-caller"])


def test_a_budget_check_raises_once_a_limit_is_reached(api):
    session = filled(api)
    assert session.check(max_stories=10) == []
    with pytest.raises(sessionstats.BudgetExceeded, match="stories 2 has reached"):
        session.check(max_stories=2)


def test_record_many_stores_all_or_nothing(api, db):
    session = api.new_session(id="bulk")
    result = api.record_many([
        {"session_id": "bulk", "input_tokens": 5, "output_tokens": 6, "model": "gpt-4o", "request_id": "a"},
        sessionstats.TokenUsageInput("bulk", 1, 2, cost=Decimal("0.5"), request_id="b",
                                     created_at=datetime(2026, 1, 2, 3, 4, 5)),
    ])
    assert (result.imported, result.skipped) == (2, 0)
    assert api.record_many([{"session_id": "bulk", "input_tokens": 5, "output_tokens": 6,
                             "request_id": "a"}]).skipped == 1
    before = snapshot(db)
    with pytest.raises(sessionstats.InvalidInput):
        api.record_many([{"session_id": "bulk", "input_tokens": 1, "output_tokens": 1},
                         {"session_id": "bulk", "input_tokens": -1, "output_tokens": 1}])
    assert snapshot(db) == before
    assert session.stats().api_calls == 2


def test_export_and_import_round_trip_through_files(api, tmp_path):
    filled(api)
    assert api.export(tmp_path / "tokens.jsonl", sessions=["friday"]) == 3
    other = sessionstats.connect(tmp_path / "other.duckdb", user="alice")
    result = other.import_tokens(tmp_path / "tokens.jsonl", create_sessions=True)
    assert result.imported == 3
    assert other.session("friday").stats().total_cost == api.session("friday").stats().total_cost
    with pytest.raises(sessionstats.InvalidInput) as refused:
        other.import_tokens(tmp_path / "missing.jsonl")
    assert refused.value.field == "path"


@pytest.mark.file_only
def test_connect_reads_the_cli_s_environment(db, monkeypatch, run_process):
    monkeypatch.setenv("SESSIONSTATS_DB", str(db))
    monkeypatch.setenv("SESSIONSTATS_USER", "carol")
    api = sessionstats.connect()
    assert (api.target, api.user) == (db, "carol")
    api.new_session(id="env").record_tokens(1, 2, cost="0.25")
    shown = run_process("show", "env", "--format", "json", env={"SESSIONSTATS_USER": "carol"})
    assert json.loads(shown.stdout)["total_cost"] == 0.25


@pytest.mark.file_only
def test_no_call_keeps_the_database_open(api, db, run_process):
    filled(api).stats()
    done = run_process("record-tokens", "-s", "friday", "--input", "1", "--output", "1", "--cost", "0",
                       env={"SESSIONSTATS_LOCK_TIMEOUT": "0"})
    assert done.returncode == 0, done.stderr


def test_on_postgresql_you_are_your_role(db):
    if not isinstance(db, PgDatabase):
        pytest.skip("a PostgreSQL rule")
    with pytest.raises(sessionstats.InvalidInput) as refused:
        sessionstats.connect(db.url("alice"), user="mallory")
    assert refused.value.field == "user"
    assert sessionstats.connect(db.url("alice")).user == "alice"


def test_the_default_database_is_the_cli_s(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSIONSTATS_USER", "alice")
    api = sessionstats.connect()
    assert str(api.target).startswith(os.environ["XDG_DATA_HOME"])


def _section_blocks(kind: str) -> list[str]:
    section = README.read_text().split("## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{kind}\n(.*?)```", section, re.S)


def test_the_readme_python_example_runs_and_prints_what_the_readme_shows(tmp_path):
    example = _section_blocks("python")[0]
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TZ": "UTC",
                                            "XDG_DATA_HOME": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == _section_blocks("text")[0]
    assert (tmp_path / "stories.duckdb").exists()


def test_days_hours_and_times_follow_sessionstats_tz_as_the_cli_s_do(api, cli, monkeypatch):
    monkeypatch.setenv("SESSIONSTATS_TZ", "Pacific/Kiritimati")  # UTC+14: most days differ from UTC's
    session = filled(api)
    split = session.breakdown("day")
    shown = {**session.stats().as_dict(), "breakdown": split.as_dict()}
    assert sessionstats.to_json(shown) + "\n" == cli.ok("show", "friday", "--by", "day", "--format", "json")
    assert sessionstats.to_json(session.timeline("hour")) + "\n" == cli.ok("timeline", "friday", "--every", "hour",
                                                                         "--format", "json")
    assert sessionstats.to_json(session.timeline()) + "\n" == cli.ok("timeline", "friday", "--format", "json")
    assert sessionstats.to_json(session.stats(since="2000-01-01")) + "\n" == cli.ok(
        "show", "friday", "--since", "2000-01-01", "--format", "json")
    with pytest.raises(sessionstats.InvalidInput) as refused:
        session.timeline("hour", zone="Mars/Olympus_Mons")
    assert refused.value.field == "zone"


def test_calls_inside_a_story_block_are_not_warned_that_their_story_is_not_there_yet(api):
    session = api.new_session(id="block")
    with session.story("Fog over the harbour") as story:
        recorded = session.record_tokens(10, 5, cost="0.01")
    assert recorded.warning is None  # the block records its story as it ends
    assert session.stats().story_count == 1
    assert story.recorded is not None
    outside = session.record_tokens(1, 1, cost="0.01", story_id="not-yet")
    assert "has no story 'not-yet' yet" in (outside.warning or "")


def test_every_result_the_api_returns_prints_as_json(api):
    """A session, a recorded id and a stored story print as JSON as well as the reports do (no TypeError)."""
    session = api.new_session("friday", id="fri", settings={"voice": "calm"})
    recorded = session.record_tokens(10, 5, cost="0.000105", request_id="r1")
    story = session.record_story("Dawn", narrative="one two three")
    assert json.loads(sessionstats.to_json(recorded)) == {"id": recorded.id, "created": True, "warning": None}
    again = json.loads(sessionstats.to_json([session.record_tokens(10, 5, cost="0.000105", request_id="r1"), story]))
    assert [item["created"] for item in again] == [False, True]
    shown = json.loads(sessionstats.to_json(session.info(), zone="UTC"))
    assert (shown["id"], shown["settings"], shown["status"]) == ("fri", {"voice": "calm"}, "idle")
    assert shown["created_at"].endswith("Z") or shown["created_at"].endswith("+00:00")
