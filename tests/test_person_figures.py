"""Figures a person can make sense of: no hourly rates over a few seconds, no made-up $0.0000 for unpriced calls."""

import itertools
from datetime import datetime
from pathlib import Path

import pytest


def _table_lines(out: str) -> dict[str, str]:
    """`show`'s two tables as label -> value (the value is everything after the label's column)."""
    lines = {}
    for line in out.splitlines():
        label, sep, value = line.partition("  ")
        if sep and value.strip():
            lines[label.strip()] = value.strip()
    return lines


@pytest.fixture
def quick(cli):
    """A session whose two calls are 1.2 s apart, like the quick start's."""
    cli.ok("new", "Quick", "--id", "quick")
    cli.ok("record-tokens", "-s", "quick", "--input", "1000", "--output", "200", "--cost", "0.05",
           "--at", "2026-11-24T08:00:00Z")
    cli.ok("record-tokens", "-s", "quick", "--input", "1000", "--output", "200", "--cost", "0.05",
           "--at", "2026-11-24T08:00:01.2Z")
    return cli


def test_rates_per_hour_over_a_span_of_seconds_are_null_in_json(quick):
    stats = quick.json("show", "quick")
    assert stats["active_seconds"] == 1.2
    assert (stats["stories_per_hour"], stats["tokens_per_hour"], stats["cost_per_hour"]) == (None, None, None)


def test_rates_per_hour_over_a_span_of_seconds_are_a_dash_with_a_note_in_the_table(quick):
    out = quick.ok("show", "quick", "--format", "table")
    lines = _table_lines(out)
    assert (lines["Stories per hour"], lines["Tokens per hour"], lines["Cost per hour"]) == ("-", "-", "-")
    assert "note: the active span is 00:00:01; rates per hour are shown from 60 seconds on." in out


def test_rates_per_hour_from_exactly_one_minute_are_shown(cli):
    cli.ok("new", "--id", "minute")
    cli.ok("record-tokens", "-s", "minute", "--input", "60", "--output", "0", "--cost", "0.01",
           "--at", "2026-11-24T08:00:00Z")
    cli.ok("record-tokens", "-s", "minute", "--input", "60", "--output", "0", "--cost", "0.01",
           "--at", "2026-11-24T08:01:00Z")
    stats = cli.json("show", "minute")
    assert stats["tokens_per_hour"] == 120 * 60  # 120 tokens in one minute
    assert stats["cost_per_hour"] == 1.2  # $0.02 a minute x 60
    assert "rates per hour" not in cli.ok("show", "minute", "--format", "table")


def test_list_sorted_by_a_rate_puts_sessions_too_short_to_have_one_last(quick):
    quick.ok("new", "--id", "hour")
    quick.ok("record-tokens", "-s", "hour", "--input", "1", "--output", "0", "--cost", "0.01",
             "--at", "2026-11-24T08:00:00Z")
    quick.ok("record-tokens", "-s", "hour", "--input", "1", "--output", "0", "--cost", "0.01",
             "--at", "2026-11-24T09:00:00Z")
    rows = quick.json("list", "--sort", "tokens_per_hour")
    assert [(row["session_id"], row["tokens_per_hour"]) for row in rows] == [("hour", 2.0), ("quick", None)]


@pytest.fixture
def half_priced(cli):
    """One priced call ($0.0123) and two calls of a model without a price."""
    cli.ok("new", "Half", "--id", "half")
    cli.ok("record-tokens", "-s", "half", "--input", "10", "--output", "5", "--cost", "0.0123")
    for _ in range(2):
        cli.ok("record-tokens", "-s", "half", "--input", "10", "--output", "5", "--model", "no-such-model-x1")
    cli.ok("new", "None priced", "--id", "none")
    cli.ok("record-tokens", "-s", "none", "--input", "10", "--output", "5", "--model", "no-such-model-x1")
    return cli


def test_a_partly_priced_total_says_how_many_calls_it_leaves_out(half_priced):
    lines = _table_lines(half_priced.ok("show", "half", "--format", "table"))
    assert lines["Cost"] == "$0.0123 + 2 unpriced calls"
    assert lines["Total cost"] == "$0.0123 + 2 unpriced calls"
    assert lines["Cost per story"] == "-"  # no story: nothing to divide by


