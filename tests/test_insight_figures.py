"""show and list: efficiency and time-based figures, the active span, and filters, with exact values."""

import json

import pytest
from insight_data import HAIKU, UNPRICED

from sessionstats.reports.stats import FIGURES, SORTABLE


def test_show_reports_every_efficiency_and_hourly_figure_exactly(radio):
    stats = radio.json("show", "radio")
    assert {k: stats[k] for k in ("story_count", "api_calls", "input_tokens", "output_tokens", "cache_read_tokens",
                                  "cache_write_tokens", "total_tokens", "unpriced_records", "word_count")} == {
        "story_count": 2, "api_calls": 4, "input_tokens": 1550, "output_tokens": 350, "cache_read_tokens": 0,
        "cache_write_tokens": 300, "total_tokens": 2200, "unpriced_records": 1, "word_count": 40}
    raw = radio.ok("show", "radio", "--format", "json")
    assert '"total_cost": 0.0128,' in raw
    assert '"cost_per_story": 0.0064,' in raw
    assert '"cost_per_1k_words": 0.32,' in raw
    assert '"cost_per_hour": 0.0064\n' in raw
    assert (stats["tokens_per_story"], stats["words_per_story"], stats["tokens_per_word"]) == (1100.0, 20.0, 55.0)
    assert stats["avg_story_duration"] == 30.0
    assert (stats["stories_per_hour"], stats["tokens_per_hour"]) == (1.0, 1100.0)


def test_active_span_is_start_to_end_when_the_session_has_both(radio):
    stats = radio.json("show", "radio")
    assert (stats["active_from"], stats["active_until"], stats["active_seconds"]) == (
        "2026-11-24T09:00:00+00:00", "2026-11-24T11:00:00+00:00", 7200.0)
    assert (stats["first_record_at"], stats["last_record_at"]) == (
        "2026-11-24T09:10:00+00:00", "2026-11-25T04:30:00+00:00")


def test_active_span_is_first_to_last_record_without_a_start_and_end(cli):
    cli.ok("new", "--id", "loose")
    cli.ok("start", "loose", "--at", "2026-11-24T08:00:00Z")  # live: no end yet, so the records decide
    cli.ok("record-tokens", "-s", "loose", "--input", "3000", "--output", "0", "--cost", "0.3",
           "--at", "2026-11-24T10:00:00Z")
    cli.ok("record-tokens", "-s", "loose", "--input", "600", "--output", "0", "--cost", "0.06",
           "--at", "2026-11-24T10:30:00Z")
    stats = cli.json("show", "loose")
    assert (stats["active_from"], stats["active_until"], stats["active_seconds"]) == (
        "2026-11-24T10:00:00+00:00", "2026-11-24T10:30:00+00:00", 1800.0)
    assert stats["tokens_per_hour"] == 7200.0
    assert stats["stories_per_hour"] == 0.0
    assert '"cost_per_hour": 0.72\n' in cli.ok("show", "loose", "--format", "json")


def test_show_table_shows_the_span_and_rates(radio):
    out = radio.ok("show", "radio", "--format", "table")
    lines = {line[:24].strip(): line[24:].strip() for line in out.splitlines()}
    assert lines["Active from"] == "2026-11-24 09:00:00 +0000"
    assert lines["Active until"] == "2026-11-24 11:00:00 +0000"
    assert lines["Active span"] == "02:00:00"
    assert lines["Stories per hour"] == "1.0"
    assert lines["Tokens per hour"] == "1,100"
    assert lines["Cost per hour"] == "$0.0064"
    assert lines["Cost per 1,000 words"] == "$0.3200"
    assert lines["Tokens per word"] == "55.00"
    assert lines["Average story duration"] == "00:00:30"


