"""show and list: exact machine values, readable tables, sorting and limits."""

import csv
import io
import json

import pytest


@pytest.fixture
def two_sessions(cli):
    cli.ok("new", "Morning", "--id", "a", env={})
    cli.ok("record-story", "-s", "a", "--title", "t1", "--narrative", "one two three four")
    cli.ok("record-story", "-s", "a", "--title", "t2", "--narrative", "five six")
    cli.ok("record-tokens", "-s", "a", "--input", "1234567", "--output", "1000", "--cost", "0.00125")
    cli.ok("record-tokens", "-s", "a", "--input", "3", "--output", "4", "--cost", "1.1")
    cli.ok("new", "Evening", "--id", "b")
    cli.ok("record-tokens", "-s", "b", "--input", "10", "--output", "10")
    return cli


def test_show_table_has_separators_four_decimals_and_ratios(two_sessions):
    out = two_sessions.ok("show", "a", "--format", "table")
    assert "Session Overview" in out and "Performance Metrics" in out
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in out.splitlines() if "  " in line}
    assert lines["Total tokens"] == "1,235,574"
    assert lines["Input tokens"] == "1,234,570"
    assert lines["Total cost"] == "$1.1013"
    assert lines["Cost per story"] == "$0.5506"
    assert lines["Tokens per story"] == "617,787.0"
    assert lines["API calls"] == "2"
    assert lines["Words per story"] == "3.0"
    assert "no known cost" not in out


def test_show_table_says_when_the_cost_covers_priced_records_only(two_sessions):
    out = two_sessions.ok("show", "b", "--format", "table")
    assert out.rstrip().endswith("note: 1 of 1 API calls have no known cost; the total covers the priced ones only.")


def test_show_json_has_stable_keys_and_exact_values(two_sessions):
    stats = json.loads(two_sessions.ok("show", "a", "--format", "json"))
    for key in ("session_id", "name", "status", "story_count", "api_calls", "input_tokens", "output_tokens",
                "cache_read_tokens", "cache_write_tokens", "total_tokens", "total_cost", "unpriced_records",
                "created_at"):
        assert key in stats
    raw = two_sessions.ok("show", "a", "--format", "json")
    assert '"total_cost": 1.10125,' in raw  # an exact number literal, not a rounded string
    assert '"cost_per_story": 0.550625,' in raw
    assert stats["total_tokens"] == 1235574


def test_show_csv_and_tsv_carry_the_same_exact_values(two_sessions):
    as_csv = list(csv.DictReader(io.StringIO(two_sessions.ok("show", "a", "--format", "csv"))))
    as_tsv = list(csv.DictReader(io.StringIO(two_sessions.ok("show", "a", "--format", "tsv")), delimiter="\t"))
    assert as_csv == as_tsv
    assert len(as_csv) == 1
    assert as_csv[0]["total_cost"] == "1.10125"
    assert as_csv[0]["total_tokens"] == "1235574"
    assert as_csv[0]["tokens_per_story"] == "617787.0"


def test_output_piped_without_format_is_tsv(two_sessions):
    assert two_sessions.ok("show", "a").startswith("session_id\tname\tstatus\t")


def test_format_comes_from_the_environment(two_sessions):
    out = two_sessions.ok("show", "a", env={"SESSIONSTATS_FORMAT": "json"})
    assert json.loads(out)["session_id"] == "a"


def test_fmt_passes_a_tabulate_style(two_sessions):
    out = two_sessions.ok("show", "a", "--format", "table", "--fmt", "github")
    assert "| Total tokens" in out and "|---" in out.replace(":", "-")
    grid = two_sessions.ok("list", "--format", "table", "--fmt", "grid")
    assert grid.startswith("+")


def test_list_shows_newest_first_with_the_same_figures_as_show(two_sessions):
    rows = two_sessions.json("list")
    assert [r["session_id"] for r in rows] == ["b", "a"]
    assert rows[1] == two_sessions.json("show", "a") | {
        k: rows[1][k] for k in ("duration_seconds", "stories_per_hour", "tokens_per_hour",
                                "cost_per_hour")}


@pytest.mark.parametrize(
    ("sort", "ascending", "expected"),
    [("total_tokens", False, ["a", "b"]), ("total_tokens", True, ["b", "a"]), ("name", True, ["b", "a"]),
     ("story_count", False, ["a", "b"]), ("total_cost", True, ["b", "a"]), ("tokens_per_story", False, ["a", "b"])],
)
def test_list_sorts_by_any_figure(two_sessions, sort, ascending, expected):
    args = ["list", "--sort", sort] + (["--asc"] if ascending else [])
    assert [r["session_id"] for r in two_sessions.json(*args)] == expected


def test_list_limit_and_an_unknown_sort_field(two_sessions):
    assert [r["session_id"] for r in two_sessions.json("list", "--limit", "1")] == ["b"]
    first_by_name = two_sessions.json("list", "--sort", "name", "--asc", "--limit", "1")
    assert first_by_name == [r for r in two_sessions.json("list", "--sort", "name", "--asc") if r["session_id"] == "b"]
    assert [r["session_id"] for r in two_sessions.json("list", "--sort", "total_tokens", "--limit", "1")] == ["a"]
    bad = two_sessions("list", "--sort", "colour")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("sessionstats: --sort: cannot sort by 'colour'; choose one of ")


def test_list_table_marks_unpriced_sessions(two_sessions):
    out = two_sessions.ok("list", "--format", "table")
    assert "$1.1013 " in out
    assert "unknown" in out  # no call of it priced: never a made-up $0.0000
    assert out.rstrip().endswith("unknown: no API call of this session has a known cost (its model has no price).")


def test_empty_list_is_empty_in_every_format(cli):
    assert cli.ok("list", "--format", "json") == "[]\n"
    assert cli.ok("list", "--format", "table") == "no sessions\n"
    assert cli.ok("list", "--format", "csv").startswith("session_id,name,")