def test_a_session_with_no_priced_call_shows_unknown_cost_never_zero(half_priced):
    out = half_priced.ok("show", "none", "--format", "table")
    lines = _table_lines(out)
    assert lines["Cost"] == "unknown"
    assert lines["Total cost"] == "unknown"
    assert "$0.0000" not in out


def test_json_keeps_the_priced_total_and_the_unpriced_count(half_priced):
    stats = half_priced.json("show", "none")
    assert (stats["total_cost"], stats["unpriced_records"], stats["api_calls"]) == (0, 1, 1)


def test_list_marks_partly_priced_with_a_star_and_unpriced_as_unknown(half_priced):
    out = half_priced.ok("list", "--format", "table")
    row = {line.split()[0]: line for line in out.splitlines()}
    assert "$0.0123*" in row["half"]
    assert "unknown" in row["none"] and "$0.0000" not in row["none"]
    assert "* some API calls of this session have no known cost" in out
    assert "unknown: no API call of this session has a known cost" in out


def test_breakdown_by_model_shows_an_unpriced_model_as_unknown(half_priced):
    out = half_priced.ok("show", "half", "--by", "model", "--format", "table")
    model_row = next(line for line in out.splitlines() if line.startswith("no-such-model-x1"))
    assert "unknown" in model_row and "$0.0000" not in model_row


def test_timeline_bucket_of_unpriced_calls_shows_unknown(half_priced):
    out = half_priced.ok("timeline", "none", "--format", "table")
    assert "unknown" in out and "$0.0000" not in out.split("Bucket")[1]


def _session_spanning(cli, session_id: str, first: str, last: str) -> None:
    cli.ok("new", "--id", session_id)
    for at in (first, last):
        cli.ok("record-tokens", "-s", session_id, "--input", "10", "--output", "0", "--cost", "0.01", "--at", at)


@pytest.mark.parametrize(("first", "last", "buckets", "step_seconds"), [
    ("2026-11-24T08:00:00Z", "2026-11-24T08:10:00Z", 11, 60),  # ten minutes: 1-minute buckets
    ("2026-11-24T08:00:00Z", "2026-11-28T08:00:00Z", 33, 3 * 3600),  # four days: 96 hours / 3 h = 32, +1
    ("2025-01-06T00:00:00Z", "2026-11-23T00:00:00Z", 25, 28 * 86400),  # 98 weeks: 4-week buckets
])
def test_the_default_timeline_bucket_fits_the_session_in_a_readable_number(cli, first, last, buckets, step_seconds):
    _session_spanning(cli, "span", first, last)
    series = cli.json("timeline", "span", "--tz", "UTC")
    assert len(series) == buckets
    assert sum(bucket["api_calls"] for bucket in series) == 2
    starts = [datetime.fromisoformat(bucket["start"]) for bucket in series]
    assert {(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)} == {step_seconds}


def test_every_still_wins_over_the_default_bucket(cli):
    _session_spanning(cli, "span", "2026-11-24T08:00:00Z", "2026-11-24T08:10:00Z")
    assert len(cli.json("timeline", "span", "--tz", "UTC", "--every", "hour")) == 1


def test_server_tool_fees_have_their_own_figures_in_show(cli):
    fixture = Path(__file__).parent / "fixtures" / "responses" / "anthropic_web_search.json"
    cli.ok("record-tokens", "-s", "search", "--create", "--from-response", str(fixture))
    stats = cli.json("show", "search")
    # 10 web searches at $10 per 1,000 (the Anthropic pricing page; genai-prices' web_searches_kcount) = $0.10,
    # part of the call's total cost
    assert (stats["tool_calls"], stats["tool_cost"]) == (10, 0.1)
    assert stats["total_cost"] > stats["tool_cost"]
    lines = _table_lines(cli.ok("show", "search", "--format", "table"))
    assert (lines["Server tool calls"], lines["Server tool cost"]) == ("10", "$0.1000")
