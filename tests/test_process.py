"""The installed command as a shell sees it: real processes, real pipes."""

import json

import pytest


def test_id_capture_and_environment_session_in_a_real_shell(run_process, db, tmp_path):
    script = tmp_path / "flow.sh"
    script.write_text(
        "set -e\n"
        f"export SESSIONSTATS_SESSION=$({_cmd()} new 'Friday broadcast')\n"
        f"{_cmd()} start \"$SESSIONSTATS_SESSION\"\n"
        f"{_cmd()} record-story --title 'Harbour' --narrative 'fog lifts' >/dev/null\n"
        f"{_cmd()} record-tokens --input 1200 --output 350 --cost 0.0089 >/dev/null\n"
        f"{_cmd()} show \"$SESSIONSTATS_SESSION\" --format json\n"
    )
    import os
    import subprocess

    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert (stats["story_count"], stats["total_tokens"], stats["total_cost"], stats["status"]) == (1, 1550, 0.0089,
                                                                                                  "live")


def test_errors_go_to_stderr_with_exit_codes_and_no_traceback(run_process):
    missing = run_process("show", "nope")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr.startswith("sessionstats: session 'nope' not found")
    bad = run_process("record-tokens", "-s", "x", "--input", "-5", "--output", "1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1


def test_version_and_help(run_process):
    version = run_process("--version")
    assert version.returncode == 0 and version.stdout.startswith("sessionstats ")
    for command in ((), ("import",), ("new",), ("start",), ("end",), ("rename",), ("delete",), ("record-story",),
                    ("record-tokens",), ("show",), ("list",), ("timeline",), ("compare",), ("check",), ("export",),
                    ("init-db",)):
        helped = run_process(*command, "--help")
        assert helped.returncode == 0
        assert "Example:" in helped.stdout, command


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o default -F _sessionstats_completion sessionstats"),
    ("zsh", "#compdef sessionstats"),
    ("fish", "complete --command sessionstats"),
    ("powershell", "Register-ArgumentCompleter"),
])
def test_show_completion_prints_the_script_of_the_shell_named_not_of_the_parent(run_process, shell, marker):
    shown = run_process("--show-completion", shell, env={"SHELL": "/bin/bash"})
    assert shown.returncode == 0, shown.stderr
    assert marker in shown.stdout


def test_show_completion_for_an_unknown_shell_or_none_is_one_line(run_process):
    unknown = run_process("--show-completion", "tcsh")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith("sessionstats: Invalid value for --show-completion: 'tcsh' is not a shell")
    assert unknown.stderr.count("\n") == 1
    missing = run_process("--install-completion")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "requires an argument" in missing.stderr


def test_shell_completion_is_offered(run_process):
    shown = run_process("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert shown.returncode == 0
    assert "_SESSIONSTATS_COMPLETE" in shown.stdout
    completed = run_process(env={"_SESSIONSTATS_COMPLETE": "complete_bash", "COMP_WORDS": "sessionstats record-",
                                 "COMP_CWORD": "1"})
    assert completed.stdout.split() == ["record-story", "record-tokens"]


def _cmd() -> str:
    import shlex
    import sys

    return f"{shlex.quote(sys.executable)} -m sessionstats"