def test_empty_session_has_no_ratio_and_no_division_by_zero(cli):
    cli.ok("new", "--id", "empty")
    stats = cli.json("show", "empty")
    for key in ("tokens_per_story", "cost_per_story", "words_per_story", "cost_per_1k_words", "tokens_per_word",
                "avg_story_duration", "active_from", "active_until", "active_seconds", "stories_per_hour",
                "tokens_per_hour", "cost_per_hour", "first_record_at", "last_record_at"):
        assert stats[key] is None, key
    assert (stats["total_cost"], stats["total_tokens"], stats["story_count"]) == (0, 0, 0)
    out = cli.ok("show", "empty", "--format", "table")
    lines = {line[:24].strip(): line[24:].strip() for line in out.splitlines()}
    for label in ("Tokens per story", "Cost per story", "Cost per 1,000 words", "Active span", "Stories per hour",
                  "Tokens per hour", "Cost per hour"):
        assert lines[label] == "-", label
    assert cli.ok("show", "empty", "--format", "csv").splitlines()[1].count(",,") >= 5


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--model", HAIKU], {"story_count": 1, "api_calls": 1, "total_tokens": 500, "unpriced_records": 0}),
        (["--model", UNPRICED], {"story_count": 0, "api_calls": 1, "total_tokens": 100, "unpriced_records": 1}),
        (["--tone", "urgent"], {"story_count": 1, "api_calls": 2, "total_tokens": 600, "unpriced_records": 0}),
        (["--priority", "normal"], {"story_count": 1, "api_calls": 1, "total_tokens": 1500, "word_count": 10}),
        (["--tone", "urgent", "--model", HAIKU], {"story_count": 1, "api_calls": 1, "total_tokens": 500}),
        (["--since", "2026-11-24T10:00:00Z"], {"story_count": 1, "api_calls": 3, "total_tokens": 700,
                                               "active_seconds": 3600.0, "tokens_per_hour": 700.0}),
        (["--until", "2026-11-24T10:00:00Z"], {"story_count": 1, "api_calls": 1, "total_tokens": 1500,
                                               "active_until": "2026-11-24T10:00:00+00:00"}),
        # A date is local midnight: in New York 2026-11-25 begins at 05:00Z, after the last record.
        (["--since", "2026-11-25", "--tz", "America/New_York"], {"api_calls": 0, "total_tokens": 0}),
        (["--since", "2026-11-25", "--tz", "UTC"], {"api_calls": 1, "total_tokens": 100}),
    ],
)
def test_filters_are_applied_to_stories_and_token_records(radio, filters, expected):
    stats = radio.json("show", "radio", *filters)
    assert {key: stats[key] for key in expected} == expected


def test_cost_filter_values_stay_exact(radio):
    assert '"total_cost": 0.0023,' in radio.ok("show", "radio", "--tone", "urgent", "--format", "json")
    assert '"total_cost": 0.002,' in radio.ok("show", "radio", "--model", HAIKU, "--format", "json")


def test_a_filter_that_matches_nothing_gives_zeros_and_no_ratios(radio):
    stats = radio.json("show", "radio", "--model", "gpt-nothing")
    assert (stats["story_count"], stats["api_calls"], stats["total_tokens"], stats["total_cost"]) == (0, 0, 0, 0)
    assert stats["cost_per_story"] is None and stats["tokens_per_word"] is None
    table = radio.ok("show", "radio", "--model", "gpt-nothing", "--format", "table")
    assert "Counting          model gpt-nothing" in table


def test_until_before_since_is_refused(radio):
    result = radio("show", "radio", "--since", "2026-11-25", "--until", "2026-11-24")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "sessionstats: --until: must be later than --since\n"


def test_an_unreadable_since_names_the_option(radio):
    result = radio("list", "--since", "last tuesday")
    assert result.exit_code == 2
    assert result.stderr.startswith("sessionstats: --since: cannot read 'last tuesday' as a time")


def test_list_takes_the_window_too(radio):
    radio.ok("new", "--id", "other")
    rows = {r["session_id"]: r for r in radio.json("list", "--since", "2026-11-24T10:00:00Z")}
    assert (rows["radio"]["api_calls"], rows["radio"]["story_count"]) == (3, 1)
    assert rows["other"]["api_calls"] == 0


def test_list_can_sort_by_every_figure_it_shows():
    assert set(SORTABLE) == set(FIGURES)


@pytest.mark.slow
def test_list_sorts_by_each_figure_both_ways(radio):
    radio.ok("new", "--id", "empty")
    for figure in SORTABLE:
        down = [r["session_id"] for r in radio.json("list", "--sort", figure)]
        up = [r["session_id"] for r in radio.json("list", "--sort", figure, "--asc")]
        assert sorted(down) == sorted(up) == ["empty", "radio"], figure


@pytest.mark.parametrize("figure", ["stories_per_hour", "cost_per_hour", "active_seconds", "tokens_per_word"])
def test_list_orders_by_the_hourly_figures(cli, figure):
    for name, tokens in (("slow", "100"), ("fast", "900")):
        cli.ok("new", "--id", name)
        cli.ok("start", name, "--at", "2026-11-24T09:00:00Z")
        cli.ok("record-story", "-s", name, "--title", "t", "--word-count", "10", "--at", "2026-11-24T09:30:00Z")
        cli.ok("record-tokens", "-s", name, "--input", tokens, "--output", "0", "--cost", "1",
               "--at", "2026-11-24T09:40:00Z")
    cli.ok("end", "slow", "--at", "2026-11-24T13:00:00Z")  # four hours
    cli.ok("end", "fast", "--at", "2026-11-24T10:00:00Z")  # one hour
    order = [r["session_id"] for r in cli.json("list", "--sort", figure)]
    assert order == (["slow", "fast"] if figure == "active_seconds" else ["fast", "slow"])


def test_json_keys_are_stable_snake_case(radio):
    stats = json.loads(radio.ok("show", "radio", "--format", "json"))
    assert list(stats) == FIGURES
    assert all(key == key.lower() and " " not in key for key in stats)
