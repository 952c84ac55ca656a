"""A session is named the way a person can type it: its id, its name, or a unique id prefix, as git takes hashes."""

import json

import pytest
from conftest import snapshot


@pytest.fixture
def sessions(cli):
    cli.ok("new", "Harbour radio: morning", "--id", "morning-0001")
    cli.ok("new", "Harbour radio: evening", "--id", "evening-0001")
    cli.ok("new", "Harbour radio: evening", "--id", "evening-0002")  # a name given twice
    cli.ok("record-tokens", "-s", "morning-0001", "--input", "10", "--output", "5", "--cost", "0.5")
    return cli


@pytest.mark.parametrize("reference", ["morning-0001", "Harbour radio: morning", "morn", "morning-00"])
def test_show_takes_the_id_the_name_or_a_unique_prefix(sessions, reference):
    stats = sessions.json("show", reference)
    assert (stats["session_id"], stats["api_calls"]) == ("morning-0001", 1)


@pytest.mark.parametrize("command", [("timeline",), ("check", "--max-cost", "1"), ("export", "--to", "{tmp}/x.csv")])
def test_other_commands_take_a_name_or_prefix_too(sessions, command, tmp_path):
    args = [part.format(tmp=tmp_path) for part in command]
    done = sessions(args[0], "morn", *args[1:])
    assert done.exit_code == 0, done.output


def test_a_record_command_takes_a_prefix_of_an_existing_session(sessions):
    sessions.ok("record-tokens", "-s", "morn", "--input", "1", "--output", "1", "--cost", "0.1")
    assert sessions.json("show", "morning-0001")["api_calls"] == 2


def test_a_record_command_with_create_never_picks_another_session_by_prefix(sessions):
    sessions.ok("record-tokens", "-s", "morn", "--create", "--input", "1", "--output", "1", "--cost", "0.1")
    assert sessions.json("show", "morning-0001")["api_calls"] == 1
    assert sessions.json("show", "morn")["session_id"] == "morn"  # the exact id wins over a prefix now


def test_an_ambiguous_name_is_bad_input_listing_the_candidates(sessions):
    before = snapshot(sessions.db)
    done = sessions("show", "Harbour radio: evening")
    assert done.exit_code == 2
    assert done.stderr == ("sessionstats: 'Harbour radio: evening' fits several of your sessions: evening-0002 "
                           "(Harbour radio: evening), evening-0001 (Harbour radio: evening); give the whole id\n")
    assert sessions("record-tokens", "-s", "even", "--input", "1", "--output", "1").exit_code == 2
    assert snapshot(sessions.db) == before


def test_a_prefix_shorter_than_four_characters_is_not_taken(sessions):
    done = sessions("show", "mor")
    assert done.exit_code == 1
    assert done.stderr.startswith("sessionstats: session 'mor' not found")


def test_a_session_not_found_suggests_close_names(sessions):
    done = sessions("show", "Harbour radio: mornin")
    assert done.exit_code == 1
    assert done.stderr == ("sessionstats: session 'Harbour radio: mornin' not found (did you mean "
                           "'Harbour radio: morning'? 'sessionstats list' shows yours)\n")


def test_a_record_command_not_finding_its_session_says_how_to_create_it(sessions):
    done = sessions("record-story", "-s", "Morning", "--title", "t")
    assert done.exit_code == 1
    assert done.stderr.endswith("'sessionstats list' shows yours; add --create to make it)\n")
    assert "'morning-0001'" not in done.stderr or "did you mean" in done.stderr


def test_another_users_session_is_never_found_by_name_or_prefix(sessions):
    bob = sessions.as_user("bob")
    for reference in ("Harbour radio: morning", "morn", "morning-0001"):
        done = bob("show", reference)
        assert done.exit_code == 1, reference
        assert "did you mean" not in done.stderr  # nothing of alice's leaks as a suggestion


@pytest.mark.parametrize("command", [("show",), ("timeline",), ("check", "--max-cost", "1")])
def test_reports_fall_back_to_the_current_session(sessions, command):
    done = sessions(*command, env={"SESSIONSTATS_SESSION": "morning-0001"})
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("command", [("show",), ("timeline",), ("check", "--max-cost", "1")])
def test_a_report_with_no_session_says_how_to_give_one(sessions, command):
    done = sessions(*command)
    assert done.exit_code == 2
    assert done.stderr == "sessionstats: no session given: pass it, or set SESSIONSTATS_SESSION\n"


def test_a_record_command_with_no_session_says_the_three_ways(sessions):
    done = sessions("record-tokens", "--input", "1", "--output", "1")
    assert done.exit_code == 2
    assert done.stderr == ("sessionstats: no session given: pass --session ID (or -s), set SESSIONSTATS_SESSION, "
                           "or add --create to make a new one\n")


def test_compare_with_one_session_compares_it_with_the_current_one(sessions):
    done = sessions("compare", "evening-0001", "--format", "json", env={"SESSIONSTATS_SESSION": "morn"})
    rows = json.loads(done.stdout)
    assert [row["session_id"] for row in rows] == ["morning-0001", "evening-0001"]


def test_lifecycle_commands_take_a_prefix(sessions):
    sessions.ok("start", "morn")
    sessions.ok("rename", "morn", "Dawn")
    assert sessions.json("show", "Dawn")["status"] == "live"


def _complete(run_process, words: str, shell: str = "bash") -> list[str]:
    env = {"_SESSIONSTATS_COMPLETE": f"complete_{shell}", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)), "_TYPER_COMPLETE_ARGS": words}
    done = run_process(env=env)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_shell_completion_offers_session_ids_and_names(run_process, cli):
    cli.ok("new", "Harbour radio: morning", "--id", "morning-0001")
    cli.ok("new", "Evening", "--id", "evening-0001")
    assert _complete(run_process, "sessionstats show mor") == ["morning-0001"]
    assert _complete(run_process, "sessionstats record-tokens -s eve") == ["evening-0001"]
    assert _complete(run_process, "sessionstats record-tokens -s Eve") == ["Evening"]
    zsh = "\n".join(_complete(run_process, "sessionstats start Harb", "zsh"))
    assert '"Harbour radio\\\\: morning":"morning-0001"' in zsh  # the name, with its id as the description


def test_shell_completion_never_offers_another_users_sessions(run_process, cli):
    cli.as_user("bob").ok("new", "Secret", "--id", "secret-0001")
    assert _complete(run_process, "sessionstats show sec") == []


def test_export_falls_back_to_the_current_session_and_all_exports_every_one(sessions, tmp_path):
    current = sessions("export", "--to", str(tmp_path / "one.csv"), env={"SESSIONSTATS_SESSION": "morn"})
    assert current.exit_code == 0, current.output
    assert "exported the current session morn (SESSIONSTATS_SESSION); --all exports every session" in current.stderr
    assert (tmp_path / "one.csv").read_text().count("morning-0001") == 1
    every = sessions("export", "--all", "--what", "stats", "--to", str(tmp_path / "all.csv"),
                     env={"SESSIONSTATS_SESSION": "morn"})
    assert every.exit_code == 0 and (tmp_path / "all.csv").read_text().count("\n") == 4  # header + 3 sessions
    both = sessions("export", "morn", "--all", "--to", str(tmp_path / "x.csv"))
    assert both.exit_code == 2 and both.stderr == "sessionstats: --all: give sessions or --all, not both\n"
