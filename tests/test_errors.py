"""Bad input: one line on stderr naming the problem, the documented exit code, nothing written."""

import pytest
from conftest import replace, snapshot

TOKENS = ("record-tokens", "-s", "s", "--input", "1", "--output", "1")
STORY = ("record-story", "-s", "s", "--title", "t")


BAD_INPUTS = [
    (replace(TOKENS, "--input", "-1"), "--input", 2),
    (replace(TOKENS, "--output", "1.5"), "--output", 2),
    (replace(TOKENS, "--input", "lots"), "--input", 2),
    (replace(TOKENS, "--cache-read", "-3"), "--cache-read", 2),
    (replace(TOKENS, "--cache-write", str(2**63)), "--cache-write", 2),
    (replace(TOKENS, "--cache-write-1h", "-1"), "--cache-write-1h", 2),
    ([*TOKENS, "--cache-write", "5", "--cache-write-1h", "6"], "--cache-write-1h: 6 is more than the 5", 2),
    (replace(TOKENS, "--cache-write-1h", "1"), "--cache-write-1h: 1 is more than the 0", 2),
    (replace(TOKENS, "--cost", "-0.01"), "--cost", 2),
    (replace(TOKENS, "--cost", "NaN"), "--cost", 2),
    (replace(TOKENS, "--cost", "inf"), "--cost", 2),
    (replace(TOKENS, "--cost", "-Infinity"), "--cost", 2),
    (replace(TOKENS, "--cost", "cheap"), "--cost", 2),
    (replace(TOKENS, "--cost", "0.0000000000000000001"), "--cost", 2),
    (replace(TOKENS, "--at", "yesterday-ish"), "--at", 2),
    (replace(TOKENS, "-s", ""), "--session", 2),
    (replace(TOKENS, "-s", "   "), "--session", 2),
    (replace(TOKENS, "-s", "x" * 10_000), "--session", 2),
    (replace(TOKENS, "--request-id", ""), "--request-id", 2),
    (replace(TOKENS, "--model", "bad\x00model"), "--model", 2),
    (replace(STORY, "--title", ""), "--title", 2),
    (replace(STORY, "--title", "   "), "--title", 2),
    (replace(STORY, "--word-count", "-1"), "--word-count", 2),
    (replace(STORY, "--duration", "-5"), "--duration", 2),
    (replace(STORY, "--duration", "nan"), "--duration", 2),
    (replace(STORY, "--at", "31/12/2026"), "--at", 2),
    (replace(STORY, "--narrative", "nul\x00byte"), "--narrative", 2),
    ([*STORY, "--narrative", "a", "--narrative-file", "-"], "--narrative", 2),
    (replace(STORY, "--narrative-file", "/no/such/file.txt"), "--narrative-file", 2),
    (replace(TOKENS, "--tz", "Mars/Olympus"), "--tz", 2),
    (("new", "--id", ""), "--id", 2),
    (("new", "--id", "s"), "--id", 2),  # already there
    (("new", "--setting", "novalue"), "--setting", 2),
    (("list", "--limit", "0"), "--limit", 2),
    (("record-tokens", "-s", "s", "--output", "1"), "--input", 2),
    (("record-story", "-s", "s"), "--title", 2),
    (("show",), "no session given", 2),
    (("show", "s", "--format", "xml"), "--format", 2),
    (("frobnicate",), "frobnicate", 2),
    (replace(TOKENS, "-s", "missing"), "'missing' not found", 1),
    (replace(STORY, "-s", "missing"), "'missing' not found", 1),
    (("show", "missing"), "'missing' not found", 1),
    (("rename", "s", ""), "NAME", 2),
]


@pytest.mark.parametrize(("args", "named", "code"), BAD_INPUTS, ids=[" ".join(a)[:60] for a, _, _ in BAD_INPUTS])
def test_bad_input_fails_with_one_line_and_writes_nothing(cli, args, named, code):
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "--title", "existing")
    before = snapshot(cli.db)
    result = cli(*args, input="")
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("sessionstats: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(cli.db) == before


def test_invalid_utf8_narrative_file_is_refused(cli, tmp_path):
    cli.ok("new", "--id", "s")
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    before = snapshot(cli.db)
    result = cli(*STORY, "--narrative-file", str(path))
    assert result.exit_code == 2
    assert "is not UTF-8 text" in result.stderr
    assert snapshot(cli.db) == before


def test_sql_in_ids_names_and_titles_is_stored_and_shown_verbatim(cli):
    hostile = "x'; DROP TABLE token_usage; --"
    cli.ok("new", hostile, "--id", hostile)
    cli.ok("record-story", "-s", hostile, "--title", hostile)
    cli.ok("record-tokens", "-s", hostile, "--input", "1", "--output", "1", "--model", hostile)
    stats = cli.json("show", hostile)
    assert (stats["session_id"], stats["name"], stats["api_calls"]) == (hostile, hostile, 1)


def test_no_arguments_shows_help_with_usage_exit(cli):
    result = cli.runner.invoke(__import__("sessionstats.cli", fromlist=["app"]).app, [])
    assert result.exit_code == 2
    assert "Usage:" in result.stdout + result.stderr
