"""show --by: each breakdown and their combinations, with shares, time zones, filters and every format."""

import csv
import io
from decimal import Decimal

from insight_data import HAIKU, SONNET, UNPRICED, build_radio

FIGURES = ("story_count", "api_calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
           "total_tokens", "total_cost", "unpriced_records", "story_share", "token_share", "cost_share")


def rows_by(cli, *args):
    return cli.json("show", "radio", *args)["breakdown"]["rows"]


def test_by_tone_groups_token_records_through_their_story(radio):
    rows = rows_by(radio, "--by", "tone")
    assert [(r["tone"], r["story_count"], r["api_calls"], r["total_tokens"], r["unpriced_records"]) for r in rows] == [
        ("calm", 1, 1, 1500, 0), ("urgent", 1, 2, 600, 0), (None, 0, 1, 100, 1)]
    assert [r["cost_share"] for r in rows] == [0.8203125, 0.1796875, 0.0]
    assert [r["story_share"] for r in rows] == [0.5, 0.5, 0.0]
    assert [r["token_share"] for r in rows] == [1500 / 2200, 600 / 2200, 100 / 2200]


def test_by_priority_puts_records_without_a_story_in_none(radio):
    rows = rows_by(radio, "--by", "priority")
    assert [(r["priority"], r["story_count"], r["api_calls"], r["input_tokens"]) for r in rows] == [
        ("high", 1, 2, 500), ("normal", 1, 1, 1000), (None, 0, 1, 50)]


def test_by_model_counts_a_story_under_each_model_that_made_it(radio):
    rows = rows_by(radio, "--by", "model")
    assert [{k: r[k] for k in ("model", *FIGURES)} for r in rows] == [
        {"model": HAIKU, "story_count": 1, "api_calls": 1, "input_tokens": 400, "output_tokens": 100,
         "cache_read_tokens": 0, "cache_write_tokens": 0, "total_tokens": 500, "total_cost": 0.002,
         "unpriced_records": 0, "story_share": 0.5, "token_share": 500 / 2200, "cost_share": 0.15625},
        {"model": SONNET, "story_count": 2, "api_calls": 2, "input_tokens": 1100, "output_tokens": 200,
         "cache_read_tokens": 0, "cache_write_tokens": 300, "total_tokens": 1600, "total_cost": 0.0108,
         "unpriced_records": 0, "story_share": 1.0, "token_share": 1600 / 2200, "cost_share": 0.84375},
        {"model": UNPRICED, "story_count": 0, "api_calls": 1, "input_tokens": 50, "output_tokens": 50,
         "cache_read_tokens": 0, "cache_write_tokens": 0, "total_tokens": 100, "total_cost": 0,
         "unpriced_records": 1, "story_share": 0.0, "token_share": 100 / 2200, "cost_share": 0.0},
    ]
    table = radio.ok("show", "radio", "--by", "model", "--format", "table")
    assert "note: a story made with several models counts under each of them." in table


def test_by_day_follows_the_zone_a_late_evening_record_lands_on_its_local_day(radio):
    in_utc = rows_by(radio, "--by", "day", "--tz", "UTC")
    assert [(r["day"], r["story_count"], r["api_calls"], r["total_tokens"]) for r in in_utc] == [
        ("2026-11-24", 2, 3, 2100), ("2026-11-25", 0, 1, 100)]
    # 2026-11-25 04:30Z is 23:30 on the 24th in New York.
    in_new_york = rows_by(radio, "--by", "day", "--tz", "America/New_York")
    assert [(r["day"], r["story_count"], r["api_calls"], r["total_tokens"]) for r in in_new_york] == [
        ("2026-11-24", 2, 4, 2200)]


def test_by_day_uses_the_local_zone_of_the_process(run_process, cli):
    build_radio(cli)
    done = run_process("show", "radio", "--by", "day", "--format", "csv", env={"TZ": "America/New_York"})
    assert done.returncode == 0, done.stderr
    assert [row["day"] for row in csv.DictReader(io.StringIO(done.stdout))] == ["2026-11-24"]
    # A POSIX rule is read as the zone whose rule it is (EST5EDT's: New York's days), as --at reads times
    posix = run_process("show", "radio", "--by", "day", "--format", "csv", env={"TZ": "EST5EDT,M3.2.0,M11.1.0"})
    assert (posix.returncode, posix.stderr) == (0, "")
    assert [row["day"] for row in csv.DictReader(io.StringIO(posix.stdout))] == ["2026-11-24"]
    unnamed = run_process("show", "radio", "--by", "day", "--format", "csv", env={"TZ": "QQQ5RRR,M3.2.0,M11.1.0"})
    assert unnamed.returncode == 0
    assert unnamed.stderr == ("sessionstats: note: cannot tell the name of the local time zone; days and hours "
                              "are in UTC (pass --tz or set SESSIONSTATS_TZ)\n")
    assert [row["day"] for row in csv.DictReader(io.StringIO(unnamed.stdout))] == ["2026-11-24", "2026-11-25"]


