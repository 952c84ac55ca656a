"""Every number an option or variable takes is read by the rule every import reads numbers by.

click's INT and FLOAT are Python's int() and float(): they read '١٢' (Arabic-Indic), '１２' (fullwidth),
'1_000' and '+5' as numbers, which no import, the record command's counts or the web API take.
"""

from __future__ import annotations

import pytest
from conftest import snapshot, table_of

pytestmark = pytest.mark.file_only

ODD_NUMBERS = ["١٢", "１２", "1_000", "+5", "0x10", "nan", "infinity", "", "٣.٥"]
OPTIONS = [
    (("check", "s", "--max-cost", "5", "--warn-at"), "--warn-at"),
    (("list", "--limit"), "--limit"),
    (("calls", "s", "--last"), "--last"),
    (("stories", "s", "--last"), "--last"),
    (("record-story", "-s", "s", "--title", "t", "--duration"), "--duration"),
    (("show", "s", "--watch", "--interval"), "--interval"),
    (("serve", "--port"), "--port"),
]


@pytest.mark.parametrize("value", ODD_NUMBERS)
@pytest.mark.parametrize(("args", "option"), OPTIONS, ids=lambda x: x if isinstance(x, str) else x[0])
def test_a_number_option_refuses_what_only_python_reads_as_a_number(cli, db, args, option, value):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    result = cli(*args, value)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    named = f"'{option}'" in result.stderr or result.stderr.startswith(f"sessionstats: {option}: ")
    assert result.stderr.count("\n") == 1 and named, result.stderr
    assert snapshot(db) == before


@pytest.mark.parametrize("value", ["-1", "1e3", "12.5", "0"])
@pytest.mark.parametrize(("args", "option"), [(("list", "--limit"), "--limit"), (("calls", "s", "--last"), "--last")])
def test_a_count_option_takes_only_a_whole_number_in_its_range(cli, args, option, value):
    cli.ok("new", "--id", "s")
    result = cli(*args, value)
    assert result.exit_code == 2 and f"'{option}'" in result.stderr, result.stderr


def test_number_options_still_take_plain_numbers(cli, db):
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "--title", "t", "--duration", " 12.5 ")
    cli.ok("record-story", "-s", "s", "--title", "u", "--duration", "1e2")
    assert table_of(db, "SELECT duration FROM story_history ORDER BY duration") == [(12.5,), (100.0,)]
    assert cli("check", "s", "--max-stories", "5", "--warn-at", "12.5").exit_code == 0
    assert cli.json("list", "--limit", "1")[0]["session_id"] == "s"
    assert len(cli.json("stories", "s", "--last", " 1 ")) == 1


def test_a_warning_from_minus_zero_percent_says_zero(cli):
    cli.ok("new", "--id", "s")
    result = cli("check", "s", "--max-stories", "5", "--warn-at", "-0")
    assert result.exit_code == 0
    assert result.stderr == ("sessionstats: warning: stories 0 is at 0% of --max-stories 5 (warning from 0%)\n")


@pytest.mark.parametrize("value", ["١٢", "１２", "1_000", "+5", "0x10", "٣.٥"])
def test_the_lock_timeout_variable_takes_only_a_plain_number(run_process, value):
    result = run_process("list", env={"SESSIONSTATS_LOCK_TIMEOUT": value})
    assert result.returncode == 2
    assert result.stderr == f"sessionstats: SESSIONSTATS_LOCK_TIMEOUT must be a number of seconds >= 0, got {value!r}\n"


TIME_OPTIONS = [(("timeline", "s", "--every"), "--every"), (("list", "--since"), "--since"),
                (("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--at"), "--at")]


@pytest.mark.parametrize("value", ["٣h", "１h", "١٢ d", "³m"])
@pytest.mark.parametrize(("args", "option"), TIME_OPTIONS)
def test_a_length_or_time_ago_takes_only_the_digits_0_to_9(cli, db, args, option, value):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    result = cli(*args, value)
    assert result.exit_code == 2, (result.stdout, result.stderr)  # ٣h was read as 3 hours
    assert result.stderr.startswith(f"sessionstats: {option}: cannot read {value!r}"), result.stderr
    assert snapshot(db) == before


def test_the_web_timeline_takes_only_the_digits_0_to_9(tmp_path):
    from starlette.testclient import TestClient

    import sessionstats
    from sessionstats.serve.app import build_app

    database = sessionstats.connect(tmp_path / "t.duckdb", "alice")
    database.new_session("n", id="s").record_tokens(1, 2)
    with TestClient(build_app(database)) as client:
        answer = client.get("/api/sessions/s/timeline", params={"every": "٣h"})
    assert (answer.status_code, answer.json()["field"]) == (400, "every")


@pytest.mark.parametrize("warn_at", ["١٢", "１２", "+5", "1_000", "٣.٥"])
def test_the_python_api_takes_a_warning_share_as_text_by_the_same_rule(tmp_path, warn_at):
    import sessionstats
    from sessionstats.errors import InvalidInput

    session = sessionstats.connect(tmp_path / "t.duckdb", "alice").new_session("n", id="s")
    with pytest.raises(InvalidInput) as refused:
        session.check(max_tokens=5, warn_at=warn_at)
    assert refused.value.field == "warn_at"
    assert str(refused.value) == f"warn_at: must be a percentage from 0 to 100, got {warn_at!r}"


def test_doctor_names_a_lock_timeout_every_other_command_refuses(run_process):
    result = run_process("doctor", "--format", "json", env={"SESSIONSTATS_LOCK_TIMEOUT": "١٢"})
    assert result.returncode == 0
    import json

    finding = next(f for f in json.loads(result.stdout) if f["check"] == "lock timeout")
    assert finding["ok"] is False
    assert finding["detail"] == "SESSIONSTATS_LOCK_TIMEOUT must be a number of seconds >= 0, got '١٢'"
    fine = run_process("doctor", "--format", "json")
    assert {"check": "lock timeout", "ok": True, "detail": "10 seconds", "remedy": ""} in json.loads(fine.stdout)
