"""How the Claude Code import (and every agent reader) splits a log into lines: one bad line is one malformed line.

A crash can leave a line cut short anywhere (after a colon, a comma, inside a string); a disk or a sync tool
can leave a NUL or a bad byte; Windows tools write CRLF. Whatever one line holds, the lines around it are
read and stored exactly, the bad line is counted once, and a last line without its newline is left whole
for the next import. DuckDB's JSON reader read a line cut after a colon on into the next one and lost both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from claude_logs import assistant_line
from conftest import table_of
from test_agent_hostile import SOURCES as AGENTS

from sessionstats.ingest.agent_import import MAX_LINE_BYTES

AT = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
LOG = "projects/-home-me-app/s1.jsonl"


def claude_line(count: int) -> bytes:
    """An assistant message of `count` input tokens and one output token, its ids made from the count."""
    usage = {"input_tokens": count, "output_tokens": 1, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0}
    return assistant_line("s1", f"msg_{count}", f"req_{count}", "claude-sonnet-4-20250514", usage, AT).encode()


def agent_line(source: str) -> Callable[[int], bytes]:
    """A usage line of an agent's log (test_agent_hostile's shapes), compact as the agents write them."""
    return lambda count: json.dumps(AGENTS[source][1](count), separators=(",", ":")).encode()


# Where each source's log lives under its root, and a good usage line of `count` input tokens.
SOURCES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "claude-code": (LOG, claude_line),
    **{source: (AGENTS[source][0], agent_line(source)) for source in sorted(AGENTS)},
}


def cut_after(marker: bytes, extra: int = 0) -> Callable[[bytes], bytes]:
    """The line cut short just after the last `marker` in it (plus `extra` bytes)."""
    return lambda line: line[: line.rindex(marker) + len(marker) + extra]


# Each turns a good line (of a call never stored) into a bad one.
HOSTILE: dict[str, Callable[[bytes], bytes]] = {
    "cut after a colon": cut_after(b'":'),
    "cut after a colon before an object": lambda line: line[: line.rindex(b'":{') + 2],
    "cut after a comma": cut_after(b","),
    "cut inside a string": cut_after(b'":"', 2),
    "only an opening brace": lambda line: b"{",
    "an unclosed array": lambda line: b"[",
    "a NUL byte between fields": lambda line: line.replace(b",", b",\x00", 1),
    "a NUL byte inside a string": lambda line: line.replace(b'":"', b'":"\x00', 1),
    "a lone NUL byte": lambda line: b"\x00",
    "invalid UTF-8 inside a string": lambda line: line.replace(b'":"', b'":"\xff\xfe', 1),
    "invalid UTF-8 alone": lambda line: b"\xc3\x28",
    "two objects on one line": lambda line: line + line,
    "a raw CR inside a string": lambda line: line.replace(b'":"', b'":"\r', 1),  # JSON escapes it: not one line
    "a raw CR and an unclosed string": lambda line: line[: line.rindex(b'":"') + 3] + b"\r",
}


def malformed(stderr: str) -> int:
    """The malformed-line count an import's summary gives (none named: 0)."""
    found = re.search(r"([\d,]+) malformed lines skipped", stderr)
    return int(found.group(1).replace(",", "")) if found else 0


def imported(stderr: str) -> int:
    found = re.search(r"imported ([\d,]+) token records", stderr)
    assert found, stderr
    return int(found.group(1).replace(",", ""))


def inputs(cli) -> list[int]:
    return [row[0] for row in table_of(cli.db, "SELECT input_tokens FROM token_usage ORDER BY 1")]


def write_log(root: Path, source: str, lines: list[bytes], end: bytes = b"\n") -> Path:
    path = root / SOURCES[source][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + end for line in lines))
    return path


def run_import(cli, source: str, root: Path):
    result = cli("import", source, str(root))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


