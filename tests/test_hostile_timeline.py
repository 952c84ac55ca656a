"""timeline with bucket lengths nobody means and records at the ends of time: one line, never a traceback."""

from __future__ import annotations

from datetime import timedelta

import pytest

import sessionstats
from sessionstats.errors import InvalidInput

pytestmark = pytest.mark.file_only


@pytest.fixture
def ends_of_time(run_process):
    """A session whose records sit on the first and the last day a time can be stored."""
    for moment in ("0001-01-02T00:00:00Z", "9999-12-29T23:00:00Z"):
        made = run_process("record-tokens", "-s", "edge", "--create", "--input", "1", "--output", "1",
                           "--at", moment)
        assert made.returncode == 0, made.stderr
    return run_process


@pytest.mark.parametrize("every", ["99999999999d", "53w", "9999999w", "99999999999999999999999999m"])
def test_a_bucket_longer_than_52_weeks_is_refused_naming_every(run_process, every):
    run_process("new", "--id", "s")
    result = run_process("timeline", "s", "--every", every)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"sessionstats: --every: {every!r} is longer than a bucket can be (at most 52w)\n"


@pytest.mark.parametrize("every", ["4w", "52w"])
def test_a_bucket_that_would_start_before_the_year_1_is_one_line(ends_of_time, every):
    result = ends_of_time("timeline", "edge", "--every", every, "--tz", "UTC")
    assert result.returncode == 2
    assert result.stderr == (f"sessionstats: --every: a bucket of {every[:-1]} weeks would start before the year 1; "
                             "choose a shorter one or narrow the records with --since\n")


def test_the_last_bucket_before_the_year_10000_ends_the_series(ends_of_time):
    result = ends_of_time("timeline", "edge", "--every", "52w", "--tz", "Etc/GMT-14", "--since", "9999-01-01",
                          "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("9999-09-13T00:00:00+14:00,0,1,1,1,0,0,2,")


@pytest.mark.parametrize("every", [timedelta(0), timedelta(days=-1), timedelta(seconds=90), timedelta(weeks=53),
                                   timedelta(days=999_999), 15, 1.5])
def test_the_api_takes_a_bucket_length_by_the_same_rule_as_the_cli(tmp_path, every):
    database = sessionstats.connect(tmp_path / "t.duckdb", user="alice")
    handle = database.new_session(id="s")
    handle.record_tokens(1, 1)
    with pytest.raises(InvalidInput) as refused:
        handle.timeline(every)
    assert refused.value.field == "every"


def test_the_api_still_takes_whole_minutes_as_a_timedelta(tmp_path):
    database = sessionstats.connect(tmp_path / "t.duckdb", user="alice")
    handle = database.new_session(id="s")
    handle.record_tokens(1, 1)
    assert [b.api_calls for b in handle.timeline(timedelta(minutes=15))] == [1]


def test_the_default_bucket_covers_a_session_with_a_record_a_thousand_years_off(run_process):
    for moment in ("2026-11-01T00:00:00Z", "3026-11-01T00:00:00Z"):  # a typo in --at's year
        assert run_process("record-tokens", "-s", "typo", "--create", "--input", "1", "--output", "1",
                           "--at", moment).returncode == 0
    result = run_process("timeline", "typo", "--format", "csv", "--tz", "UTC")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 1_005  # 52-week buckets
    assert rows[0].startswith("2025-12-01T00:00:00+00:00,0,1,")
    assert rows[-1].startswith("3026-07-03T00:00:00+00:00,0,1,")
