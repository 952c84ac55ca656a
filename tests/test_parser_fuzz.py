"""Fuzzing the readers of outside usage data (issue 13 rule 4): any input ends in records or InvalidInput.

Three parsers: saved API responses (`--from-response`), Claude Code log lines, llm logs.db rows. Inputs are
random JSON, documented shapes with any of their values replaced by random JSON, and raw text. Whatever
comes in, the parser returns its result or raises InvalidInput (exit 2); any other exception fails.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionstats.errors import InvalidInput
from sessionstats.ingest.claude_code import import_claude_code
from sessionstats.ingest.llm_logs import _read_responses
from sessionstats.ingest.responses import parse_response
from sessionstats.store import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["1", "1.5", "-1", "1e400", "", "fast", "flex", "batch"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON document."""
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


def _replaced(document: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return copy


@st.composite
def mutated_documents(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A documented shape with one to three of its values (or whole objects) replaced by random JSON."""
    document = draw(st.sampled_from(documents))
    for _ in range(draw(st.integers(1, 3))):
        document = _replaced(document, draw(st.sampled_from(_paths(document))), draw(json_values))
    return document


def _documents(*suffixes: str) -> list[Any]:
    return [json.loads(p.read_bytes().decode().split("\r\n\r\n", 1)[-1]) for p in sorted(FIXTURES.iterdir())
            if p.suffix in suffixes]


def _stream_events() -> list[Any]:
    events = []
    for path in sorted(FIXTURES.glob("*.sse")):
        events += [json.loads(line[5:]) for line in path.read_text().splitlines()
                   if line.startswith("data:") and line[5:].strip().startswith("{")]
    return events


RESPONSE_DOCUMENTS = _documents(".json", ".http")
STREAM_EVENTS = _stream_events()


def _parsed_or_refused(data: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse_response(data)


@SETTINGS
@given(mutated_documents(RESPONSE_DOCUMENTS))
def test_a_mutated_response_document_is_read_or_refused(document):
    _parsed_or_refused(json.dumps(document).encode())


@SETTINGS
@given(st.lists(mutated_documents(STREAM_EVENTS), min_size=1, max_size=5))
def test_a_mutated_event_stream_is_read_or_refused(events):
    _parsed_or_refused("".join(f"data: {json.dumps(e)}\n\n" for e in events).encode())


@SETTINGS
@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                 st.text(max_size=200).map(lambda t: ("HTTP/1.1 200\r\n" + t).encode())))
def test_any_bytes_are_read_or_refused(data):
    _parsed_or_refused(data)


CLAUDE_LINE = json.loads((Path(__file__).parent / "fixtures" / "claude_code_line.json").read_text())


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated_documents([CLAUDE_LINE]).map(json.dumps), st.text(max_size=40)),
                min_size=1, max_size=4))
def test_claude_code_lines_of_any_shape_are_imported_or_refused(lines):
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "claude" / "projects" / "p" / "s.jsonl"
        log.parent.mkdir(parents=True)
        log.write_text("".join(line.replace("\n", " ") + "\n" for line in lines), encoding="utf-8")
        with open_store(Path(folder) / "fuzz.duckdb", write=True) as store, contextlib.suppress(InvalidInput):
            import_claude_code(store, [str(Path(folder) / "claude")], user="alice")


LLM_SCHEMA = """CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);
CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, response TEXT, conversation_id TEXT,
    datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, token_details TEXT, resolved_model TEXT);"""
sqlite_values = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
                          st.text(max_size=20), st.binary(max_size=8),
                          mutated_documents([{"prompt_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 1}},
                                             {"cache_creation": {"ephemeral_1h_input_tokens": 3},
                                              "cache_creation_input_tokens": 3, "cache_read_input_tokens": 2},
                                             {"input_tokens_details": {"cached_tokens": 1}}]).map(json.dumps))


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(sqlite_values, sqlite_values, sqlite_values, sqlite_values, sqlite_values,
                          sqlite_values), min_size=1, max_size=4))
def test_llm_rows_of_any_type_are_read_or_refused(rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "logs.db"
        con = sqlite3.connect(path)
        con.executescript(LLM_SCHEMA)
        con.executemany("""INSERT INTO responses (id, model, conversation_id, input_tokens, output_tokens,
                           token_details, datetime_utc) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                        [(f"r{n}", *row) for n, row in enumerate(rows)])
        con.commit()
        con.close()
        try:
            found, _ = _read_responses(path)
        except InvalidInput:
            return
        for row in found:
            assert row["input_tokens"] >= 0 and row["cache_read_tokens"] >= 0
            assert isinstance(row["output_tokens"], int) and not isinstance(row["output_tokens"], Decimal)
