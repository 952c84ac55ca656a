"""The web API of `sessionstats serve`: read endpoints, capture endpoints and their statuses, on a real database.

Starlette's TestClient drives the app in-process; the database is a real DuckDB file or PostgreSQL database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from conftest import db_argument, snapshot

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

from starlette.testclient import TestClient

import sessionstats
from sessionstats.serve.app import build_app


def client_for(db, user: str = "alice", token: str | None = None) -> TestClient:
    return TestClient(build_app(sessionstats.connect(db_argument(db, user), user), token=token))


@pytest.fixture
def client(db) -> Iterator[TestClient]:
    with client_for(db) as made:
        yield made


@pytest.fixture
def session_id(client: TestClient) -> str:
    made = client.post("/api/sessions", json={"name": "Friday broadcast", "id": "friday"})
    assert made.status_code == 201, made.text
    return made.json()["session_id"]


def test_a_new_session_shows_zero_figures_and_divides_by_zero_as_null(client, session_id):
    stats = client.get(f"/api/sessions/{session_id}").json()
    assert (stats["story_count"], stats["total_tokens"], stats["total_cost"]) == (0, 0, "0")
    assert stats["tokens_per_story"] is None and stats["cost_per_story"] is None


def test_session_stats_carry_the_keys_and_values_of_show_json_with_costs_as_exact_strings(client, session_id, cli):
    assert client.post(f"/api/sessions/{session_id}/stories",
                       json={"title": "Opening", "narrative": "one two three", "tone": "calm"}).status_code == 201
    # $0.000000075 is a one-token charge at $0.075/M: nine places must survive the trip to JavaScript.
    assert client.post(f"/api/sessions/{session_id}/tokens",
                       json={"input_tokens": 1, "output_tokens": 0, "cost": "0.000000075"}).status_code == 201
    assert client.post(f"/api/sessions/{session_id}/tokens",
                       json={"input_tokens": 1234567, "output_tokens": 350, "cost": 0.0089}).status_code == 201
    page = client.get(f"/api/sessions/{session_id}").json()
    shown = json.loads(cli.ok("show", session_id, "--format", "json", "--tz", "UTC"), parse_float=Decimal)
    assert page.keys() == shown.keys()
    assert page["total_cost"] == "0.008900075" and Decimal(page["total_cost"]) == shown["total_cost"]
    assert Decimal(page["cost_per_1k_words"]) == shown["cost_per_1k_words"]
    for key in ("story_count", "api_calls", "input_tokens", "total_tokens", "word_count", "tokens_per_story"):
        assert page[key] == shown[key], key


def test_the_session_list_gives_each_sessions_figures_and_last_activity(client, session_id):
    client.post(f"/api/sessions/{session_id}/tokens", json={"input_tokens": 10, "output_tokens": 5, "cost": "0.5"})
    [row] = client.get("/api/sessions").json()
    assert (row["session_id"], row["name"], row["status"], row["total_tokens"], row["total_cost"]) == (
        "friday", "Friday broadcast", "idle", 15, "0.5")
    assert row["last_activity"] == row["last_record_at"]


def test_the_detail_has_breakdowns_by_tone_priority_and_model_stories_and_a_timeline(client, session_id):
    story = client.post(f"/api/sessions/{session_id}/stories",
                        json={"title": "Storm", "narrative": "wind and rain", "tone": "dark", "priority": "high"})
    client.post(f"/api/sessions/{session_id}/tokens", json={"input_tokens": 100, "output_tokens": 20, "cost": "0.01",
                                                            "model": "claude-sonnet-4-5",
                                                            "story_id": story.json()["id"]})
    detail = client.get(f"/api/sessions/{session_id}/detail").json()
    assert [(r["tone"], r["total_tokens"]) for r in detail["breakdowns"]["tone"]] == [("dark", 120)]
    assert [(r["priority"], r["story_count"]) for r in detail["breakdowns"]["priority"]] == [("high", 1)]
    assert [(r["model"], r["total_cost"]) for r in detail["breakdowns"]["model"]] == [("claude-sonnet-4-5", "0.01")]
    assert [(s["title"], s["word_count"], s["total_tokens"]) for s in detail["stories"]] == [("Storm", 3, 120)]
    assert sum(b["total_tokens"] for b in detail["timeline"]["buckets"]) == 120
    assert client.get(f"/api/sessions/{session_id}/breakdown?by=tone").json()["rows"][0]["tone"] == "dark"
    assert client.get(f"/api/sessions/{session_id}/timeline?every=day").json()["every_seconds"] == 86400


def test_a_repeated_request_id_is_409_and_stores_nothing_new(client, session_id):
    record = {"input_tokens": 10, "output_tokens": 5, "cost": "0.001", "request_id": "req_1"}
    first = client.post(f"/api/sessions/{session_id}/tokens", json=record)
    again = client.post(f"/api/sessions/{session_id}/tokens", json=record)
    assert (first.status_code, again.status_code) == (201, 409)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert client.get(f"/api/sessions/{session_id}").json()["api_calls"] == 1


@pytest.mark.parametrize(("record", "field"), [
    ({"input_tokens": -1, "output_tokens": 5}, "input_tokens"),
    ({"input_tokens": 1.5, "output_tokens": 5}, "input_tokens"),
    ({"input_tokens": True, "output_tokens": 5}, "input_tokens"),
    ({"input_tokens": 1, "output_tokens": "many"}, "output_tokens"),
    ({"output_tokens": 5}, "input_tokens"),
    ({"input_tokens": 1, "output_tokens": 5, "cost": "-0.1"}, "cost"),
    ({"input_tokens": 1, "output_tokens": 5, "cost": "NaN"}, "cost"),
    ({"input_tokens": 1, "output_tokens": 5, "colour": "red"}, "colour"),
    ({"input_tokens": 1, "output_tokens": 5, "cache_read_tokens": 2**63}, "cache_read_tokens"),
    ({"input_tokens": 1, "output_tokens": 5, "at": "yesterday-ish"}, "at"),
    ([{"input_tokens": 1, "output_tokens": 5}, {"input_tokens": -3, "output_tokens": 1}], "records[1].input_tokens"),
    ([{"input_tokens": 1, "output_tokens": 5, "cost": "x"}], "records[0].cost"),
    ([], "body"),
    ("just text", "body"),
    ({"input_tokens": 1, "output_tokens": 5, "service_tier": "x" * 1001}, "service_tier"),
    ([{"input_tokens": 1, "output_tokens": 5, "service_tier": 7}], "records[0].service_tier"),
])
def test_bad_token_records_are_400_naming_the_field_and_write_nothing(client, session_id, db, record, field):
    before = snapshot(db)
    answer = client.post(f"/api/sessions/{session_id}/tokens", json=record)
    assert answer.status_code == 400, answer.text
    if field is not None:
        assert answer.json()["field"] == field, answer.json()
        assert answer.json()["error"].startswith(f"{field}:"), answer.json()
    assert snapshot(db) == before


def test_a_service_tier_prices_a_record_and_a_batch_as_record_tokens_does(client, session_id, cli):
    # gpt-4o on the Batch API is half of $2.50 / $10 per million (OpenAI's pricing page, genai-prices' list
    # price): (1,000 x 2.5 + 100 x 10) / 2 / 1e6 = $0.00175, three times
    record = {"input_tokens": 1000, "output_tokens": 100, "model": "gpt-4o", "service_tier": "batch"}
    assert client.post(f"/api/sessions/{session_id}/tokens", json=record).status_code == 201
    assert client.post(f"/api/sessions/{session_id}/tokens", json=[record, record]).status_code == 201
    assert client.get(f"/api/sessions/{session_id}").json()["total_cost"] == "0.00525"


def test_a_body_that_is_not_json_is_400(client, session_id):
    answer = client.post(f"/api/sessions/{session_id}/tokens", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["field"]) == (400, "body")


def test_a_story_without_a_title_is_400_naming_title(client, session_id):
    answer = client.post(f"/api/sessions/{session_id}/stories", json={"narrative": "x"})
    assert (answer.status_code, answer.json()["field"]) == (400, "title")


def test_another_users_session_is_404_to_read_and_to_record(db, session_id):
    with client_for(db, "bob") as bob:
        assert bob.get(f"/api/sessions/{session_id}").status_code == 404
        assert bob.get(f"/api/sessions/{session_id}/detail").status_code == 404
        assert bob.post(f"/api/sessions/{session_id}/tokens",
                        json={"input_tokens": 1, "output_tokens": 1}).status_code == 404
        assert bob.post(f"/api/sessions/{session_id}/tokens",
                        json=[{"input_tokens": 1, "output_tokens": 1}]).status_code == 404
        assert bob.get("/api/sessions").json() == []


def test_a_missing_session_is_404_unless_create_is_asked(client):
    assert client.get("/api/sessions/nowhere").status_code == 404
    assert client.post("/api/sessions/nowhere/tokens", json={"input_tokens": 1, "output_tokens": 1}).status_code == 404
    one = {"input_tokens": 1, "output_tokens": 1}
    assert client.post("/api/sessions/nowhere/tokens", json=[one]).status_code == 404
    made = client.post("/api/sessions/nowhere/tokens?create=true", json={"input_tokens": 1, "output_tokens": 1})
    assert made.status_code == 201
    assert client.get("/api/sessions/nowhere").json()["total_tokens"] == 2


def test_a_batch_is_stored_all_at_once_and_a_repeat_is_409(client, session_id):
    batch = [{"input_tokens": n, "output_tokens": 1, "cost": "0.0001", "request_id": f"r{n}"} for n in range(1, 51)]
    first = client.post(f"/api/sessions/{session_id}/tokens", json=batch)
    assert (first.status_code, first.json()) == (201, {"imported": 50, "skipped": 0})
    again = client.post(f"/api/sessions/{session_id}/tokens", json=batch)
    assert (again.status_code, again.json()) == (409, {"imported": 0, "skipped": 50})
    stats = client.get(f"/api/sessions/{session_id}").json()
    assert (stats["api_calls"], stats["total_cost"]) == (50, "0.005")


def test_a_raw_anthropic_response_is_recorded_as_from_response(client, session_id):
    # The Messages API's documented response shape (docs.anthropic.com/en/api/messages).
    body = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": "Hi"}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 2095, "output_tokens": 503,
                                                 "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0}}
    first = client.post(f"/api/sessions/{session_id}/responses", content=json.dumps(body))
    assert first.status_code == 201, first.text
    assert client.post(f"/api/sessions/{session_id}/responses", content=json.dumps(body)).status_code == 409
    stats = client.get(f"/api/sessions/{session_id}").json()
    assert (stats["input_tokens"], stats["output_tokens"], stats["cache_read_tokens"]) == (2095, 503, 100)
    assert client.post(f"/api/sessions/{session_id}/responses", content=b"<html>").status_code == 400


@pytest.mark.file_only
def test_a_busy_database_is_503_with_retry_after(db, session_id, monkeypatch):
    import fcntl

    monkeypatch.setenv("SESSIONSTATS_LOCK_TIMEOUT", "0.2")
    with client_for(db) as client, open(f"{db}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        answer = client.get(f"/api/sessions/{session_id}")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"


@pytest.mark.file_only
def test_with_a_token_every_request_must_carry_it(db):
    token = "s3cret-token-of-length"
    with client_for(db, token=token) as client:
        assert client.get("/api/sessions").status_code == 401
        assert client.get("/").status_code == 401
        assert client.get("/api/sessions", headers={"Authorization": "Bearer wrong-token-xxxxxx"}).status_code == 401
        assert client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get(f"/api/sessions?token={token}").status_code == 200
        assert client.post("/v1/logs", json={}).status_code == 401


@pytest.mark.file_only
def test_the_page_and_its_scripts_are_served_from_the_package(db):
    with client_for(db) as client:
        page = client.get("/")
        assert page.status_code == 200 and "Session Overview" in page.text
        assert "http" not in page.text.replace('http-equiv', '')  # nothing fetched from the internet
        for asset in ("panel.js", "format.js", "panel.css"):
            assert client.get(f"/static/{asset}").status_code == 200


@pytest.mark.file_only
def test_a_single_record_meeting_a_busy_database_is_journaled_and_stored_by_the_next_write(db, session_id,
                                                                                           monkeypatch):
    import fcntl

    monkeypatch.setenv("SESSIONSTATS_LOCK_TIMEOUT", "0.2")
    record = {"input_tokens": 10, "output_tokens": 5, "cost": "0.25", "request_id": "kept"}
    with client_for(db) as client:
        with open(f"{db}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            answer = client.post(f"/api/sessions/{session_id}/tokens", json=record)
        assert answer.status_code == 201 and "journal" in answer.json()["warning"]
        client.post(f"/api/sessions/{session_id}/tokens", json={"input_tokens": 1, "output_tokens": 1, "cost": "0"})
        stats = client.get(f"/api/sessions/{session_id}").json()
    assert (stats["api_calls"], stats["total_cost"]) == (2, "0.25")


@pytest.mark.file_only
@pytest.mark.slow
def test_records_posted_at_once_by_many_clients_are_all_stored_once(db, run_process):
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from serve_helpers import serving

    session = run_process("new", "Busy").stdout.strip()
    with serving(str(db)) as url, httpx.Client(timeout=60) as http:
        def post(n: int) -> int:
            return http.post(f"{url}api/sessions/{session}/tokens", json={
                "input_tokens": n, "output_tokens": 1, "cost": "0.001", "request_id": f"r{n % 150}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(200)))
    assert statuses.count(201) == 150 and statuses.count(409) == 50  # each request id once, whoever came first
    stats = json.loads(run_process("show", session, "--format", "json").stdout)
    assert (stats["api_calls"], stats["total_cost"]) == (150, 0.15)


@pytest.mark.file_only
def test_the_page_opened_with_its_token_loads_its_scripts_through_a_cookie(db):
    token = "s3cret-token-of-length"
    with client_for(db, token=token) as client:
        assert client.get("/static/panel.js").status_code == 401
        page = client.get(f"/?token={token}")
        assert page.status_code == 200 and "httponly" in page.headers["set-cookie"].lower()
        assert client.get("/static/panel.js").status_code == 200  # the cookie the page set
        assert client.get("/api/events", headers={"Cookie": "sessionstats_token=wrong"}).status_code == 401


@pytest.mark.file_only
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/sessions/friday/tokens", b'{"input_tokens": 1, "output_tokens": 1, "cost": 1e400}', "cost"),
    ("/api/sessions/friday/tokens", b'{"input_tokens": 1, "output_tokens": \xff}', "body"),
    ("/api/sessions/friday/tokens", b"[" * 100_000 + b"]" * 100_000, "body"),
    ("/api/sessions/friday/tokens", b'{"input_tokens": 1, "output_tokens": 1, "cost": NaN}', "body"),
    ("/api/sessions/friday/stories", b'{"title": "x", "word_count": -5}', "word_count"),
    ("/api/sessions/friday/stories", b'{"title": ""}', "title"),
    ("/api/sessions/friday/stories", b'{"title": "x", "duration": "long"}', "duration"),
    ("/api/sessions", b'{"name": "x", "settings": [1, 2]}', "settings"),
    ("/api/sessions", b'{"id": "has\\u0000nul"}', "id"),
    ("/api/sessions/" + "x" * 300 + "/tokens", b'{"input_tokens": 1, "output_tokens": 1}', "session_id"),
    ("/api/sessions/friday/tokens?create=maybe", b'{"input_tokens": 1, "output_tokens": 1}', "create"),
])
def test_hostile_bodies_are_400_naming_the_field_and_write_nothing(client, session_id, db, path, body, field):
    before = snapshot(db)
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["field"]) == (400, field), answer.text
    assert snapshot(db) == before


@pytest.mark.file_only
def test_a_body_over_the_size_limit_is_refused_without_reading_it_all(client, session_id, db):
    from sessionstats.serve.capture import MAX_BODY

    before = snapshot(db)
    answer = client.post(f"/api/sessions/{session_id}/tokens", content=b" " * (MAX_BODY + 1))
    assert (answer.status_code, answer.json()["field"]) == (400, "body")
    assert snapshot(db) == before


def test_a_story_sent_again_with_its_id_is_409_and_counted_once(client, session_id):
    story = {"title": "Storm", "narrative": "wind and rain", "id": "story-1"}
    first = client.post(f"/api/sessions/{session_id}/stories", json=story)
    again = client.post(f"/api/sessions/{session_id}/stories", json=story)
    assert (first.status_code, again.status_code, again.json()["id"]) == (201, 409, "story-1")
    assert client.get(f"/api/sessions/{session_id}").json()["story_count"] == 1
