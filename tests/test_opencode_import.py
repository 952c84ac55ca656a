"""`sessionstats import opencode`: the message table once (not its step-finish parts), child sessions, legacy copies."""

from __future__ import annotations

import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import snapshot, table_of
from opencode_logs import add_legacy_only, create_database, write_dir

from sessionstats.pricing.prices import price_data_version


def totals(cli) -> dict[str, tuple[int, ...]]:
    rows = table_of(cli.db, """SELECT session_id, count(*), sum(input_tokens), sum(output_tokens),
                                      sum(cache_read_tokens), sum(cache_write_tokens) FROM token_usage GROUP BY 1""")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def test_an_opencode_database_gives_each_session_its_steps_once(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    add_legacy_only(made, random.Random(1))
    result = cli("import", "opencode", str(made.root))
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == made.rows()
    assert "1 malformed lines skipped" in result.stderr
    assert "2 duplicates skipped" in result.stderr  # the storage/ copies of two database messages
    reported = sum(Decimal(c) for c in made.reported)
    assert (f"OpenCode stated its own cost, ${reported}, for {len(made.reported)} of these calls: stored as their "
            "reported cost (the others are estimated)") in result.stderr
    assert table_of(cli.db, "SELECT sum(estimated_cost) FROM token_usage WHERE cost_source = 'reported'") == [
        (reported,)]
    assert "1 child (subagent) sessions are stored as their own sessions" in result.stderr
    names = dict(table_of(cli.db, "SELECT id, name FROM sessions"))
    assert names == {"ses_main": "/home/me/site", "ses_child": "/home/me/site (subagent of ses_main)",
                     "ses_other": "/home/me/api", "ses_old": None}


def test_the_naive_sums_would_be_wrong_by_hand(cli, tmp_path: Path) -> None:
    con = create_database(tmp_path / "opencode" / "opencode.db")
    data = ('{"role":"assistant","modelID":"gpt-5","providerID":"openai","cost":0,'
            '"time":{"created":1767312000000},'
            '"tokens":{"input":1000,"output":200,"reasoning":300,"cache":{"read":4000,"write":0},"total":5500}}')
    con.execute("INSERT INTO message VALUES ('m1', 'ses_main', 0, 0, ?)", (data,))
    con.execute("INSERT INTO part VALUES ('p1', 'm1', 'ses_main', 0, 0, ?)",
                ('{"type":"step-finish","tokens":{"input":1000,"output":200,"reasoning":300,'
                 '"cache":{"read":4000,"write":0}}}',))
    con.commit()
    con.close()
    cli.ok("import", "opencode", str(tmp_path / "opencode"))
    # Message plus step-finish part would be 2 records and 2,000 input; input is already uncached (OpenCode
    # subtracts the cache); reasoning is billed on top of output: 200 + 300.
    assert totals(cli) == {"ses_main": (1, 1000, 500, 4000, 0)}
    # gpt-5 per MTok (OpenAI's price list, as in genai-prices): input $1.25, cached input $0.125, output $10.
    cost = table_of(cli.db, "SELECT estimated_cost FROM token_usage")[0][0]
    assert Decimal(cost) == (1000 * Decimal("1.25") + 4000 * Decimal("0.125") + 500 * 10) / 1_000_000


def test_running_again_with_nothing_new_changes_nothing(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    cli.ok("import", "opencode", str(made.root))
    before = snapshot(cli.db)
    again = cli("import", "opencode", str(made.root))
    assert "read 0 of 3 files; 0 usage events; imported 0 token records" in again.stderr
    assert snapshot(cli.db) == before


def test_new_steps_in_the_database_are_added_once(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    cli.ok("import", "opencode", str(made.root))
    con = sqlite3.connect(made.database)
    rng = random.Random(2)
    made.step(con, "ses_other", rng, model="gemini-2.5-pro", provider="google")
    made.step(con, "ses_child", rng, model="gpt-5", provider="openai")
    con.commit()
    con.close()
    result = cli("import", "opencode", str(made.root))
    assert "imported 2 token records" in result.stderr
    assert totals(cli) == made.rows()


def test_an_unknown_provider_is_priced_by_its_model_and_an_unknown_model_stays_unpriced(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    con = sqlite3.connect(made.database)
    rng = random.Random(3)
    made.step(con, "ses_other", rng, model="claude-sonnet-4-5", provider="some-gateway")
    made.step(con, "ses_other", rng, model="big-pickle", provider="opencode", cost="0")  # no price: OpenCode says 0
    con.commit()
    con.close()
    result = cli("import", "opencode", str(made.root))
    assert (f"model 'big-pickle' is not in the price data (genai-prices {price_data_version()}); "
            "1 records stored with an unknown cost") in result.stderr
    unpriced = table_of(cli.db, "SELECT model FROM token_usage WHERE estimated_cost IS NULL")
    assert unpriced == [("big-pickle",)]


def test_a_file_that_is_not_an_opencode_database_is_refused(cli, tmp_path: Path) -> None:
    folder = tmp_path / "opencode"
    folder.mkdir()
    (folder / "opencode.db").write_bytes(b"not sqlite at all" * 100)
    result = cli("import", "opencode", str(folder))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "opencode.db" in result.stderr


def test_a_touched_legacy_copy_never_replaces_the_databases_record(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    cli.ok("import", "opencode", str(made.root))
    for copy in (made.root / "storage").rglob("*.json"):
        copy.write_text(copy.read_text() + " ")
    result = cli("import", "opencode", str(made.root))
    assert "imported 0 token records" in result.stderr
    assert totals(cli) == made.rows()


def _one_step(root: Path, cost: str, model: str = "gpt-5") -> None:
    con = create_database(root / "opencode.db")
    data = (f'{{"role":"assistant","modelID":"{model}","providerID":"openai","cost":{cost},'
            '"time":{"created":1767312000000},'
            '"tokens":{"input":1000,"output":200,"reasoning":300,"cache":{"read":4000,"write":0}}}')
    con.execute("INSERT INTO message VALUES ('m1', 'ses_main', 0, 0, ?)", (data,))
    con.commit()
    con.close()


# gpt-5 per MTok (OpenAI's price list, as in genai-prices): input $1.25, cached input $0.125, output $10.
GPT5_ESTIMATE = (1000 * Decimal("1.25") + 4000 * Decimal("0.125") + 500 * 10) / 1_000_000  # $0.00675


def test_a_cost_opencode_states_is_stored_as_reported_and_explain_shows_the_estimate_beside_it(
        cli, tmp_path: Path) -> None:
    _one_step(tmp_path / "opencode", "0.0123")
    cli.ok("import", "opencode", str(tmp_path / "opencode"))
    [(record_id, cost, source, reported)] = table_of(
        cli.db, "SELECT id, estimated_cost, cost_source, reported_cost FROM token_usage")
    assert (Decimal(cost), source, Decimal(reported)) == (Decimal("0.0123"), "reported", Decimal("0.0123"))
    shown = cli.ok("explain", record_id, "--format", "table")
    assert f"total ${GPT5_ESTIMATE:.6f}" in shown
    assert "stored cost $0.012300 (reported; the estimate above is for comparison)" in shown


@pytest.mark.parametrize(("cost", "stored"), [
    ("0", None),  # OpenCode writes 0 for a model it has no price for: nothing stated
    ("-0.5", None), ("1e400", None), ('"0.5"', None), ("true", None), ("null", None), ("{}", None),
    ("1.2345678901234567e-7", Decimal("0.000000123456789012")),  # a float's tail past 18 places is rounded off
    ("1e-30", None),  # rounds to nothing at 18 places: nothing stated
    ("999999999.5", Decimal("999999999.5")),
])
def test_only_a_positive_dollar_amount_is_a_stated_cost_the_rest_is_estimated(
        cli, tmp_path: Path, cost: str, stored: Decimal | None) -> None:
    _one_step(tmp_path / "opencode", cost)
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    [(estimated, source, reported)] = table_of(cli.db, "SELECT estimated_cost, cost_source, reported_cost "
                                                       "FROM token_usage")
    if stored is None:
        assert (Decimal(estimated), source, reported) == (GPT5_ESTIMATE, "estimated", None)
    else:
        assert (Decimal(estimated), source, Decimal(reported)) == (stored, "reported", stored)


def test_an_unknown_model_with_a_stated_cost_is_stored_at_that_cost_and_not_warned_about(
        cli, tmp_path: Path) -> None:
    _one_step(tmp_path / "opencode", "0.25", model="big-pickle")
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "not in the price data" not in result.stderr
    assert table_of(cli.db, "SELECT estimated_cost, cost_source FROM token_usage") == [(Decimal("0.25"), "reported")]


def test_opencode_db_names_a_database_whose_name_has_glob_characters(cli, tmp_path: Path) -> None:
    made = write_dir(tmp_path / "opencode")
    named = made.database.rename(tmp_path / "opencode" / "work [copy]*.db")
    result = cli("import", "opencode", env={"OPENCODE_DB": str(named)})
    assert result.exit_code == 0, result.stderr
    assert totals(cli) == made.rows()


def test_every_message_of_a_session_with_a_bad_id_is_malformed_and_edge_spaces_are_stripped_from_each(
        cli, tmp_path: Path) -> None:
    # The field rules run once per distinct session id: every message still takes the outcome, bad or good.
    con = create_database(tmp_path / "opencode" / "opencode.db")
    step = ('{{"role":"assistant","modelID":"gpt-5","providerID":"openai","cost":0,"time":{{"created":{at}}},'
            '"tokens":{{"input":{n},"output":10,"reasoning":0,"cache":{{"read":0,"write":0}}}}}}')
    messages = [("m1", "ses\x01bad", 100), ("m2", " ses_pad ", 200), ("m3", "ses\x01bad", 300),
                ("m4", " ses_pad ", 400), ("m5", "ses_ok", 500), ("m6", "ses\x01bad", 600)]
    for number, (message_id, session_id, tokens) in enumerate(messages):
        con.execute("INSERT INTO message VALUES (?, ?, 0, 0, ?)",
                    (message_id, session_id, step.format(at=1767312000000 + number, n=tokens)))
    con.commit()
    con.close()
    result = cli("import", "opencode", str(tmp_path / "opencode"))
    assert result.exit_code == 0, result.stderr
    assert "3 malformed lines skipped" in result.stderr  # m1, m3, m6: a control character in the id
    assert totals(cli) == {"ses_pad": (2, 600, 20, 0, 0), "ses_ok": (1, 500, 10, 0, 0)}
