"""`sessionstats import codex`: repeats, forks, subagents, resume, model fallback, incremental re-runs, prices."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from codex_logs import Rollout, rollout, write_home
from conftest import snapshot, table_of

from sessionstats.pricing.prices import price_data_version


def totals(cli) -> dict[str, tuple[int, int, int, int]]:
    rows = table_of(cli.db, """SELECT session_id, count(*), sum(input_tokens), sum(cache_read_tokens),
                                      sum(output_tokens) FROM token_usage GROUP BY 1""")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def test_a_codex_home_gives_each_session_only_its_own_calls(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    result = cli("import", "codex", str(home.root))
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == home.expected()
    assert "read 6 of 6 files" in result.stderr
    assert f"{home.malformed} malformed lines skipped" in result.stderr
    names = dict(table_of(cli.db, "SELECT id, name FROM sessions"))
    assert names == {sid: r.cwd for sid, r in home.rollouts.items()}


def test_calls_logged_without_a_model_are_priced_as_gpt_5_and_the_summary_says_so(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    result = cli("import", "codex", str(home.root))
    assert "2 calls logged no model (Codex builds of September 2025) and are priced as gpt-5" in result.stderr
    september = "0199a000-0000-7000-8000-00000000000e"
    assert table_of(cli.db, f"SELECT DISTINCT model FROM token_usage WHERE session_id = '{september}'") == [
        ("gpt-5",)]


def test_the_naive_sums_would_be_wrong_by_hand(cli, tmp_path: Path) -> None:
    parent = rollout(tmp_path / "codex", "p", "/w")
    parent.meta()
    parent.turn("gpt-5")
    _call(parent, 1000, 400, 300, 100)  # uncached 600, cached 400, output 300 (reasoning 100 inside)
    _call(parent, 2000, 1500, 50, 0)
    parent.write()
    child = rollout(tmp_path / "codex", "c", "/w", after=parent)
    child.meta(parent="p")
    child.fork_from(parent, continue_totals=True)
    _call(child, 500, 0, 20, 5)
    child.write()
    cli.ok("import", "codex", str(tmp_path / "codex"))
    # Summing every last_token_usage would give 2 x (1000 + 2000) + 2 x (1000 + 2000) + 2 x 500 input: each call
    # twice (the rate-limit repeat), the parent's twice more (the fork's copy). Each call counts once:
    assert totals(cli) == {"p": (2, (1000 - 400) + (2000 - 1500), 400 + 1500, 300 + 50), "c": (1, 500, 0, 20)}
    # gpt-5 per MTok (OpenAI's price list, as in genai-prices): input $1.25, cached input $0.125, output $10.
    cost = table_of(cli.db, "SELECT sum(estimated_cost) FROM token_usage WHERE session_id = 'p'")[0][0]
    assert Decimal(cost) == (Decimal(1100) * Decimal("1.25") + Decimal(1900) * Decimal("0.125")
                             + Decimal(350) * 10) / 1_000_000


def _call(log: Rollout, total_in: int, cached: int, out: int, reasoning: int) -> None:
    usage = {"input_tokens": total_in, "cached_input_tokens": cached, "output_tokens": out,
             "reasoning_output_tokens": reasoning, "total_tokens": total_in + out}
    for name, value in usage.items():
        log.running[name] += value
    info = {"total_token_usage": dict(log.running), "last_token_usage": usage, "model_context_window": 272000}
    log.line("event_msg", {"type": "token_count", "info": info, "rate_limits": None})
    log.line("event_msg", {"type": "token_count", "info": info, "rate_limits": {"primary": None}})


def test_running_again_with_nothing_new_changes_nothing(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    cli.ok("import", "codex", str(home.root))
    before = snapshot(cli.db)
    again = cli("import", "codex", str(home.root))
    assert again.exit_code == 0, again.stderr
    assert "read 0 of 6 files; 0 usage events; imported 0 token records" in again.stderr
    assert snapshot(cli.db) == before


def test_a_resumed_session_adds_only_its_new_calls(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    cli.ok("import", "codex", str(home.root))
    main = home.rollouts["0199a000-0000-7000-8000-00000000000a"]
    written = len(main.lines)
    main.turn("gpt-5")
    main.call(random.Random(3))
    main.call(random.Random(4))
    tail = main.lines[written:]
    main.append("\n".join(tail[:-1]) + "\n" + tail[-1][:25])  # the last line is still being written
    first = cli("import", "codex", str(home.root))
    assert "read 1 of 6 files" in first.stderr
    main.append(tail[-1][25:] + "\n")
    cli.ok("import", "codex", str(home.root))
    assert totals(cli) == home.expected()
    assert table_of(cli.db, f"SELECT model FROM token_usage WHERE session_id = '{main.session_id}' "
                            "ORDER BY created_at DESC LIMIT 1") == [("gpt-5",)]


def test_an_archived_copy_of_an_imported_rollout_adds_nothing(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    cli.ok("import", "codex", str(home.root))
    main = home.rollouts["0199a000-0000-7000-8000-00000000000a"]
    moved = home.root / "archived_sessions" / main.path.name
    main.path.rename(moved)
    result = cli("import", "codex", str(home.root))
    assert "imported 0 token records" in result.stderr
    assert totals(cli) == home.expected()


def test_sessions_keep_their_history_after_codex_deletes_its_logs(cli, tmp_path: Path) -> None:
    home = write_home(tmp_path / "codex")
    cli.ok("import", "codex", str(home.root))
    for each in home.rollouts.values():
        each.path.unlink()
    cli.ok("import", "codex", str(home.root))
    assert totals(cli) == home.expected()


def test_an_unknown_model_stays_unpriced_and_is_named(cli, tmp_path: Path) -> None:
    log = rollout(tmp_path / "codex", "u", "/w")
    log.meta()
    log.turn("gpt-99-imaginary")
    _call(log, 100, 0, 10, 0)
    log.write()
    result = cli("import", "codex", str(tmp_path / "codex"))
    assert (f"model 'gpt-99-imaginary' is not in the price data (genai-prices {price_data_version()}); "
            "1 records stored with an unknown cost") in result.stderr
    assert table_of(cli.db, "SELECT estimated_cost, cost_source FROM token_usage") == [(None, "unknown")]


def test_a_changed_format_is_reported_as_drift_and_strict_fails(cli, tmp_path: Path) -> None:
    path = tmp_path / "codex" / "sessions" / "2026" / "01" / "02" / "rollout-2026-01-02T10-00-00-x.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps({"ts": 1, "kind": "usage_v2", "body": {"tokens": 5}}) + "\n"
                            for _ in range(3)))
    loose = cli("import", "codex", str(tmp_path / "codex"))
    assert loose.exit_code == 0
    assert "warning: codex: 1 files with 3 lines gave no token usage" in loose.stderr
    path.touch()
    path.write_text(path.read_text() + path.read_text())
    strict = cli("import", "codex", "--strict", str(tmp_path / "codex"))
    assert strict.exit_code == 2
    assert strict.stderr.strip().splitlines()[-1].startswith("sessionstats: codex: files yield no token")


def test_a_missing_directory_is_refused_naming_it(cli, tmp_path: Path) -> None:
    result = cli("import", "codex", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_token_counts_in_a_shape_it_does_not_know_are_drift_not_silence(cli, tmp_path: Path) -> None:
    log = rollout(tmp_path / "codex", "n", "/w")
    log.meta()
    log.turn("gpt-5")
    log.line("event_msg", {"type": "token_count", "info": {"usage_v2": {"input_tokens": 5}}})
    log.write()
    result = cli("import", "codex", "--strict", str(tmp_path / "codex"))
    assert result.exit_code == 2
    assert "unrecognised event types: token_count without token usage" in result.stderr


@pytest.mark.parametrize("info", [{}, [], "usage", 5, {"last_token_usage": {}, "total_token_usage": []},
                                  {"last_token_usage": {"input_tokens": None}}])
def test_a_token_count_whose_info_gives_no_count_is_drift_not_silence(cli, tmp_path: Path, info: object) -> None:
    log = rollout(tmp_path / "codex", "n", "/w")
    log.meta()
    log.turn("gpt-5")
    log.line("event_msg", {"type": "token_count", "info": info})
    log.write()
    result = cli("import", "codex", "--strict", str(tmp_path / "codex"))
    assert result.exit_code == 2
    assert "unrecognised event types: token_count without token usage" in result.stderr


def test_a_log_with_running_totals_only_counts_what_each_call_added(cli, tmp_path: Path) -> None:
    log = rollout(tmp_path / "codex", "t", "/w")
    log.meta()
    log.turn("gpt-5")
    names = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")

    def running(*values: int) -> None:
        info = {"total_token_usage": dict(zip(names, values, strict=True))}
        log.line("event_msg", {"type": "token_count", "info": info})
        log.line("event_msg", {"type": "token_count", "info": info, "rate_limits": {}})  # the repeat

    running(1_000, 400, 100, 0, 1_100)
    running(3_000, 2_400, 150, 0, 3_150)
    log.write()
    cli.ok("import", "codex", str(tmp_path / "codex"))
    written = len(log.lines)
    running(3_500, 2_400, 160, 0, 3_660)
    log.append("".join(line + "\n" for line in log.lines[written:]))
    cli.ok("import", "codex", str(tmp_path / "codex"))
    # Calls: (1,000 in, 400 cached, 100 out), then (2,000, 2,000, 50), then (500, 0, 10), the last read alone.
    assert totals(cli) == {"t": (3, 600 + 0 + 500, 400 + 2_000 + 0, 100 + 50 + 10)}
