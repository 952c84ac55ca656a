"""What a person or a script sees is safe: a full or closed stdout is one line (exit 5, never a silent
duplicate), control characters never reach a terminal, and no TSV field carries a raw tab or newline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import table_of
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sessionstats.cli import app

SESSION = "s1"

# Every command, with arguments that succeed on the module's database; each writes to stdout or not.
COMMANDS = [
    ("new", "another"),
    ("record-story", "-s", SESSION, "--title", "t"),
    ("record-tokens", "-s", SESSION, "--input", "1", "--output", "2"),
    ("show", SESSION, "--format", "table"),
    ("show", SESSION, "--format", "json"),
    ("show", SESSION, "--by", "model", "--format", "tsv"),
    ("list", "--format", "csv"),
    ("list", "--format", "table"),
    ("timeline", SESSION, "--format", "tsv"),
    ("compare", SESSION, "s2", "--format", "table"),
    ("check", SESSION, "--max-cost", "100"),
    ("reprice", "--all", "--dry-run"),
    ("start", SESSION),
    ("rename", SESSION, "renamed"),
    ("--help",),
    ("show", "--help"),
    ("import", "--help"),
    ("--version",),
    ("delete", "s2", "--yes"),
    ("export", "--to", "{tmp}/out.csv"),
    ("import", "tokens", "-", "--format", "jsonl"),
    ("import", "claude-code", "{tmp}"),
    ("init-db",),
]
WRITES_NOTHING = {"start", "rename", "check", "delete", "export", "import", "init-db"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with one session holding a story and a token record."""
    path = tmp_path_factory.mktemp("seeded") / "stats.duckdb"
    runner = CliRunner()
    for args in (("new", "first", "--id", SESSION), ("new", "second", "--id", "s2"),
                 ("record-story", "-s", SESSION, "--title", "a"),
                 ("record-tokens", "-s", SESSION, "--input", "5", "--output", "7", "--model", "claude-sonnet-4-5")):
        result = runner.invoke(app, [*args, "--db", str(path), "--user", "alice"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def database(seeded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "stats.duckdb"
    shutil.copy(seeded, copy)
    return copy


def run_shell(database: Path, redirect: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run the real CLI with stdout redirected by a shell (`>/dev/full`, `>&-`, `| head -c 1`)."""
    env = {**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice", "PYTHONUNBUFFERED": ""}
    script = f'"$@" {redirect}'
    return subprocess.run(["sh", "-c", script, "sh", sys.executable, "-m", "sessionstats", *args],
                          input=stdin, env=env, capture_output=True, timeout=60)


def token_rows(database: Path) -> int:
    return table_of(database, "SELECT count(*) FROM token_usage")[0][0]


def writes_to_stdout(args: tuple[str, ...]) -> bool:
    return "--help" in args or args[0] not in WRITES_NOTHING


@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_full_or_closed_stdout_is_one_line_and_exit_5_on_every_command(database, tmp_path, redirect, args):
    (tmp_path / "projects").mkdir()
    args = tuple(arg.replace("{tmp}", str(tmp_path)) for arg in args)
    result = run_shell(database, redirect, *args)
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    if not writes_to_stdout(args):
        assert result.returncode == 0, stderr
        return
    assert result.returncode == 5, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    reason = "No space left on device" if redirect == ">/dev/full" else "it is closed"
    assert lines[0].startswith(f"sessionstats: could not write to standard output ({reason})")


@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
def test_a_record_whose_id_cannot_be_printed_is_stored_once_and_the_line_gives_its_id(database, redirect):
    before = token_rows(database)
    result = run_shell(database, redirect, "record-tokens", "-s", SESSION, "--input", "3", "--output", "4")
    assert result.returncode == 5
    stored = table_of(database, "SELECT id FROM token_usage ORDER BY id DESC LIMIT 1")[0][0]
    assert token_rows(database) == before + 1
    assert result.stderr.decode().rstrip("\n").endswith(
        f"; token record {stored} IS stored: do not record it again")


@pytest.mark.parametrize("command, what, table", [
    (("new", "x"), "session", "sessions"),
    (("record-story", "-s", SESSION, "--title", "t"), "story", "story_history"),
])
def test_every_record_command_says_what_it_stored_when_stdout_is_full(database, command, what, table):
    result = run_shell(database, ">/dev/full", *command)
    assert result.returncode == 5
    newest = table_of(database, f"SELECT id FROM {table} ORDER BY created_at DESC, id DESC LIMIT 1")[0][0]
    assert f"; {what} {newest} IS stored" in result.stderr.decode()


def test_a_pass_through_copy_that_fails_still_records_the_paid_call_and_says_so(database):
    body = Path(__file__).parent / "fixtures" / "responses" / "anthropic_message.json"
    before = token_rows(database)
    result = run_shell(database, ">/dev/full", "record-tokens", "-s", SESSION, "--from-response", "-",
                       "--pass-through", stdin=body.read_bytes())
    assert result.returncode == 5, result.stderr
    assert token_rows(database) == before + 1
    assert "IS stored" in result.stderr.decode().splitlines()[-1]


@pytest.mark.parametrize("args", [a for a in COMMANDS if a[0] in {"show", "list", "--help", "timeline"}],
                         ids=" ".join)
def test_a_reader_that_goes_away_is_quiet_and_exit_0(database, args):
    result = run_shell(database, "| head -c 1 >/dev/null; exit ${PIPESTATUS:-0}", *args)
    assert result.returncode == 0
    assert result.stderr == b""


def test_a_broken_pipe_keeps_the_exit_status_0_of_the_command_itself(database):
    script = '"$@" | head -c 1 >/dev/null'
    env = {**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"}
    result = subprocess.run(["bash", "-c", f"{script}; exit ${{PIPESTATUS[0]}}", "bash", sys.executable, "-m",
                             "sessionstats", "show", SESSION, "--format", "json"],
                            env=env, capture_output=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, b"")


def test_a_closed_stderr_and_stdout_still_give_the_exit_code(database):
    result = run_shell(database, ">&- 2>&-", "show", "nope")
    assert result.returncode == 1


def test_a_closed_stdout_never_lets_the_database_take_its_place(database):
    """With fd 1 closed, the database file would be opened as fd 1 and `print` would write into it."""
    before = database.read_bytes()
    result = run_shell(database, ">&-", "list", "--format", "tsv")
    assert result.returncode == 5
    assert token_rows(database) == 1
    assert database.read_bytes() == before


# ---- control characters and separators in what is shown ------------------------------------------

HOSTILE = [
    "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "tab\there", "new\nline", "cr\r\nlf", "back\\tslash", "nel\x85c1",
    "csi\x9b31m", "rtl\u202eevil", "line\u2028sep", "del\x7f", "bs\x08\x08", "bell\x07", "iso\u2066x\u2069",
    "plain é 日本", "a,b\"c'",
]
INVISIBLE = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u202e", "\u2028", "\u2066", "\u2069"} - {"\n"}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Session hN is named HOSTILE[N]; its story has that tone, its token record that model."""
    path = tmp_path_factory.mktemp("hostile") / "stats.duckdb"
    runner = CliRunner()
    for number, name in enumerate(HOSTILE):
        for args in (("new", name, "--id", f"h{number}"),
                     ("record-story", "-s", f"h{number}", "--title", name, "--tone", name, "--id", f"st{number}"),
                     ("record-tokens", "-s", f"h{number}", "--input", "1", "--output", "1",
                      "--story", f"st{number}", "--cost", "0.5")):
            result = runner.invoke(app, [*args, "--db", str(path), "--user", "alice"])
            assert result.exit_code == 0, (args, result.output)
    # Every path in now refuses control characters in a model name; a database written before may hold them.
    with duckdb.connect(str(path)) as con:
        for number, name in enumerate(HOSTILE):
            con.execute("UPDATE token_usage SET model = ? WHERE session_id = ?", [name, f"h{number}"])
    return path


def show_output(db: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--db", str(db), "--user", "alice"])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode()  # not .stdout, which turns CRLF into LF


def other(number: int) -> str:
    """A second session to compare with."""
    return "h1" if number == 0 else "h0"


def tsv_unescape(field: str) -> str:
    """PostgreSQL's COPY text format, read back."""
    named = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
    out, index = [], 0
    while index < len(field):
        char = field[index]
        if char != "\\":
            out.append(char)
            index += 1
        elif field[index + 1] == "x":
            out.append(chr(int(field[index + 2:index + 4], 16)))
            index += 4
        else:
            out.append(named[field[index + 1]])
            index += 2
    return "".join(out)


def assert_nothing_invisible(text: str) -> None:
    found = sorted({hex(ord(c)) for c in text if c in INVISIBLE})
    assert not found, found


LIST_VIEWS = [("list", "--format", "table"), ("list", "--format", "table", "--fmt", "grid"),
              ("list", "--format", "table", "--fmt", "github")]
TABLE_VIEWS = [("show", "{id}", "--format", "table"),
               ("show", "{id}", "--by", "model", "--format", "table"),
               ("show", "{id}", "--by", "tone", "--by", "model", "--format", "table"),
               ("compare", "{id}", "{other}", "--format", "table"),
               ("compare", "{id}", "{other}", "--tone", "{name}", "--format", "table")]


@pytest.mark.parametrize("view", TABLE_VIEWS, ids=lambda v: " ".join(a for a in v if "{" not in a))
@pytest.mark.parametrize("number", range(len(HOSTILE)))
def test_table_output_never_carries_a_control_character(hostile_db, view, number):
    args = [a.format(id=f"h{number}", name=HOSTILE[number], other=other(number)) for a in view]
    text = show_output(hostile_db, *args)
    assert_nothing_invisible(text)


@pytest.mark.parametrize("number", [n for n, name in enumerate(HOSTILE)
                                    if any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in name)])
def test_a_model_filter_with_a_control_character_is_one_escaped_line(hostile_db, number):
    result = CliRunner().invoke(app, ["show", f"h{number}", "--model", HOSTILE[number], "--db", str(hostile_db),
                                      "--user", "alice"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("sessionstats: --model: ") and result.stderr.count("\n") == 1
    assert_nothing_invisible(result.stderr.rstrip("\n"))


@pytest.mark.parametrize("view", LIST_VIEWS, ids=" ".join)
def test_the_list_of_every_crafted_name_never_carries_a_control_character(hostile_db, view):
    from sessionstats.display.escaping import visible

    text = show_output(hostile_db, *view)
    assert_nothing_invisible(text)
    assert all(visible(name) in text for name in HOSTILE)


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json"])
def test_the_list_of_every_crafted_name_reads_back_exactly(hostile_db, fmt):
    import csv
    import io
    import json

    text = show_output(hostile_db, "list", "--format", fmt)
    if fmt == "json":
        names = [row["name"] for row in json.loads(text)]
    elif fmt == "csv":
        names = [row["name"] for row in csv.DictReader(io.StringIO(text, newline=""))]
    else:
        lines = text.split("\n")[:-1]
        header = lines[0].split("\t")
        assert all(len(line.split("\t")) == len(header) for line in lines)
        names = [tsv_unescape(line.split("\t")[header.index("name")]) for line in lines[1:]]
    assert sorted(names) == sorted(HOSTILE)


@pytest.mark.parametrize("number", range(len(HOSTILE)))
def test_a_crafted_name_is_shown_escaped_where_it_stood(hostile_db, number):
    from sessionstats.display.escaping import visible

    text = show_output(hostile_db, "show", f"h{number}", "--format", "table")
    assert visible(HOSTILE[number]) in text


@pytest.mark.parametrize("view", [("show", "{id}"), ("show", "{id}", "--by", "model"),
                                  ("show", "{id}", "--by", "tone"), ("compare", "{id}", "{other}")],
                         ids=" ".join)
@pytest.mark.parametrize("number", range(len(HOSTILE)))
def test_tsv_is_one_record_a_line_and_reads_back_exactly(hostile_db, view, number):
    args = [a.format(id=f"h{number}", other=other(number)) for a in view]
    lines = show_output(hostile_db, *args, "--format", "tsv").split("\n")
    assert lines[-1] == ""
    widths = {len(line.split("\t")) for line in lines[:-1]}
    assert len(widths) == 1, lines
    assert not any(c in "\r\x1b\x7f\x07\x08" for c in "".join(lines))  # C1 stays: it is data, not TSV's
    fields = {tsv_unescape(f) for line in lines[1:-1] for f in line.split("\t")}
    if view[0] != "compare":
        assert HOSTILE[number] in fields


@pytest.mark.parametrize("view", [("show", "{id}", "--by", "model"), ("show", "{id}", "--by", "tone")],
                         ids=" ".join)
@pytest.mark.parametrize("number", range(len(HOSTILE)))
def test_csv_quotes_and_reads_back_exactly(hostile_db, view, number):
    import csv
    import io

    args = [a.format(id=f"h{number}") for a in view]
    rows = list(csv.reader(io.StringIO(show_output(hostile_db, *args, "--format", "csv"), newline="")))
    assert len({len(row) for row in rows}) == 1
    assert HOSTILE[number] in {field for row in rows[1:] for field in row}


@pytest.mark.parametrize("view", [("show", "{id}", "--by", "model"), ("show", "{id}")], ids=" ".join)
@pytest.mark.parametrize("number", range(len(HOSTILE)))
def test_json_escapes_every_control_character_and_reads_back_exactly(hostile_db, view, number):
    import json

    args = [a.format(id=f"h{number}") for a in view]
    text = show_output(hostile_db, *args, "--format", "json")
    assert_nothing_invisible(text.replace("\n", ""))
    assert HOSTILE[number] in set(strings_in(json.loads(text)))


def strings_in(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("args", [
    ("show", "\x1b]0;pwned\x07"), ("show", "x", "--format", "\x1b]0;pwned\x07"),
    ("import", "tokens", "/tmp/\x1b]0;pwned\x07.jsonl"), ("record-tokens", "-s", "\x1b[2J", "--input", "1",
                                                          "--output", "1"),
    ("list", "--tz", "\x1b]0;pwned\x07"), ("show", "h0", "--since", "\x1b]0;x\x07"),
    ("record-story", "-s", "h0", "--title", "t", "--narrative-file", "/nonexistent/\x1b]0;x\x07"),
    ("export", "--to", "/tmp/\x1b]0;x\x07.xyz"), ("show", "h0", "--by", "\x9b31m"),
], ids=range(9))
def test_an_error_that_echoes_a_value_escapes_its_control_characters(hostile_db, args):
    result = CliRunner().invoke(app, [*args, "--db", str(hostile_db), "--user", "alice"])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert_nothing_invisible(result.stderr.rstrip("\n"))


def test_a_crafted_claude_code_project_folder_cannot_set_the_terminal_title(tmp_path):
    from datetime import UTC, datetime

    from claude_logs import assistant_line

    database = tmp_path / "stats.duckdb"
    project = tmp_path / "claude" / "projects" / "-home-\x1b]0;pwned\x07-x"
    project.mkdir(parents=True)
    line = assistant_line("cc-1", "msg_1", "req_1", "claude-sonnet-4-20250514",
                          {"input_tokens": 3, "output_tokens": 4, "cache_creation_input_tokens": 0,
                           "cache_read_input_tokens": 0}, datetime(2025, 7, 1, tzinfo=UTC))
    (project / "cc-1.jsonl").write_text(line + "\n")
    env = {**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"}
    imported = subprocess.run([sys.executable, "-m", "sessionstats", "import", "claude-code",
                               str(tmp_path / "claude")], env=env, capture_output=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    shown = subprocess.run([sys.executable, "-m", "sessionstats", "list", "--format", "table"], env=env,
                           capture_output=True, timeout=60)
    assert shown.returncode == 0
    assert b"\x1b" not in shown.stdout and b"\x07" not in shown.stdout
    assert b"\\x1b]0;pwned\\x07" in shown.stdout


# ---- export --to that cannot be written ----------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("folder", ["/proc", "/sys"])
def test_an_unwritable_export_destination_is_bad_input_naming_to(database, folder, suffix):
    target = f"{folder}/export{suffix}"
    result = subprocess.run([sys.executable, "-m", "sessionstats", "export", "--to", target],
                            env={**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"sessionstats: --to: cannot write {target!r} (")
    assert result.stderr.count("\n") == 1


def test_a_read_only_export_folder_is_bad_input_and_leaves_nothing(database, tmp_path):
    from test_bounded_readers import RESTRICTED

    if RESTRICTED is None:
        pytest.skip("cannot run a child that permissions apply to")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = subprocess.run([*RESTRICTED, sys.executable, "-m", "sessionstats", "export", "--to",
                                 str(folder / "out.csv")],
                                env={**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"},
                                capture_output=True, text=True, timeout=60)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr == f"sessionstats: --to: cannot write {str(folder / 'out.csv')!r} (Permission denied)\n"
    assert list(folder.iterdir()) == []


def test_an_export_over_an_existing_file_still_replaces_it_whole(database, tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old contents that are longer than the new ones will be, surely, by a good margin\n" * 50)
    result = subprocess.run([sys.executable, "-m", "sessionstats", "export", "--to", str(target)],
                            env={**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "old contents" not in target.read_text()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


# ---- a full or closed stderr ---------------------------------------------------------------------


@pytest.mark.parametrize("redirect", ["2>/dev/full", "2>&-"], ids=["full", "closed"])
@pytest.mark.parametrize("args, code", [
    (("show", "nope"), 1), (("record-tokens", "-s", SESSION, "--input", "x", "--output", "1"), 2),
    (("check", SESSION, "--max-cost", "0"), 3), (("list", "--format", "csv"), 0),
    (("record-tokens", "-s", SESSION, "--input", "1", "--output", "1", "--model", "no-such-model"), 0),
    (("reprice", "--all"), 0), (("delete", "s2", "--yes"), 0), (("init-db",), 0),
], ids=["not-found", "bad-input", "budget", "list", "warning", "summary", "delete", "init-db"])
def test_a_full_or_closed_stderr_keeps_the_exit_code_and_never_a_traceback(database, redirect, args, code):
    result = run_shell(database, f">/dev/null {redirect}", *args)
    assert result.returncode == code


def test_an_import_whose_summary_cannot_be_written_is_still_exit_0_and_stored(database, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"session_id": SESSION, "input_tokens": 1, "output_tokens": 1}) + "\n")
    before = token_rows(database)
    result = run_shell(database, "2>/dev/full", "import", "tokens", str(rows))
    assert result.returncode == 0
    assert token_rows(database) == before + 1


@pytest.mark.parametrize("command", ["export", "init-db"])
def test_a_summary_naming_a_crafted_path_escapes_it(database, tmp_path, command):
    crafted = tmp_path / "a\x1b]0;pwned\x07b"
    crafted.mkdir()
    if command == "export":
        args = ["export", "--to", str(crafted / "out.csv")]
    else:
        shutil.copy(database, crafted / "stats.duckdb")
        args = ["init-db", "--db", str(crafted / "stats.duckdb")]
    result = subprocess.run([sys.executable, "-m", "sessionstats", *args], capture_output=True, timeout=60,
                            env={**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"})
    assert result.returncode == 0, result.stderr
    assert b"\x1b" not in result.stderr and b"\x07" not in result.stderr
    assert b"a\\x1b]0;pwned\\x07b" in result.stderr


@pytest.mark.parametrize("fmt", ["tsv", "table", "json", "csv"])
def test_a_reader_that_leaves_a_long_listing_early_is_quiet_and_exit_0(database, tmp_path, fmt):
    """Longer than a pipe's buffer, so the write really meets EPIPE."""
    rows = tmp_path / "many.jsonl"
    rows.write_text("".join(json.dumps({"session_id": f"many-{n}", "input_tokens": 1, "output_tokens": 1}) + "\n"
                            for n in range(3000)))
    imported = CliRunner().invoke(app, ["import", "tokens", str(rows), "--create-sessions", "--db", str(database),
                                        "--user", "alice"])
    assert imported.exit_code == 0, imported.stderr
    env = {**os.environ, "SESSIONSTATS_DB": str(database), "SESSIONSTATS_USER": "alice"}
    result = subprocess.run(["bash", "-c", '"$@" | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}', "bash",
                             sys.executable, "-m", "sessionstats", "list", "--format", fmt],
                            env=env, capture_output=True, timeout=120)
    assert (result.returncode, result.stderr) == (0, b"")


@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
@pytest.mark.parametrize("fmt", ["json", "table", "tsv"])
def test_a_watch_whose_stdout_fails_stops_at_once_with_exit_5(database, redirect, fmt):
    result = run_shell(database, redirect, "show", SESSION, "--watch", "--interval", "0.5", "--format", fmt)
    assert result.returncode == 5
    assert one_line_of(result.stderr).startswith("sessionstats: could not write to standard output")


@pytest.mark.parametrize("redirect", [">&-", "| true"], ids=["closed", "reader-gone"])
def test_a_pass_through_whose_reader_is_gone_still_records_the_call(database, redirect):
    body = Path(__file__).parent / "fixtures" / "responses" / "anthropic_stream.sse"
    before = token_rows(database)
    result = run_shell(database, redirect, "record-tokens", "-s", SESSION, "--from-response", "-",
                       "--pass-through", stdin=body.read_bytes())
    assert "Traceback" not in result.stderr.decode()
    assert token_rows(database) == before + 1


def one_line_of(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# ---- the escaping rules themselves, for any text ---------------------------------------------------

@settings(deadline=None)
@given(st.text())
def test_visible_text_never_holds_a_control_character_and_leaves_the_rest_alone(text):
    from sessionstats.display.escaping import visible

    shown = visible(text)
    assert_nothing_invisible(shown.replace("\n", "\\n"))
    assert "\n" not in shown
    if not any(c in INVISIBLE or c == "\n" for c in text):
        assert shown == text


@settings(deadline=None)
@given(st.text())
def test_a_tsv_field_is_one_field_of_one_line_and_reads_back_exactly(text):
    from sessionstats.display.escaping import tsv_field

    field = tsv_field(text)
    assert not any(ord(c) < 0x20 or c == "\x7f" for c in field)
    assert tsv_unescape(field) == text


@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.text()))
def test_json_output_reads_back_exactly_and_holds_no_raw_control_character(value):
    import json

    from sessionstats.display.render import to_json

    text = to_json(value)
    assert json.loads(text) == value
    assert_nothing_invisible(text.replace("\n", ""))
