"""Hostile and broken input across every command, beyond tests/test_errors.py's cases.

Each case gets its documented exit code, one line on stderr naming the problem, no traceback, and
leaves the database (and the folder around it) exactly as it was.
"""

import json

import pytest
from conftest import Cli, execute_in, replace, snapshot, table_of

from sessionstats.cli import app

TOKENS = ("record-tokens", "-s", "s", "--input", "1", "--output", "1")
STORY = ("record-story", "-s", "s", "--title", "t")
LONG = "x" * 10_000
BAD_UTF8 = "caf\udce9"  # how Python hands over the argv byte 0xE9 that is not UTF-8


BAD_INPUTS = [
    # token counts: huge, fractional, empty, summing past BIGINT
    (replace(TOKENS, "--input", str(2**64)), "--input", 2),
    (replace(TOKENS, "--output", "9" * 30), "--output", 2),
    (replace(TOKENS, "--cache-read", str(2**63)), "--cache-read", 2),
    ([*replace(TOKENS, "--input", str(2**62)), "--output", str(2**62), "--cache-read", str(2**62)],
     "add up to more than 9223372036854775807", 2),
    (replace(TOKENS, "--input", "1e3"), "--input", 2),
    (replace(TOKENS, "--input", ""), "--input", 2),
    # costs
    (replace(TOKENS, "--cost", "1e30"), "--cost", 2),
    (replace(TOKENS, "--cost", "0x10"), "--cost", 2),
    (replace(TOKENS, "--cost", "1,5"), "--cost", 2),
    (replace(TOKENS, "--cost", ""), "--cost", 2),
    (replace(TOKENS, "--cost", "sNaN"), "--cost", 2),
    # ids and labels: 10,000 characters, NUL, invalid UTF-8
    (replace(TOKENS, "--story", LONG), "--story", 2),
    (replace(TOKENS, "--request-id", LONG), "--request-id", 2),
    (replace(TOKENS, "--model", "m" * 1_001), "--model", 2),
    (replace(TOKENS, "--model", BAD_UTF8), "--model", 2),
    (replace(TOKENS, "-s", "s\x00"), "--session", 2),
    (replace(TOKENS, "-s", BAD_UTF8), "--session", 2),
    (replace(TOKENS, "--at", ""), "--at", 2),
    (replace(TOKENS, "--at", "2026-02-30"), "--at", 2),
    (replace(TOKENS, "--at", "25:00"), "--at", 2),
    ([*TOKENS, "--user", ""], "--user", 2),
    ([*TOKENS, "--user", LONG], "--user", 2),
    ([*TOKENS, "--user", "al\x00ice"], "--user", 2),
    (replace(STORY, "--title", LONG), "--title", 2),
    (replace(STORY, "--title", BAD_UTF8), "--title", 2),
    (replace(STORY, "--tone", "calm\x00"), "--tone", 2),
    (replace(STORY, "--priority", "p" * 1_001), "--priority", 2),
    (replace(STORY, "--narrative", BAD_UTF8), "--narrative", 2),
    (replace(STORY, "--word-count", str(2**64)), "--word-count", 2),
    (replace(STORY, "--word-count", "1.5"), "--word-count", 2),
    (replace(STORY, "--duration", "inf"), "--duration", 2),
    (replace(STORY, "--duration", "1e400"), "--duration", 2),
    (replace(STORY, "--duration", "soon"), "--duration", 2),
    (replace(STORY, "--id", LONG), "--id", 2),
    (replace(STORY, "--id", ""), "--id", 2),
    (replace(STORY, "--narrative-file", "{nul_file}"), "--narrative: contains a NUL byte", 2),
    (replace(STORY, "--narrative-file", "{folder}"), "--narrative-file", 2),
    (replace(STORY, "--narrative-file", "story\x00.txt"), "--narrative-file: contains a NUL byte", 2),
    (("list", "--db", "stats\x00.duckdb"), "--db: contains a NUL byte", 2),
    # sessions
    (("new", "name\x00"), "NAME", 2),
    (("new", "n" * 1_001), "NAME", 2),
    (("new", "--id", LONG), "--id", 2),
    (("new", "--id", BAD_UTF8), "--id", 2),
    (("new", "--setting", "voice=\x00"), "--setting", 2),
    (("new", "--setting", "=alloy"), "--setting", 2),
    (("start", "s", "--at", "tomorrowish"), "--at", 2),
    (("start", LONG), "SESSION", 2),
    (("end", "s"), "start it first", 2),
    (("end", "missing"), "'missing' not found", 1),
    (("rename", "s", "r" * 1_001), "NAME", 2),
    (("rename", "s", "a\x00b"), "NAME", 2),
    (("rename", "missing", "n"), "'missing' not found", 1),
    (("delete", "missing", "--yes"), "'missing' not found", 1),
    (("delete", "", "--yes"), "SESSION", 2),
    # reports
    (("show", LONG), "SESSION", 2),
    (("show", "s\x00"), "SESSION", 2),
    (("show", "s", "--tz", "Not/AZone"), "--tz", 2),
    (("list", "--sort", "total_cost; DROP TABLE sessions"), "--sort", 2),
    (("list", "--limit", "ten"), "--limit", 2),
    (("list", "--format", "yaml"), "--format", 2),
]

