"""Every reader of a file or stdin is bounded and total: a cap with a clear line, and any shape of input
ends in a record or in exit 2 naming the line, never a traceback or a MemoryError; exit 2 writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli, db_argument, snapshot, table_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionstats.cli.reading import read_bounded, size_text
from sessionstats.errors import InvalidInput

pytestmark = pytest.mark.file_only  # reading happens before the store: the backend plays no part
TOKENS_ROW = {"session_id": "s1", "input_tokens": 1, "output_tokens": 2}
SETUP = (("new", "first", "--id", "s1"),)


@pytest.fixture
def ready(cli: Cli) -> Cli:
    for args in SETUP:
        cli.ok(*args)
    return cli


def run_with_stdin(db, stdin_path: str, *args: str, env: dict[str, str] | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """The real CLI with its stdin read from a file such as /dev/zero."""
    full_env = {**os.environ, "SESSIONSTATS_DB": db_argument(db), "SESSIONSTATS_USER": "alice", **(env or {})}
    with open(stdin_path, "rb") as stdin:
        return subprocess.run([sys.executable, "-m", "sessionstats", *args], stdin=stdin, env=full_env,
                              capture_output=True, text=True, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---- caps on what one command reads --------------------------------------------------------------


@pytest.mark.parametrize("args, stdin, expected", [
    (("record-story", "-s", "s1", "-t", "x", "--narrative-file", "/dev/zero"), "/dev/null",
     "sessionstats: --narrative-file: '/dev/zero' is larger than 16 MiB, the most it reads"),
    (("record-story", "-s", "s1", "-t", "x", "--narrative-file", "-"), "/dev/zero",
     "sessionstats: --narrative-file: standard input is larger than 16 MiB, the most it reads"),
    (("record-tokens", "-s", "s1", "--from-response", "/dev/zero"), "/dev/null",
     "sessionstats: --from-response: '/dev/zero' is larger than 64 MiB, the most it reads"),
    (("record-tokens", "-s", "s1", "--from-response", "-"), "/dev/zero",
     "sessionstats: --from-response: standard input is larger than 64 MiB, the most it reads"),
    (("record-tokens", "-s", "s1", "--from-response", "-", "--pass-through"), "/dev/zero",
     "sessionstats: --from-response: standard input is larger than 64 MiB, the most it reads"),
], ids=["narrative-file", "narrative-stdin", "response-file", "response-stdin", "pass-through"])
def test_an_endless_input_is_refused_at_its_cap_with_one_line_and_nothing_stored(ready, db, args, stdin, expected):
    before = snapshot(db)
    result = run_with_stdin(db, stdin, *args)
    assert result.returncode == 2
    assert one_line(result.stderr) == expected
    assert result.stdout == ""
    assert snapshot(db) == before


@pytest.mark.parametrize("command", ["tokens", "stories"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_endless_stdin_import_stops_at_its_cap_and_leaves_no_copy_behind(ready, db, tmp_path, command, fmt):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = snapshot(db)
    result = run_with_stdin(db, "/dev/zero", "import", command, "-", "--format", fmt,
                            env={"SESSIONSTATS_IMPORT_STDIN_MAX_BYTES": str(1 << 20), "TMPDIR": str(scratch)})
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "sessionstats: FILE: the rows on standard input are over 1 MiB, the most an import copies from stdin; "
        "import them from a file, or raise SESSIONSTATS_IMPORT_STDIN_MAX_BYTES")
    assert list(scratch.iterdir()) == []
    assert snapshot(db) == before


def test_a_stdin_import_within_a_raised_cap_is_read_whole(ready, db):
    rows = "".join(json.dumps({**TOKENS_ROW, "request_id": f"r{n}"}) + "\n" for n in range(50))
    result = ready("import", "tokens", "-", "--format", "jsonl", input=rows,
                   env={"SESSIONSTATS_IMPORT_STDIN_MAX_BYTES": str(len(rows.encode()))})
    assert result.exit_code == 0, result.stderr
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(50,)]


def test_a_stdin_import_one_byte_over_the_cap_is_refused(ready, db):
    rows = json.dumps(TOKENS_ROW) + "\n"
    result = ready("import", "tokens", "-", "--format", "jsonl", input=rows,
                   env={"SESSIONSTATS_IMPORT_STDIN_MAX_BYTES": str(len(rows) - 1)})
    assert result.exit_code == 2
    assert "the rows on standard input are over" in result.stderr
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(0,)]


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "1e9"])
def test_a_stdin_cap_that_is_not_a_byte_count_is_refused_naming_the_variable(ready, value):
    result = ready("import", "tokens", "-", "--format", "jsonl", input="{}\n",
                   env={"SESSIONSTATS_IMPORT_STDIN_MAX_BYTES": value})
    assert result.exit_code == 2
    assert result.stderr.startswith("sessionstats: SESSIONSTATS_IMPORT_STDIN_MAX_BYTES: must be a whole number")


def test_a_stdin_import_that_would_fill_the_temporary_disk_is_refused(ready, db, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(1 << 40, 1 << 40, 1 << 28))
    rows = json.dumps(TOKENS_ROW) + "\n"
    result = ready("import", "tokens", "-", "--format", "jsonl", input=rows * 10)
    assert result.exit_code == 2
    assert "would fill" in result.stderr and "TMPDIR" in result.stderr
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(0,)]


@pytest.mark.parametrize("size, cap, refused", [(0, 0, False), (10, 10, False), (11, 10, True), (1, 0, True),
                                                (3 << 20, 3 << 20, False), ((3 << 20) + 1, 3 << 20, True)])
def test_a_bounded_read_takes_exactly_up_to_its_cap(tmp_path, size, cap, refused):
    path = tmp_path / "data"
    path.write_bytes(b"x" * size)
    if refused:
        with pytest.raises(InvalidInput, match=r"--narrative-file: '.*data' is larger than"):
            read_bounded(str(path), "--narrative-file", cap)
    else:
        assert read_bounded(str(path), "--narrative-file", cap) == b"x" * size


@pytest.mark.parametrize("size, text", [(0, "0 bytes"), (1023, "1,023 bytes"), (1024, "1 KiB"),
                                        (16 << 20, "16 MiB"), (8 << 30, "8 GiB"), (1536, "1.5 KiB")])
def test_sizes_read_at_a_glance(size, text):
    assert size_text(size) == text


@pytest.mark.parametrize("target, reason", [
    ("{tmp}", "Is a directory"), ("{tmp}/missing.txt", "No such file or directory"),
])
@pytest.mark.parametrize("option", ["--narrative-file", "--from-response"])
def test_a_source_that_cannot_be_read_is_one_line_naming_the_option(ready, db, tmp_path, target, reason, option):
    path = target.format(tmp=tmp_path)
    command = (("record-story", "-s", "s1", "-t", "x") if option == "--narrative-file"
               else ("record-tokens", "-s", "s1"))
    result = ready(*command, option, path)
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"sessionstats: {option}: cannot read {path!r}: {reason}"


# ---- JSON Lines: odd shapes name their line -------------------------------------------------------

GOOD = json.dumps(TOKENS_ROW).encode()
DEEP = b"[" * 100_000 + b"]" * 100_000

JSONL_CASES = [
    (b"[1]", "line 2: expected a JSON object, got an array"),
    (b"5", "line 2: expected a JSON object, got a number"),
    (b"-0.5e-7", "line 2: expected a JSON object, got a number"),
    (b"1" * 5000, "line 2: expected a JSON object, got a number"),
    (b'"text"', "line 2: expected a JSON object, got a string"),
    (b"null", "line 2: expected a JSON object, got null"),
    (b"true", "line 2: expected a JSON object, got true or false"),
    (b"[]", "line 2: expected a JSON object, got an array"),
    (DEEP, "line 2: not a record: its JSON is nested too deeply"),
    (b'{"session_id": "s1", "input_tokens": 1, "input_tokens": 2, "output_tokens": 1}',
     "line 2: key 'input_tokens' appears twice in the object"),
    (b'{"session_id": "s1", "input_tokens": NaN, "output_tokens": 1}', "line 2: "),
    (b'{"session_id": "s1", "input_tokens": Infinity, "output_tokens": 1}', "line 2: "),
    (b'{"session_id": "s1", "input_tokens": -Infinity, "output_tokens": 1}', "line 2: "),
    (b'{"session_id": "s\xff1", "input_tokens": 1, "output_tokens": 1}',
     "line 2: not UTF-8 text (byte 0xff at byte 18 of the line)"),
    (b'{"session_id": "s\xc3", "input_tokens": 1, "output_tokens": 1}', "line 2: not UTF-8 text (byte 0xc3"),
    (b'{"session_id": "s\xed\xa0\x80", "input_tokens": 1, "output_tokens": 1}', "line 2: not UTF-8 text"),
    (GOOD + b"\r" + GOOD, "line 2: not valid JSON (Extra data at column 61); a lone CR inside it: mixed line"),
    (b"\xef\xbb\xbf" + GOOD, "line 2: not valid JSON (Unexpected UTF-8 BOM"),
    (b"{", "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 1)"),
    (b"{}{}", "line 2: not valid JSON (Extra data at column 3)"),
    (b'{"session_id": "s1"', "line 2: not valid JSON"),
    (b"\x00", "line 2: not valid JSON"),
    (b'{"session_id": "s1", "x\x1b]0;title\x07": 1}', "line 2: not valid JSON (Invalid control character"),
    (b'{"session_id": "s1", "nope": 1, "input_tokens": 1, "output_tokens": 1}', "line 2: unknown column 'nope'"),
    (b'{"session_id": "s1", "input_tokens": [1], "output_tokens": 1}', "line 2: input_tokens:"),
    (b'{"session_id": "s1", "input_tokens": {"a": 1}, "output_tokens": 1}', "line 2: input_tokens:"),
    (b'{"session_id": "s1", "input_tokens": ' + DEEP + b', "output_tokens": 1}', "line 2: "),
    (b'{"session_id": "s1", "input_tokens": 1' + b"0" * 5000 + b', "output_tokens": 1}',
     "line 2: input_tokens:"),
    (b'{"session_id": "s1", "input_tokens": 1e400, "output_tokens": 1}', "line 2: input_tokens:"),
    (b'{"session_id": "s1", "input_tokens": true, "output_tokens": 1}', "line 2: input_tokens:"),
    (b'{"session_id": null, "input_tokens": 1, "output_tokens": 1}', "line 2: session_id"),
    (b'{"session_id": ["s1"], "input_tokens": 1, "output_tokens": 1}', "line 2: "),
]


@pytest.mark.parametrize("line, message", JSONL_CASES, ids=[f"case{n}" for n in range(len(JSONL_CASES))])
def test_an_odd_jsonl_line_is_exit_2_naming_its_line_and_nothing_is_written(ready, db, tmp_path, line, message):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(GOOD + b"\n" + line + b"\n" + GOOD + b"\n")
    before = snapshot(db)
    result = ready("import", "tokens", str(path))
    assert result.exit_code == 2, result.stderr
    assert one_line(result.stderr).startswith(f"sessionstats: {message}")
    assert snapshot(db) == before


def test_a_jsonl_line_longer_than_16_mib_is_refused_naming_it(ready, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(GOOD + b"\n" + b'{"session_id": "' + b"x" * (17 << 20) + b'"}\n')
    result = ready("import", "tokens", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("sessionstats: line 2: ")
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(0,)]


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbf" + GOOD + b"\n" + GOOD + b"\n",
    b"\xef\xbb\xbf" + GOOD,
    GOOD + b"\r\n" + GOOD + b"\r\n",
    GOOD + b"\n\n   \n" + GOOD,
    b"\n\n" + GOOD + b"\n" + GOOD + b"\n\n",
], ids=["bom", "bom-no-final-newline", "crlf", "blank-lines", "leading-blank-lines"])
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_a_jsonl_file_with_a_bom_crlf_or_blank_lines_is_read_like_any_other(ready, db, tmp_path, content, via):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)
    if via == "file":
        result = ready("import", "tokens", str(path))
    else:
        result = ready("import", "tokens", "-", "--format", "jsonl", input=content)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.stderr
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(content.count(GOOD),)]


def test_a_bom_jsonl_file_reports_its_bad_line_by_its_own_number(ready, db, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD + b"\n" + GOOD + b"\n[1]\n")
    result = ready("import", "tokens", str(path))
    assert one_line(result.stderr) == "sessionstats: line 3: expected a JSON object, got an array"


# ---- CSV and TSV ---------------------------------------------------------------------------------

HEADER = b"session_id,input_tokens,output_tokens"
CSV_CASES = [
    (HEADER + b"\r\ns1,1,2\ns1,1,2\r\n", "line 2: ends in LF where line 1 ends in CRLF"),
    (HEADER + b"\ns1,1,2\ns1,1,2\rs1,1,2\n", "line 3: ends in a lone CR where line 1 ends in LF"),
    (HEADER + b"\ns1,1,2\ns1\xff,1,2\n", "line 3: not UTF-8 text"),
    (HEADER + b"\ns1,1,2\ns1,1,2\xc3\n", "line 3: not UTF-8 text"),
    (b"session_id\xff,input_tokens\n", "line 1: the header is not UTF-8 text"),
    (b"\xff\xfes\x00e\x00", "line 1: the header is not UTF-8 text"),
    (b"session_id" + b"x" * 200_000 + b",input_tokens\n", "line 1: the header is longer than 64 KiB"),
    (b'"session_id,input_tokens\n', "line 1: "),
    (HEADER + b",session_id\n", "line 1: column 'session_id' appears twice"),
    (HEADER + b",\x1b]0;pwned\x07\n", "line 1: unknown column '\\x1b]0;pwned\\x07'"),
    (HEADER + b"\ns1,1,2,3\n", "line 2: expected 3 fields, found 4"),
    (HEADER + b'\ns1,1,"2\n', "line 2: a quoted value is never closed"),
    (HEADER + b"\ns1,1.5,2\n", "line 2 (row 1): input_tokens"),
    (HEADER + b"\ns1,1" + b"0" * 5000 + b",2\n", "line 2 (row 1): input_tokens"),
    (HEADER + b"\ns1,-1,2\n", "line 2 (row 1): input_tokens"),
    (HEADER + b"\ns1,NaN,2\n", "line 2 (row 1): input_tokens"),
]


@pytest.mark.parametrize("content, message", CSV_CASES, ids=[f"case{n}" for n in range(len(CSV_CASES))])
def test_an_odd_csv_file_is_exit_2_naming_its_line_and_nothing_is_written(ready, db, tmp_path, content, message):
    path = tmp_path / "rows.csv"
    path.write_bytes(content)
    before = snapshot(db)
    result = ready("import", "tokens", str(path))
    assert result.exit_code == 2, result.stderr
    assert one_line(result.stderr).startswith(f"sessionstats: {message}")
    assert snapshot(db) == before


@pytest.mark.parametrize("content, rows", [
    (b"", 0), (HEADER + b"\n", 0), (HEADER, 0), (HEADER + b"\rs1,1,2\rs1,3,4\r", 2),
    (b"\xef\xbb\xbf" + HEADER + b"\r\ns1,1,2\r\n", 1), (HEADER + b"\ns1,1,2", 1),
], ids=["empty", "header-only", "header-no-newline", "cr-only", "bom-crlf", "no-final-newline"])
def test_an_empty_or_consistently_ended_csv_file_is_read(ready, db, tmp_path, content, rows):
    path = tmp_path / "rows.csv"
    path.write_bytes(content)
    result = ready("import", "tokens", str(path))
    assert result.exit_code == 0, result.stderr
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(rows,)]


def test_a_bad_row_after_a_very_long_narrative_is_located(ready, db, tmp_path):
    """Python's csv module stops at 128 KiB fields: locating a later row must not trip on the long one."""
    path = tmp_path / "stories.csv"
    long_text = "word " * 60_000
    path.write_text(f'session_id,title,narrative,word_count\ns1,ok,"{long_text}",\ns1,,"short",\n')
    result = ready("import", "stories", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("sessionstats: line 3 (row 2): title")


# ---- fuzzing: any bytes end in exit 0 or 2, and 2 writes nothing ----------------------------------

TOKEN_KEYS = ["session_id", "input_tokens", "output_tokens", "cache_read_tokens", "model", "cost", "request_id",
              "created_at", "story_id", "unknown"]
STORY_KEYS = ["session_id", "id", "title", "narrative", "tone", "priority", "word_count", "duration", "created_at"]
odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=8), st.sampled_from(["s1", "1", "0", "1e3", "", "\t", "\n"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _record_lines(keys: list[str]) -> st.SearchStrategy[bytes]:
    records = st.dictionaries(st.sampled_from(keys), odd_values, max_size=6).map(
        lambda r: json.dumps(r).encode())
    junk = st.binary(max_size=30)
    lines = st.lists(st.one_of(records, records, junk), max_size=5)
    endings = st.sampled_from([b"\n", b"\r\n", b"\r", b""])
    return st.tuples(lines, endings, st.booleans()).map(
        lambda t: (b"\xef\xbb\xbf" if t[2] else b"") + t[1].join(t[0]))


def _csv_text(keys: list[str]) -> st.SearchStrategy[bytes]:
    header = st.lists(st.sampled_from([*keys, "", "x,y"]), min_size=1, max_size=4)
    cell = st.one_of(st.sampled_from(["s1", "1", "", '"', '"a,b"', "1.5", "\xff", "-1", "\r"]), st.text(max_size=4))
    rows = st.lists(st.lists(cell, max_size=5), max_size=4)
    return st.tuples(header, rows, st.sampled_from(["\n", "\r\n", "\r"])).map(
        lambda t: t[2].join([",".join(t[0]), *(",".join(r) for r in t[1])]).encode("utf-8", "surrogateescape"))


def _fuzz_once(cli: Cli, db, folder: Path, content: bytes, command: str, suffix: str) -> None:
    path = folder / f"fuzz{suffix}"
    path.write_bytes(content)
    before = snapshot(db)
    result = cli("import", command, str(path))
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert snapshot(db) == before


# A dozen files per test (each import opens the database: ~0.4 s); new ones every run.
FUZZ = settings(max_examples=12, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


@pytest.mark.parametrize("command, keys", [("tokens", TOKEN_KEYS), ("stories", STORY_KEYS)])
def test_fuzzed_jsonl_ends_in_exit_0_or_2_and_2_writes_nothing(ready, db, tmp_path, command, keys):
    @FUZZ
    @given(content=_record_lines(keys))
    def check(content: bytes) -> None:
        _fuzz_once(ready, db, tmp_path, content, command, ".jsonl")

    check()


@pytest.mark.parametrize("command, keys", [("tokens", TOKEN_KEYS), ("stories", STORY_KEYS)])
def test_fuzzed_csv_ends_in_exit_0_or_2_and_2_writes_nothing(ready, db, tmp_path, command, keys):
    @FUZZ
    @given(content=_csv_text(keys))
    def check(content: bytes) -> None:
        _fuzz_once(ready, db, tmp_path, content, command, ".csv")

    check()


# ---- Claude Code logs that cannot be read ----------------------------------------------------------

def _without_file_access() -> list[str] | None:
    """How to run a child that file permissions apply to: as root, drop the two capabilities that skip them."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    probe = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search", "true"], capture_output=True)
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"] if probe.returncode == 0 else None


RESTRICTED = _without_file_access()
needs_permissions = pytest.mark.skipif(RESTRICTED is None, reason="cannot run a child that permissions apply to")


def _claude_tree(root: Path) -> Path:
    from datetime import UTC, datetime

    from claude_logs import assistant_line

    line = assistant_line("s-main", "msg_1", "req_1", "claude-sonnet-4-20250514",
                          {"input_tokens": 3, "output_tokens": 4, "cache_creation_input_tokens": 0,
                           "cache_read_input_tokens": 0}, datetime(2025, 7, 1, tzinfo=UTC))
    (root / "projects" / "p1" / "s-main" / "subagents").mkdir(parents=True)
    (root / "projects" / "p1" / "s-main.jsonl").write_text(line + "\n")
    (root / "projects" / "p1" / "s-main" / "subagents" / "a.jsonl").write_text(line + "\n")
    return root


@needs_permissions
@pytest.mark.parametrize("locked, mode", [
    ("projects/p1/s-main.jsonl", 0o000), ("projects/p1/s-main/subagents/a.jsonl", 0o000),
    ("projects/p1/s-main/subagents", 0o000), ("projects/p1/s-main", 0o000), ("projects/p1", 0o000),
    ("projects/p1", 0o300), ("projects", 0o000), ("projects/p1/s-main.jsonl", 0o200),
], ids=["log", "subagent-log", "subagent-folder", "session-folder", "project", "project-unlistable",
        "projects", "log-write-only"])
def test_an_unreadable_claude_code_file_or_folder_is_one_line_naming_it(db, tmp_path, locked, mode):
    root = _claude_tree(tmp_path / "claude")
    target = root / locked
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    target.chmod(mode)
    try:
        result = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "import", "claude-code",
                                 str(root)], env=env, capture_output=True, text=True, timeout=120)
    finally:
        target.chmod(0o755)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"sessionstats: cannot read {str(target)!r} of the Claude Code logs (Permission denied)")
    assert "chmod u+r" in line
    assert table_of(db, "SELECT count(*) FROM token_usage") in ([], [(0,)])


@needs_permissions
def test_an_unsearchable_config_dir_given_by_name_is_one_line(db, tmp_path):
    root = _claude_tree(tmp_path / "claude")
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    tmp_path.joinpath("claude").chmod(0o000)
    try:
        result = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "import", "claude-code",
                                 str(root / "deeper")], env=env, capture_output=True, text=True, timeout=120)
        from_env = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "import", "claude-code"],
                                  env={**env, "CLAUDE_CONFIG_DIR": str(root)}, capture_output=True, text=True,
                                  timeout=120)
    finally:
        tmp_path.joinpath("claude").chmod(0o755)
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"sessionstats: cannot read {str(root / 'deeper')!r}")
    assert from_env.returncode == 2
    assert one_line(from_env.stderr).startswith(f"sessionstats: cannot read {str(root / 'projects')!r}")


@needs_permissions
def test_once_readable_again_the_claude_code_logs_import_whole(cli, db, tmp_path):
    root = _claude_tree(tmp_path / "claude")
    log = root / "projects" / "p1" / "s-main.jsonl"
    env = {**os.environ, "SESSIONSTATS_DB": str(db), "SESSIONSTATS_USER": "alice"}
    log.chmod(0)
    try:
        refused = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "import", "claude-code",
                                  str(root)], env=env, capture_output=True, text=True, timeout=120)
    finally:
        log.chmod(0o644)
    assert refused.returncode == 2
    assert cli("import", "claude-code", str(root)).exit_code == 0
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(1,)]


def test_an_unreadable_import_file_is_bad_input_not_a_database_error(ready, db, tmp_path, monkeypatch):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(GOOD + b"\n")
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    result = ready("import", "tokens", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"sessionstats: FILE: cannot read {str(path)!r}: Permission denied"


# ---- TSV and stories: the same rules ---------------------------------------------------------------

TSV_HEADER = b"session_id\tinput_tokens\toutput_tokens"


@pytest.mark.parametrize("content, result", [
    (b"\xef\xbb\xbf" + TSV_HEADER + b"\ns1\t1\t2\n", 1),
    (TSV_HEADER + b"\r\ns1\t1\t2\r\n", 1),
    (TSV_HEADER + b"\r\ns1\t1\t2\ns1\t1\t2\r\n", "line 2: ends in LF where line 1 ends in CRLF"),
    (TSV_HEADER + b"\ns1\t1\t2\ns1\t\xfe\t2\n", "line 3: not UTF-8 text"),
    (TSV_HEADER + b"\ns1\t1\t2\t9\n", "line 2: expected 3 fields, found 4"),
    (TSV_HEADER + b"\ns1,1,2\n", "line 2: expected 3 fields, found 1"),
], ids=["bom", "crlf", "mixed", "bad-byte", "extra-field", "commas"])
def test_tsv_follows_the_same_rules_as_csv(ready, db, tmp_path, content, result):
    path = tmp_path / "rows.tsv"
    path.write_bytes(content)
    outcome = ready("import", "tokens", str(path))
    if isinstance(result, int):
        assert outcome.exit_code == 0, outcome.stderr
        assert table_of(db, "SELECT count(*) FROM token_usage") == [(result,)]
    else:
        assert outcome.exit_code == 2
        assert one_line(outcome.stderr).startswith(f"sessionstats: {result}")


STORY = b'{"session_id": "s1", "title": "t"}'


@pytest.mark.parametrize("line, message", [
    (b'{"session_id": "s1", "title": "t", "word_count": -1}', "line 2: word_count"),
    (b'{"session_id": "s1", "title": "t", "duration": "soon"}', "line 2: duration"),
    (b'{"session_id": "s1", "title": "t", "duration": 1e999}', "line 2: duration"),
    (b'{"session_id": "s1", "title": "t", "title": "u"}', "line 2: key 'title' appears twice"),
    (b'[{"session_id": "s1", "title": "t"}]', "line 2: expected a JSON object, got an array"),
    (b'{"session_id": "s1", "title": "t", "narrative": "\xff"}', "line 2: not UTF-8 text"),
    (b"{" * 50_000 + b"}" * 50_000, "line 2: "),
], ids=["negative-words", "text-duration", "huge-duration", "duplicate-key",
        "array-of-records", "bad-byte", "nested"])
def test_an_odd_story_line_is_exit_2_naming_its_line(ready, db, tmp_path, line, message):
    path = tmp_path / "stories.jsonl"
    path.write_bytes(STORY + b"\n" + line + b"\n")
    before = snapshot(db)
    result = ready("import", "stories", str(path))
    assert result.exit_code == 2, result.stderr
    assert one_line(result.stderr).startswith(f"sessionstats: {message}")
    assert snapshot(db) == before


def test_a_narrative_that_is_not_utf8_names_the_option_and_the_offset(ready, db, tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes(b"caf\xe9 au lait")
    result = ready("record-story", "-s", "s1", "-t", "x", "--narrative-file", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr) == (f"sessionstats: --narrative-file: {str(path)!r} is not UTF-8 text "
                                       "(bad byte at offset 3)")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null", "{fifo}", "{tmp}"], ids=["zero", "null", "fifo", "dir"])
def test_an_import_of_a_device_pipe_or_folder_is_refused_without_reading_it(ready, db, tmp_path, target):
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    path = target.format(fifo=fifo, tmp=tmp_path)
    result = ready("import", "tokens", path, "--format", "jsonl")
    assert result.exit_code == 2
    assert one_line(result.stderr) == (f"sessionstats: FILE: {path!r} is not a file you can read (for a pipe or a "
                                       "device, pass - and redirect it to stdin)")
