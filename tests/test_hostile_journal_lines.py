"""A journal line of any shape is set aside with its reason and the write goes on: a line nested 100,000 deep was
a RecursionError traceback on every later write, so the database took no record until the journal was removed."""

from __future__ import annotations

import json

import pytest
from conftest import table_of

from sessionstats.ingest.journal import journal_path

pytestmark = pytest.mark.file_only  # the journal of a file database sits beside it

ODD_LINES = [(b"[" * 100_000 + b"]" * 100_000, "not a journal record: its JSON nests too deeply"),
             (b'"text"', "not a journal record: string indices must be integers, not 'str'"),
             (b'{"kind": 5}', "not a journal record: 5")]


@pytest.mark.parametrize(("line", "reason"), ODD_LINES, ids=["deep", "text", "kind"])
def test_an_odd_journal_line_is_set_aside_and_the_next_write_is_stored(run_process, db, line, reason):
    assert run_process("new", "--id", "s").returncode == 0
    journal_path(db).write_bytes(line + b"\n")
    result = run_process("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--cost", "0")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(1,)]
    rejected = journal_path(db).with_name(journal_path(db).name + ".rejected").read_text().splitlines()
    assert [json.loads(entry)["reason"] for entry in rejected] == [reason]
    assert journal_path(db).read_bytes() == b""


def test_a_journal_line_longer_than_any_record_is_set_aside_cut_and_the_records_after_it_are_stored(run_process, db):
    """The fold reads the journal a line at a time: a 70 MiB line (no record's is over 32 MiB) is never loaded
    whole (a journal kept through a long outage was read whole), and the record after it is stored."""
    from sessionstats.ingest.journal import JournalEntry, append
    from sessionstats.ingest.records import TokenUsageInput, prepare_usage

    assert run_process("new", "--id", "friday").returncode == 0
    journal_path(db).write_bytes(b'{"id": "' + b"x" * (70 << 20) + b'"}\n')
    append(db, JournalEntry("0193a000-0000-7000-8000-000000000009", "tokens", "alice",
                            prepare_usage(TokenUsageInput("friday", 5, 6, cost=None))))
    result = run_process("record-story", "-s", "friday", "--title", "a write")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert table_of(db, "SELECT id, input_tokens, output_tokens FROM token_usage") == \
        [("0193a000-0000-7000-8000-000000000009", 5, 6)]
    rejected = journal_path(db).with_name(journal_path(db).name + ".rejected").read_bytes()
    assert rejected.count(b"\n") == 1 and b"not a journal record" in rejected
    assert len(rejected) < (65 << 20)
    assert journal_path(db).read_bytes() == b""