BAD_ENVIRONMENTS = [
    (TOKENS, {"SESSIONSTATS_LOCK_TIMEOUT": "nan"}, "SESSIONSTATS_LOCK_TIMEOUT", 2),
    (("list",), {"SESSIONSTATS_LOCK_TIMEOUT": "-1"}, "SESSIONSTATS_LOCK_TIMEOUT", 2),
    (("new", "x"), {"SESSIONSTATS_LOCK_TIMEOUT": "1e999"}, "SESSIONSTATS_LOCK_TIMEOUT", 2),
    (("show", "s"), {"SESSIONSTATS_FORMAT": "xml"}, "SESSIONSTATS_FORMAT", 2),
    (TOKENS, {"SESSIONSTATS_TZ": "Atlantis/Capital"}, "--tz", 2),
    (("record-tokens", "--input", "1", "--output", "1"), {"SESSIONSTATS_SESSION": "x" * 10_000}, "--session", 2),
]


@pytest.fixture
def prepared(cli, tmp_path):
    """Session `s` with a story, a file holding a NUL byte, a folder; and the state to compare against."""
    cli.ok("new", "--id", "s")
    cli.ok("record-story", "-s", "s", "--title", "existing")
    (tmp_path / "nul.txt").write_bytes(b"one\x00two")
    (tmp_path / "folder").mkdir()
    return cli, {"{nul_file}": str(tmp_path / "nul.txt"), "{folder}": str(tmp_path / "folder")}


def assert_refused(result, code: int, named: str) -> None:
    assert result.exit_code == code, (result.stderr, result.exception)
    assert result.stdout == ""
    assert result.stderr.startswith("sessionstats: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "named", "code"), BAD_INPUTS,
                         ids=[repr(" ".join(a))[1:50] for a, _, _ in BAD_INPUTS])
def test_bad_input_fails_with_one_line_and_writes_nothing(prepared, args, named, code):
    cli, paths = prepared
    args = [paths.get(arg, arg) for arg in args]
    own = [option for option in ("--db", "--user") if option in args]
    if own:  # the fixture's own --db and --user would come last and win
        args += [arg for option, value in (("--db", str(cli.db)), ("--user", cli.user)) if option not in own
                 for arg in (option, value)]
    before = snapshot(cli.db)
    result = cli.runner.invoke(app, args, input="") if own else cli(*args, input="")
    assert_refused(result, code, named)
    assert snapshot(cli.db) == before


@pytest.mark.parametrize(("args", "env", "named", "code"), BAD_ENVIRONMENTS,
                         ids=[f"{a[0]} {next(iter(e))}" for a, e, _, _ in BAD_ENVIRONMENTS])
def test_bad_environment_fails_with_one_line_and_writes_nothing(prepared, args, env, named, code):
    cli, _ = prepared
    before = snapshot(cli.db)
    assert_refused(cli(*args, env=env), code, named)
    assert snapshot(cli.db) == before


def test_invalid_utf8_on_stdin_is_refused(prepared):
    cli, _ = prepared
    before = snapshot(cli.db)
    result = cli.runner.invoke(app, [*STORY, "--narrative-file", "-", "--db", str(cli.db), "--user", "alice"],
                               input=b"caf\xe9 \xff")
    assert_refused(result, 2, "'-' is not UTF-8 text (bad byte at offset 3)")
    assert snapshot(cli.db) == before


# ---- databases that cannot be used: exit 4, and the file and its folder stay exactly as they were ----

EVERY_COMMAND = [("list",), ("show", "s"), ("new", "--id", "n"), TOKENS, STORY, ("start", "s"),
                 ("rename", "s", "n"), ("delete", "s", "--yes")]


def text_file(db):
    db.write_text("just some notes\n" * 100)


def random_bytes(db):
    db.write_bytes(bytes(range(256)) * 64)


