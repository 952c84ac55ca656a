"""The seed's testing checklist, step by step, through the CLI."""

from decimal import Decimal


def stats_of(cli, session_id):
    return cli.json("show", session_id)


def test_new_session_shows_zero_stats(cli):
    session = cli.ok("new", "Friday broadcast").strip()
    cli.ok("start", session)
    stats = stats_of(cli, session)
    assert {k: stats[k] for k in ("story_count", "api_calls", "total_tokens", "input_tokens", "output_tokens",
                                  "total_cost", "unpriced_records")} == {
        "story_count": 0, "api_calls": 0, "total_tokens": 0, "input_tokens": 0, "output_tokens": 0,
        "total_cost": 0, "unpriced_records": 0,
    }
    assert stats["status"] == "live"
    assert stats["tokens_per_story"] is None and stats["cost_per_story"] is None


def test_each_story_increments_the_count(cli):
    session = cli.ok("new", "s").strip()
    for expected in (1, 2, 3):
        cli.ok("record-story", "--session", session, "--title", f"Story {expected}")
        assert stats_of(cli, session)["story_count"] == expected


def test_tokens_and_cost_accumulate(cli):
    session = cli.ok("new", "s").strip()
    cli.ok("record-tokens", "-s", session, "--input", "1200", "--output", "350", "--cost", "0.0089")
    cli.ok("record-tokens", "-s", session, "--input", "800", "--output", "150", "--cache-read", "4000",
           "--cache-write", "100", "--cost", "0.000000075")
    stats = stats_of(cli, session)
    assert stats["input_tokens"] == 2000
    assert stats["output_tokens"] == 500
    assert stats["cache_read_tokens"] == 4000
    assert stats["cache_write_tokens"] == 100
    assert stats["total_tokens"] == 6600
    assert Decimal(str(stats["total_cost"])) == Decimal("0.008900075")
    assert stats["api_calls"] == 2


def test_switching_sessions_shows_each_ones_own_stats(cli):
    first = cli.ok("new", "first").strip()
    second = cli.ok("new", "second").strip()
    cli.ok("record-story", "-s", first, "--title", "a")
    cli.ok("record-tokens", "-s", first, "--input", "10", "--output", "5", "--cost", "0.01")
    cli.ok("record-tokens", "-s", second, "--input", "1", "--output", "1", "--cost", "0.02")
    assert (stats_of(cli, first)["total_tokens"], stats_of(cli, first)["story_count"]) == (15, 1)
    assert (stats_of(cli, second)["total_tokens"], stats_of(cli, second)["story_count"]) == (2, 0)
    assert stats_of(cli, first)["total_cost"] == 0.01


def test_creating_a_new_session_leaves_old_stats_intact(cli):
    old = cli.ok("new", "old").strip()
    cli.ok("record-story", "-s", old, "--title", "a", "--narrative", "one two three")
    cli.ok("record-tokens", "-s", old, "--input", "100", "--output", "20", "--cost", "0.5")
    before = stats_of(cli, old)
    new = cli.ok("new", "new").strip()
    assert stats_of(cli, new)["story_count"] == 0
    assert stats_of(cli, old) == before