# The split happens in DuckDB before anything is stored, the same on both backends: the file alone is enough.
@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_one_bad_line_between_good_ones_is_one_malformed_line_and_every_good_line_is_stored(
        cli, tmp_path: Path, source: str, hostile: str) -> None:
    good = SOURCES[source][1]
    write_log(tmp_path, source, [good(40), HOSTILE[hostile](good(99)), good(41), good(42)])
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (3, 1)
    assert inputs(cli) == [40, 41, 42]


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_kind_of_bad_line_in_one_log_is_counted_once_each(cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    lines = [good(40)]
    for number, name in enumerate(sorted(HOSTILE)):
        lines += [HOSTILE[name](good(100 + number)), good(41 + number)]
    write_log(tmp_path, source, lines)
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (len(HOSTILE) + 1, len(HOSTILE))
    assert inputs(cli) == list(range(40, 41 + len(HOSTILE)))


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_log_written_with_crlf_endings_is_read_whole(cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    write_log(tmp_path, source, [good(40), b"", good(41), good(42)], end=b"\r\n")
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (3, 0)
    assert inputs(cli) == [40, 41, 42]


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_raw_carriage_return_between_json_tokens_keeps_its_line_whole(cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    write_log(tmp_path, source, [good(40), good(41).replace(b",", b",\r", 1)])  # CR is JSON whitespace
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (2, 0)


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_raw_carriage_return_in_lines_appended_since_the_last_import_keeps_them_whole(
        cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    path = write_log(tmp_path, source, [good(40)])
    assert imported(run_import(cli, source, tmp_path).stderr) == 1
    with path.open("ab") as log:  # read from the middle: the new bytes are copied, lone CRs and all
        log.write(good(41).replace(b",", b",\r", 2) + b"\n" + good(42) + b"\r\n")
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (2, 0)
    assert inputs(cli) == [40, 41, 42]


@pytest.mark.file_only
@pytest.mark.parametrize("source", ["claude-code", "codex"])
def test_a_crlf_split_by_the_mebibyte_the_reader_looks_at_is_still_a_line_end(cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    padded = b" " * ((1 << 20) + 1 - len(good(40)) - 2) + good(40)  # its CR is the MiB's last byte, its LF the next
    write_log(tmp_path, source, [padded, good(41)], end=b"\r\n")
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (2, 0)


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_blank_and_whitespace_lines_are_neither_records_nor_malformed(cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    write_log(tmp_path, source, [b"", good(40), b"   ", b"\t\r", good(41), b"\x0b\x0c"])
    result = run_import(cli, source, tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (2, 0)


@pytest.mark.file_only
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_line_cut_after_a_colon_and_still_being_written_is_read_once_it_ends(
        cli, tmp_path: Path, source: str) -> None:
    good = SOURCES[source][1]
    path = write_log(tmp_path, source, [good(40)])
    last = good(41)
    cut = len(HOSTILE["cut after a colon before an object"](last))
    with path.open("ab") as log:
        log.write(last[:cut])  # the agent is writing it: no newline yet
    first = run_import(cli, source, tmp_path)
    assert (imported(first.stderr), malformed(first.stderr)) == (1, 0)
    with path.open("ab") as log:
        log.write(last[cut:] + b"\n" + good(42) + b"\n")
    second = run_import(cli, source, tmp_path)
    assert (imported(second.stderr), malformed(second.stderr)) == (2, 0)
    assert inputs(cli) == [40, 41, 42]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_log_imported_twice_then_appended_to_counts_each_line_once(cli, tmp_path: Path, source: str) -> None:
    good, bad = SOURCES[source][1], HOSTILE["cut after a colon"]
    path = write_log(tmp_path, source, [good(40), bad(good(90)), good(41)])
    first = run_import(cli, source, tmp_path)
    assert (imported(first.stderr), malformed(first.stderr)) == (2, 1)
    stored = table_of(cli.db, "SELECT * FROM token_usage ORDER BY input_tokens")
    again = run_import(cli, source, tmp_path)
    assert (imported(again.stderr), malformed(again.stderr)) == (0, 0)
    assert table_of(cli.db, "SELECT * FROM token_usage ORDER BY input_tokens") == stored
    with path.open("ab") as log:  # a crash cut the next line, then the agent went on
        log.write(b"".join(line + b"\n" for line in [good(42), bad(good(91)), bad(good(92)), good(43)]))
    appended = run_import(cli, source, tmp_path)
    assert (imported(appended.stderr), malformed(appended.stderr)) == (2, 2)
    assert inputs(cli) == [40, 41, 42, 43]
    last = run_import(cli, source, tmp_path)
    assert (imported(last.stderr), malformed(last.stderr)) == (0, 0)


@pytest.mark.file_only
def test_a_long_claude_code_line_is_stored_and_one_over_the_cap_is_one_malformed_line(
        cli, tmp_path: Path) -> None:
    long = claude_line(41).replace(b'"text":"', b'"text":"' + b"x" * (8 << 20), 1)  # a pasted image's size
    over = claude_line(99).replace(b'"text":"', b'"text":"' + b"y" * MAX_LINE_BYTES, 1)
    write_log(tmp_path, "claude-code", [claude_line(40), long, over, claude_line(42)])
    result = run_import(cli, "claude-code", tmp_path)
    assert (imported(result.stderr), malformed(result.stderr)) == (3, 1)
    assert inputs(cli) == [40, 41, 42]
