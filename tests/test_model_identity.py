"""One model is one row: a dated id and its alias are one model in breakdowns and filters; records keep their names."""

import pytest


@pytest.fixture
def aliases(cli):
    cli.ok("new", "--id", "m")
    cli.ok("record-story", "-s", "m", "--title", "Fog", "--id", "fog")
    # Sonnet 4.5 at $3 / M input and $15 / M output (genai-prices data, the model's published price):
    # each call is 100 x $3/M + 10 x $15/M = $0.0003 + $0.00015 = $0.00045.
    cli.ok("record-tokens", "-s", "m", "--story", "fog", "--model", "claude-sonnet-4-5", "--input", "100",
           "--output", "10", "--at", "2026-11-24T08:00:00Z")
    cli.ok("record-tokens", "-s", "m", "--story", "fog", "--model", "claude-sonnet-4-5-20250929", "--input", "100",
           "--output", "10", "--at", "2026-11-24T08:01:00Z")
    cli.ok("record-tokens", "-s", "m", "--model", "house-tts-1", "--input", "5", "--output", "5",
           "--at", "2026-11-24T08:02:00Z")
    return cli


def test_a_dated_id_and_its_alias_are_one_row_by_model(aliases):
    rows = aliases.json("show", "m", "--by", "model")["breakdown"]["rows"]
    assert [(r["model"], r["story_count"], r["api_calls"], r["total_tokens"], r["total_cost"]) for r in rows] == [
        ("claude-sonnet-4-5", 1, 2, 220, 0.0009),  # the story made with both names counts once
        ("house-tts-1", 0, 1, 10, 0),
    ]


@pytest.mark.parametrize("name", ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"])
def test_a_model_filter_matches_every_name_of_the_model(aliases, name):
    stats = aliases.json("show", "m", "--model", name)
    assert (stats["api_calls"], stats["story_count"], stats["total_tokens"]) == (2, 1, 220)
    assert len(aliases.json("calls", "m", "--model", name)) == 2
    assert [s["session_id"] for s in aliases.json("list", "--model", name)] == ["m"]


def test_records_and_exports_keep_the_exact_names(aliases, tmp_path):
    assert [c["model"] for c in aliases.json("calls", "m")] == [
        "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "house-tts-1"]
    aliases.ok("export", "m", "--what", "tokens", "--to", str(tmp_path / "t.csv"))
    assert "claude-sonnet-4-5-20250929" in (tmp_path / "t.csv").read_text()


def test_a_model_the_price_data_lacks_matches_only_itself(aliases):
    assert aliases.json("show", "m", "--model", "house-tts-1")["api_calls"] == 1
    assert aliases.json("show", "m", "--model", "house-tts-2")["api_calls"] == 0
