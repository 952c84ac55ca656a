"""timeline: buckets on the local wall clock, no holes, a chart for people and the series for machines."""

import csv
import io
import random
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

SERIES = ["start", "story_count", "api_calls", "input_tokens", "output_tokens", "cache_read_tokens",
          "cache_write_tokens", "total_tokens", "total_cost", "unpriced_records"]


def test_hourly_buckets_run_from_the_first_record_to_the_last_with_zeros_between(radio):
    series = radio.json("timeline", "radio", "--every", "hour", "--tz", "UTC")
    assert len(series) == 20  # 2026-11-24 09:00 to 2026-11-25 04:00
    assert list(series[0]) == SERIES
    assert [(b["start"], b["story_count"], b["api_calls"], b["total_tokens"]) for b in series[:3]] == [
        ("2026-11-24T09:00:00+00:00", 1, 1, 1500), ("2026-11-24T10:00:00+00:00", 1, 2, 600),
        ("2026-11-24T11:00:00+00:00", 0, 0, 0)]
    assert (series[-1]["start"], series[-1]["api_calls"], series[-1]["unpriced_records"]) == (
        "2026-11-25T04:00:00+00:00", 1, 1)
    assert sum(b["total_tokens"] for b in series) == 2200
    raw = radio.ok("timeline", "radio", "--every", "hour", "--tz", "UTC", "--format", "json")
    assert '"total_cost": 0.0105,' in raw and '"total_cost": 0.0023,' in raw


def test_daily_buckets_follow_the_local_day(radio):
    new_york = radio.json("timeline", "radio", "--every", "day", "--tz", "America/New_York")
    assert [(b["start"], b["api_calls"], b["total_tokens"]) for b in new_york] == [
        ("2026-11-24T00:00:00-05:00", 4, 2200)]
    utc = radio.json("timeline", "radio", "--every", "day", "--tz", "UTC")
    assert [(b["start"], b["api_calls"]) for b in utc] == [
        ("2026-11-24T00:00:00+00:00", 3), ("2026-11-25T00:00:00+00:00", 1)]


def test_quarter_hour_buckets_with_a_window(radio):
    series = radio.json("timeline", "radio", "--every", "15m", "--tz", "UTC", "--until", "2026-11-24T10:30:00Z")
    assert [(b["start"][11:16], b["story_count"], b["api_calls"]) for b in series] == [
        ("09:00", 1, 1), ("09:15", 0, 0), ("09:30", 0, 0), ("09:45", 0, 0), ("10:00", 0, 0), ("10:15", 1, 2)]


def test_the_hour_lost_to_summer_time_has_no_bucket(cli):
    cli.ok("new", "--id", "spring")
    for moment in ("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"):  # 01:30 CET, then 03:30 CEST
        cli.ok("record-tokens", "-s", "spring", "--input", "1", "--output", "1", "--at", moment)
    series = cli.json("timeline", "spring", "--every", "hour", "--tz", "Europe/Paris")
    assert [b["start"] for b in series] == ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"]


def test_timeline_csv_is_the_series_alone(radio):
    rows = list(csv.DictReader(io.StringIO(radio.ok("timeline", "radio", "--every", "day", "--tz", "UTC",
                                                    "--format", "csv"))))
    assert list(rows[0]) == SERIES
    assert rows[0]["total_cost"] == "0.0128" and rows[1]["total_cost"] == "0"


def test_timeline_table_is_a_chart_then_the_figures(radio):
    out = radio.ok("timeline", "radio", "--every", "hour", "--tz", "UTC", "--format", "table",
                   "--until", "2026-11-24T11:00:00Z")
    assert "\x1b[" not in out
    chart, figures = out.split("\n\nBucket", 1)
    assert chart.splitlines()[0].strip() == "Tokens"
    assert "Cost" in chart and "┤" in chart and "█" in chart
    assert "1,500┤" in chart and "$0.0105┤" in chart  # the y axes top out at the largest bucket
    lines = figures.splitlines()
    assert lines[2].split() == ["2026-11-24", "09:00", "1", "1", "1,500", "$0.0105"]
    assert lines[3].split() == ["2026-11-24", "10:00", "1", "2", "600", "$0.0023"]


def test_timeline_of_nothing_is_empty(radio):
    assert radio.json("timeline", "radio", "--model", "gpt-nothing") == []
    assert radio.ok("timeline", "radio", "--model", "gpt-nothing", "--format", "table") == "no records in scope\n"
    radio.ok("new", "--id", "empty")
    assert radio.json("timeline", "empty") == []


@pytest.mark.parametrize("every", ["fortnight", "0m", "15s", "-1h", ""])
def test_a_bad_bucket_length_is_refused(radio, every):
    result = radio("timeline", "radio", "--every", every)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"sessionstats: --every: cannot read {every!r} as a bucket length")


def test_too_many_buckets_are_refused_with_a_way_out(radio):
    result = radio("timeline", "radio", "--every", "1m", "--tz", "UTC")
    assert result.exit_code == 0  # 1,161 buckets is fine
    radio.ok("record-tokens", "-s", "radio", "--input", "1", "--output", "1", "--at", "2026-12-24T00:00:00Z")
    refused = radio("timeline", "radio", "--every", "1m", "--tz", "UTC")
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == ("sessionstats: --every: 42,651 buckets of 1 minute would cover this session (at most "
                              "10,000); choose a longer bucket or narrow it with --since/--until\n")


def test_timeline_of_a_missing_session(radio):
    result = radio("timeline", "nope")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("sessionstats: session 'nope' not found")


@pytest.mark.slow
@pytest.mark.parametrize(("zone", "around", "every"), [
    ("Europe/Paris", "2026-10-25T01:00:00", "30m"),  # clocks go back: the repeated local hour
    ("Europe/Paris", "2026-03-29T01:00:00", "hour"),  # clocks go forward
    ("Asia/Kathmandu", "2026-05-01T00:00:00", "hour"),  # +05:45
    ("Australia/Lord_Howe", "2026-04-05T15:00:00", "15m"),  # a half-hour shift of summer time
    ("Africa/Monrovia", "1971-06-01T10:00:00", "hour"),  # -00:44:30, an offset off the quarter hour
    ("America/New_York", "2026-11-01T06:00:00", "day"),
])
def test_every_record_falls_in_the_bucket_of_its_local_time(cli, zone, around, every):
    cli.ok("new", "--id", "z")
    draw = random.Random(f"{zone}{around}")
    middle = datetime.fromisoformat(around).replace(tzinfo=ZoneInfo("UTC"))
    moments = [middle + timedelta(seconds=draw.randrange(-6 * 3600, 6 * 3600)) for _ in range(40)]
    for moment in moments:
        cli.ok("record-tokens", "-s", "z", "--input", "1", "--output", "1", "--at", moment.isoformat())
    length = {"15m": timedelta(minutes=15), "30m": timedelta(minutes=30), "hour": timedelta(hours=1),
              "day": timedelta(days=1)}[every]
    origin = datetime(2000, 1, 3)  # DuckDB's time_bucket origin
    expected = Counter()
    for moment in moments:
        wall = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        expected[(origin + (wall - origin) // length * length).isoformat(timespec="minutes")] += 1
    series = cli.json("timeline", "z", "--every", every, "--tz", zone)
    assert {b["start"][:16]: b["api_calls"] for b in series if b["api_calls"]} == expected
