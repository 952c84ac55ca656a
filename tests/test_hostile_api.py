"""The Python API given the wrong types a careless program hands it: InvalidInput naming the field, nothing stored.

The CLI only ever passes text; a program passes whatever it has (a float for a cost, an int for an id, a
list for settings). Each such value must meet the same field rule, never an AttributeError or TypeError.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import snapshot

import sessionstats
from sessionstats.errors import InvalidInput

pytestmark = pytest.mark.file_only


@pytest.fixture
def database(tmp_path):
    return sessionstats.connect(tmp_path / "api.duckdb", user="alice")


@pytest.fixture
def handle(database):
    made = database.new_session("night", id="s")
    made.record_tokens(10, 5, cost=Decimal("1.25"))
    return made


def refused_field(database, call) -> str | None:
    """Run the call; return the field its InvalidInput names, after checking that it stored nothing."""
    before = snapshot(database.target)
    with pytest.raises(InvalidInput) as refused:
        call()
    assert snapshot(database.target) == before
    return refused.value.field


@pytest.mark.parametrize("cost", [0.1, 0.30000000000000004, 1e-3, float("nan"), 0.0])
def test_a_float_cost_is_refused_as_inexact_money(database, handle, cost):
    assert refused_field(database, lambda: handle.record_tokens(1, 2, cost=cost)) == "cost"


def test_a_float_budget_is_refused_as_inexact_money(database, handle):
    assert refused_field(database, lambda: handle.check(max_cost=0.1)) == "max_cost"


def test_a_cost_as_text_or_decimal_or_int_is_stored_exactly(database, handle):
    for cost in ("0.1", Decimal("0.2"), 3):
        handle.record_tokens(1, 2, cost=cost)
    assert handle.stats().total_cost == Decimal("1.25") + Decimal("3.3")


@pytest.mark.parametrize(("limits", "field"), [
    ({"max_tokens": -1}, "max_tokens"), ({"max_tokens": 1.5}, "max_tokens"), ({"max_stories": "x"}, "max_stories"),
    ({"max_stories": True}, "max_stories"), ({"max_cost": 1, "warn_at": "abc"}, "warn_at"),
    ({"max_cost": 1, "warn_at": 101}, "warn_at"), ({"max_cost": 1, "warn_at": float("nan")}, "warn_at"),
])
def test_a_budget_limit_that_is_no_count_is_refused_naming_it(handle, limits, field):
    with pytest.raises(InvalidInput) as refused:
        handle.check(**limits)
    assert refused.value.field == field


def test_a_budget_of_whole_numbers_still_checks(handle):
    assert handle.check(max_tokens=1_000, max_stories=5, warn_at="90") == []


@pytest.mark.parametrize(("call", "field"), [
    (lambda h: h.record_tokens(1, 2, model=5), "model"),
    (lambda h: h.record_tokens(1, 2, request_id=5), "request_id"),
    (lambda h: h.record_tokens(1, 2, story_id=["a"]), "story_id"),
    (lambda h: h.record_tokens(1, 2, provider=1), "provider"),
    (lambda h: h.record_story(5), "title"),
    (lambda h: h.record_story("t", narrative=b"bytes"), "narrative"),
    (lambda h: h.record_story("t", tone=1), "tone"),
    (lambda h: h.record_story("t", priority=2.5), "priority"),
    (lambda h: h.record_story("t", id=7), "id"),
], ids=["model", "request_id", "story_id", "provider", "title", "narrative", "tone", "priority", "story id"])
def test_a_number_or_bytes_where_text_belongs_is_refused_naming_the_field(database, handle, call, field):
    assert refused_field(database, lambda: call(handle)) == field


@pytest.mark.parametrize(("call", "field"), [
    (lambda d: d.session(5), "session_id"),
    (lambda d: d.new_session(id=5), "session_id"),
    (lambda d: d.new_session(5), "name"),
])
def test_a_session_id_or_name_that_is_no_text_is_refused_naming_it(database, handle, call, field):
    assert refused_field(database, lambda: call(database)) == field


@pytest.mark.parametrize("settings", [[1, 2], "voice=alloy", {"a": object()}, {"a": float("nan")},
                                      {"a": float("inf")}, {("a", "b"): 1}, {"a": {1, 2}}])
def test_settings_that_are_no_json_object_are_refused_naming_settings(database, handle, settings):
    assert refused_field(database, lambda: database.new_session("n", settings=settings)) == "settings"


def test_settings_with_decimals_and_nested_values_are_stored(database):
    made = database.new_session("n", settings={"temperature": Decimal("0.7"), "voice": {"name": "alloy"}})
    assert made.info().settings == {"temperature": 0.7, "voice": {"name": "alloy"}}


@pytest.mark.parametrize("limit", ["5", 1.5, True, 0, -1])
def test_a_list_limit_that_is_no_whole_number_from_1_is_refused(database, handle, limit):
    with pytest.raises(InvalidInput) as refused:
        database.list_sessions(limit=limit)
    assert refused.value.field == "limit"


@pytest.mark.parametrize("sort", [["total_cost"], None, 5])
def test_a_sort_that_is_no_column_name_is_refused(database, handle, sort):
    with pytest.raises(InvalidInput) as refused:
        database.list_sessions(sort=sort)
    assert refused.value.field == "sort"


@pytest.mark.parametrize("zone", [5, ["UTC"], b"UTC", 1.5])
def test_a_zone_that_is_no_text_is_refused_naming_zone(handle, zone):
    for call in (lambda: handle.timeline(zone=zone), lambda: handle.breakdown("day", zone=zone),
                 lambda: sessionstats.to_json(handle.stats(), zone=zone)):
        with pytest.raises(InvalidInput) as refused:
            call()
        assert refused.value.field == "zone"
