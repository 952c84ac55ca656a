"""serve's HTTP endpoints against a hostile web page and careless clients: refused whole, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from conftest import snapshot

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

from starlette.testclient import TestClient

import sessionstats
from sessionstats.errors import InvalidInput
from sessionstats.serve.app import build_app

pytestmark = pytest.mark.file_only


@pytest.fixture
def client(db) -> Iterator[TestClient]:
    database = sessionstats.connect(db, "alice")
    database.new_session("night", id="s")
    with TestClient(build_app(database)) as made:
        yield made


# A page on any site can POST these to 127.0.0.1 without a CORS preflight (text/plain, a form's encoding).
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver.evil.example",
                                    "http://127.0.0.1:8484"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json"])
def test_a_write_from_another_sites_page_is_refused_and_stores_nothing(client, db, origin, content_type):
    before = snapshot(db)
    for path, body in [("/api/sessions", '{"name": "planted"}'),
                       ("/api/sessions/s/tokens", '{"input_tokens": 5, "output_tokens": 5, "cost": "9.99"}'),
                       ("/api/sessions/s/stories", '{"title": "planted"}')]:
        sent = client.post(path, content=body, headers={"Origin": origin, "Content-Type": content_type})
        assert sent.status_code == 403, sent.text
        assert sent.json() == {"error": "a page from another site may not use this server"}
    assert snapshot(db) == before


def test_the_panels_own_page_and_clients_without_an_origin_still_write(client):
    assert client.post("/api/sessions/s/tokens", json={"input_tokens": 1, "output_tokens": 2},
                       headers={"Origin": "http://testserver"}).status_code == 201
    assert client.post("/api/sessions/s/tokens", content='{"input_tokens": 1, "output_tokens": 2}').status_code == 201
    assert client.get("/api/sessions/s").json()["api_calls"] == 2


def test_a_reading_page_of_another_site_is_refused_too(client):
    assert client.get("/api/sessions/s", headers={"Origin": "https://evil.example"}).status_code == 403


@pytest.mark.parametrize(("value", "field"), [(["x"], "model"), ({"a": 1}, "request_id"), (True, "input_tokens"),
                                              ([1], "story_id")])
def test_a_batch_value_of_no_plain_type_is_refused_not_stored_as_its_repr(client, db, value, field):
    before = snapshot(db)
    sent = client.post("/api/sessions/s/tokens", json=[{"input_tokens": 1, "output_tokens": 2},
                                                       {"input_tokens": 1, "output_tokens": 2, field: value}])
    assert sent.status_code == 400, sent.text
    assert sent.json()["field"] == f"records[1].{field}"
    assert snapshot(db) == before


def test_a_session_whose_settings_hold_a_fraction_is_made(client):
    made = client.post("/api/sessions", json={"id": "t", "settings": {"temperature": 0.7, "voice": "alloy"}})
    assert made.status_code == 201, made.text


def test_record_many_refuses_a_float_cost_by_its_record(db):
    database = sessionstats.connect(db, "alice")
    database.new_session(id="s")
    before = snapshot(db)
    with pytest.raises(InvalidInput) as refused:
        database.record_many([{"session_id": "s", "input_tokens": 1, "output_tokens": 2, "cost": Decimal("0.1")},
                              {"session_id": "s", "input_tokens": 1, "output_tokens": 2, "cost": 0.1}])
    assert refused.value.field == "records[1].cost"
    assert snapshot(db) == before


def test_recording_into_a_missing_session_over_http_makes_no_database(tmp_path):
    path = tmp_path / "new.duckdb"
    with TestClient(build_app(sessionstats.connect(path, "alice"))) as client:
        for endpoint, body in [("tokens", {"input_tokens": 1, "output_tokens": 2}), ("stories", {"title": "t"})]:
            sent = client.post(f"/api/sessions/nope/{endpoint}", json=body)
            assert sent.status_code == 404, sent.text
    assert list(tmp_path.iterdir()) == []


def test_recording_with_create_over_http_still_makes_the_database(tmp_path):
    path = tmp_path / "new.duckdb"
    with TestClient(build_app(sessionstats.connect(path, "alice"))) as client:
        sent = client.post("/api/sessions/made/tokens?create=true", json={"input_tokens": 1, "output_tokens": 2})
        assert sent.status_code == 201, sent.text
    assert path.is_file()


# DNS rebinding: a site re-points its own name at 127.0.0.1, so its page is same-origin to the server it reaches.
@pytest.mark.parametrize("host", ["rebound.example:8484", "rebound.example", "127.0.0.1.rebound.example:8484",
                                  "localhost.example:8484", "0.0.0.0:8484", "10.0.0.5:8484", "[::ffff:7f00:1]x",
                                  "[::1]evil.example", "localhost:80:80", ""])
def test_serving_on_loopback_refuses_a_request_naming_another_host_and_stores_nothing(db, host):
    database = sessionstats.connect(db, "alice")
    database.new_session("night", id="s")
    before = snapshot(db)
    with TestClient(build_app(database, loopback_names=True)) as client:
        origin = {"Origin": f"http://{host}", "Host": host}
        read = client.get("/api/sessions", headers=origin)
        sent = client.post("/api/sessions/s/tokens", json={"input_tokens": 5, "output_tokens": 5}, headers=origin)
    assert (read.status_code, sent.status_code) == (403, 403), read.text
    assert "loopback name" in read.json()["error"] and "night" not in read.text
    assert snapshot(db) == before


@pytest.mark.parametrize("host", ["127.0.0.1:8484", "localhost:8484", "LOCALHOST", "[::1]:8484", "127.0.0.2",
                                  "panel.localhost:8484"])
def test_serving_on_loopback_answers_to_every_loopback_name(db, host):
    database = sessionstats.connect(db, "alice")
    database.new_session("night", id="s")
    with TestClient(build_app(database, loopback_names=True)) as client:
        assert client.get("/api/sessions", headers={"Host": host}).status_code == 200


def test_the_serve_command_refuses_a_rebound_host_name(db):
    import httpx
    from serve_helpers import serving

    sessionstats.connect(db, "alice").new_session("night", id="s")
    with serving(str(db)) as url:
        refused = httpx.get(f"{url}api/sessions", headers={"Host": "rebound.example"}, timeout=10)
        answered = httpx.get(f"{url}api/sessions", timeout=10)
    assert (refused.status_code, answered.status_code) == (403, 200)


# JSON that names a key twice is ambiguous: Python keeps the last value, DuckDB (the JSON Lines import) the first.
# Every path in refuses it, so no import and no request stores a count someone did not mean.
@pytest.mark.parametrize(("path", "body", "key"), [
    ("/api/sessions/s/tokens", '{"input_tokens": 1, "input_tokens": 700, "output_tokens": 2}', "input_tokens"),
    ("/api/sessions/s/tokens", '[{"input_tokens": 1, "output_tokens": 2, "cost": "1", "cost": "0"}]', "cost"),
    ("/api/sessions/s/stories", '{"title": "a", "title": "b"}', "title"),
    ("/api/sessions", '{"name": "a", "settings": {"k": 1, "k": 2}}', "k"),
])
def test_a_body_naming_a_key_twice_is_refused_naming_the_key(client, db, path, body, key):
    before = snapshot(db)
    sent = client.post(path, content=body)
    assert sent.status_code == 400, sent.text
    assert sent.json() == {"error": f"body: not JSON (key {key!r} appears twice in the object)", "field": "body"}
    assert snapshot(db) == before


def test_a_body_nested_too_deeply_is_one_plain_line(client, db):
    before = snapshot(db)
    sent = client.post("/api/sessions/s/tokens", content="[" * 100_000 + "]" * 100_000)
    assert (sent.status_code, sent.json()) == (400, {"error": "body: not JSON we can read (it nests too deeply)",
                                                     "field": "body"})
    assert snapshot(db) == before