def test_by_hour_starts_at_the_local_hour_even_at_a_half_hour_offset(radio):
    utc = rows_by(radio, "--by", "hour", "--tz", "UTC")
    assert [(r["hour"], r["api_calls"]) for r in utc] == [
        ("2026-11-24T09:00:00+00:00", 1), ("2026-11-24T10:00:00+00:00", 2), ("2026-11-25T04:00:00+00:00", 1)]
    kolkata = rows_by(radio, "--by", "hour", "--tz", "Asia/Kolkata")
    assert [(r["hour"], r["story_count"], r["api_calls"]) for r in kolkata] == [
        ("2026-11-24T14:00:00+05:30", 1, 1), ("2026-11-24T15:00:00+05:30", 1, 2), ("2026-11-25T10:00:00+05:30", 0, 1)]
    table = radio.ok("show", "radio", "--by", "hour", "--tz", "Asia/Kolkata", "--format", "table")
    assert "2026-11-24 15:00 +0530" in table


def test_two_dimensions_combine_into_one_table(radio):
    rows = rows_by(radio, "--by", "model", "--by", "day", "--tz", "UTC")
    assert [(r["model"], r["day"], r["story_count"], r["api_calls"], r["total_tokens"]) for r in rows] == [
        (HAIKU, "2026-11-24", 1, 1, 500), (SONNET, "2026-11-24", 2, 2, 1600), (UNPRICED, "2026-11-25", 0, 1, 100)]
    table = radio.ok("show", "radio", "--by", "model", "--by", "day", "--format", "table", "--tz", "UTC")
    assert "Breakdown by model and day" in table
    header = next(line for line in table.splitlines() if line.startswith("Model"))
    assert header.split() == ["Model", "Day", "Stories", "Story", "%", "API", "calls", "Input", "Output", "Cache",
                              "read", "Cache", "write", "Tokens", "Token", "%", "Cost", "Cost", "%"]


def test_breakdown_table_shows_shares_costs_and_none(radio):
    table = radio.ok("show", "radio", "--by", "tone", "--format", "table")
    lines = {line.split()[0]: line.split() for line in table.splitlines() if line.split()}
    assert lines["calm"] == ["calm", "1", "50.0%", "1", "1,000", "200", "0", "300", "1,500", "68.2%", "$0.0105",
                             "82.0%"]
    assert lines["(none)"] == ["(none)", "0", "0.0%", "1", "50", "50", "0", "0", "100", "4.5%", "unknown", "0.0%"]
    assert table.rstrip().endswith("unknown: no API call of this group has a known cost (its model has no price).")
    assert table.index("Performance Metrics") < table.index("Breakdown by tone")


def test_breakdown_csv_has_the_dimensions_then_the_figures(radio):
    out = radio.ok("show", "radio", "--by", "tone", "--by", "priority", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["tone", "priority", *FIGURES]
    assert rows[0] | {} == {"tone": "calm", "priority": "normal", "story_count": "1", "api_calls": "1",
                            "input_tokens": "1000", "output_tokens": "200", "cache_read_tokens": "0",
                            "cache_write_tokens": "300", "total_tokens": "1500", "total_cost": "0.0105",
                            "unpriced_records": "0", "story_share": "0.5", "token_share": repr(1500 / 2200),
                            "cost_share": "0.8203125"}
    assert rows[-1]["tone"] == "" and rows[-1]["priority"] == ""
    tsv = radio.ok("show", "radio", "--by", "tone", "--format", "tsv")
    assert tsv.splitlines()[0].split("\t")[:3] == ["tone", "story_count", "api_calls"]


def test_breakdown_json_keeps_the_session_figures_beside_it(radio):
    shown = radio.json("show", "radio", "--by", "priority")
    assert shown["total_tokens"] == 2200
    assert shown["breakdown"]["by"] == ["priority"]


def test_filters_apply_to_the_breakdown_and_its_shares(radio):
    rows = rows_by(radio, "--by", "model", "--tone", "urgent")
    assert [(r["model"], r["story_count"], r["api_calls"], r["total_tokens"], r["cost_share"]) for r in rows] == [
        (HAIKU, 1, 1, 500, float(Decimal("0.002") / Decimal("0.0023"))),
        (SONNET, 1, 1, 100, float(Decimal("0.0003") / Decimal("0.0023")))]
    only_haiku = rows_by(radio, "--by", "model", "--model", HAIKU)
    assert [(r["model"], r["story_count"], r["story_share"]) for r in only_haiku] == [(HAIKU, 1, 1.0)]
    late = rows_by(radio, "--by", "tone", "--since", "2026-11-24T10:21:30Z")
    assert [(r["tone"], r["story_count"], r["api_calls"]) for r in late] == [("urgent", 0, 1), (None, 0, 1)]


def test_a_breakdown_that_matches_nothing_is_empty_not_an_error(radio):
    assert rows_by(radio, "--by", "tone", "--model", "gpt-nothing") == []
    table = radio.ok("show", "radio", "--by", "tone", "--model", "gpt-nothing", "--format", "table")
    assert table.rstrip().endswith("Breakdown by tone\nno records in scope")
    assert radio.ok("show", "radio", "--by", "tone", "--model", "x", "--format", "csv") == (
        "tone," + ",".join(FIGURES) + "\n")


def test_empty_session_breakdown_has_no_shares(cli):
    cli.ok("new", "--id", "empty")
    assert cli.json("show", "empty", "--by", "day")["breakdown"] == {"by": ["day"], "rows": []}


def test_an_unknown_dimension_is_refused(radio):
    result = radio("show", "radio", "--by", "colour")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("sessionstats: Invalid value for '--by': ")
    assert "'colour' is not one of 'tone', 'priority', 'model', 'day', 'hour'" in result.stderr