def truncated_database(db):
    Cli(db).ok("new", "--id", "s")
    whole = db.read_bytes()
    db.write_bytes(whole[: len(whole) // 3])


def newer_schema(db):
    Cli(db).ok("new", "--id", "s")
    execute_in(db, "INSERT INTO schema_migrations VALUES (999, 'm999_future', now()::TIMESTAMP)")


BROKEN_DATABASES = [
    (text_file, "cannot use the database at"),
    (random_bytes, "cannot use the database at"),
    (truncated_database, "is corrupt"),
    (newer_schema, "written by a newer sessionstats (schema 999"),
]


def folder_state(folder) -> dict[str, bytes]:
    """Every file's bytes, leaving out the (empty, owner-only) lock file the command may have made."""
    state = {path.name: path.read_bytes() for path in sorted(folder.iterdir())}
    for name in [n for n in state if n.endswith(".lock")]:
        assert state.pop(name) == b""
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    return state


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=[a[0] for a in EVERY_COMMAND])
@pytest.mark.parametrize(("breaks", "named"), BROKEN_DATABASES, ids=[b.__name__ for b, _ in BROKEN_DATABASES])
def test_an_unusable_database_is_refused_and_left_untouched(tmp_path, breaks, named, args):
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "stats.duckdb"
    breaks(db)
    before = folder_state(folder)
    result = Cli(db)(*args)
    assert_refused(result, 4, named)
    assert folder_state(folder) == before


UNREACHABLE_PATHS = [
    ("{tmp}/missing/stats.duckdb", "its folder does not exist"),
    ("{tmp}/plain-file/stats.duckdb", "a part of its path is a file, not a folder"),
    ("/sys/kernel/sessionstats-test.duckdb", "permission denied"),  # read-only even for root
    ("/proc/sessionstats-test.duckdb", "no file can be created there"),
]


@pytest.mark.parametrize("args", [("list",), ("new", "--id", "n"), (*TOKENS, "--create")],
                         ids=["list", "new", "record-tokens"])
@pytest.mark.parametrize(("path", "named"), UNREACHABLE_PATHS, ids=[n for _, n in UNREACHABLE_PATHS])
def test_a_db_path_that_cannot_be_created_is_refused(tmp_path, path, named, args):
    (tmp_path / "plain-file").write_text("not a folder")
    db = path.replace("{tmp}", str(tmp_path))
    result = Cli(db)(*args)
    if args == ("list",) and path.startswith(("/sys", "/proc")):  # a read of no database makes none: nothing to list
        assert (result.exit_code, result.stdout.count("\n")) == (0, 1)  # the header alone
        assert result.stderr == (f"sessionstats: warning: there is no database at {db} yet "
                                 "(a command that records makes it)\n")
        return
    assert_refused(result, 4, named)
    assert result.stderr.startswith((f"sessionstats: cannot open the database at {db}: ",
                                     f"sessionstats: cannot use the database at {db}: "))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain-file"]


# ---- strings that look like SQL or placeholders are data, stored and shown back verbatim ----

HOSTILE = [
    "x'; DROP TABLE token_usage; --",
    'Robert"); DROP TABLE sessions;--',
    "? $1 :name %s {}",
    "%_\\'\\\"",
    "naïve 名前 🚀 \u202eRTL",
    "\t leading and trailing spaces \n",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_sql_looking_text_is_stored_and_shown_back_verbatim(cli, db, text):
    user = text.strip().replace("\u202e", "")[:200]  # an id holds no invisible format character (validate.py)
    person = cli.as_user(user)
    session = person.ok("new", text, "--setting", f"note={text}").strip()
    person.ok("rename", session, text)
    story = person.ok("record-story", "-s", session, "--title", text, "--tone", text, "--priority", text,
                      "--narrative", text, "--id", user).strip()
    person.ok("record-tokens", "-s", session, "--input", "1", "--output", "1", "--model", user,
              "--request-id", user, "--story", user)
    shown = person.json("show", session)
    assert (shown["name"], shown["story_count"], shown["api_calls"]) == (text, 1, 1)
    assert story == user
    assert table_of(db, "SELECT user_id, name, json_extract_string(settings, '$.note') FROM sessions") == [
        (user, text, text)]
    assert table_of(db, "SELECT title, tone, priority, narrative FROM story_history") == [(text, text, text, text)]
    # a model name is an id (no control characters), stored lower-cased so one model is one model
    assert table_of(db, "SELECT model, request_id, story_id FROM token_usage") == [(user.lower(), user, user)]
    assert [row["name"] for row in json.loads(person.ok("list", "--format", "json"))] == [text]
    tables = {name for (name,) in table_of(db, "SELECT table_name FROM information_schema.tables")}
    assert {"sessions", "story_history", "token_usage", "schema_migrations"} <= tables  # nothing was dropped
