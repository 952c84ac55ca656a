"""Agent logs read by DuckDB: the new lines of JSON-lines files as rows, and the usage events made of them stored.

`scan_lines` is the one way lines are split, for the agents and for Claude Code's import alike.

Parsing each line in Python, checking and staging each event cost Codex 5.6 CPU s for 100k calls (ccusage:
0.6); DuckDB splits the lines and extracts only the fields named, in C++, on both cores (4.2 s in all now).
The events an agent's SQL makes of the rows go through the same rules as `agent_import.store_events`: the
shared field rules (a refused event is a malformed line), one copy per request id (the most tokens, then the
earliest, then the first read), and `write_rows`. Line order is kept: a table made from a scan keeps the
scan's order, so `rowid` counts lines.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from sessionstats.errors import InvalidInput
from sessionstats.ingest.agent_import import (
    MAX_LINE_BYTES,
    Coverage,
    SourceSummary,
    note_no_model,
    unread_parts,
    write_agent_rows,
)
from sessionstats.ingest.files.checks import time_value, whole_count
from sessionstats.ingest.log_files import Slice
from sessionstats.ingest.writing import ROW_COLUMNS, StepReporter
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list
from sessionstats.times import EARLIEST, LATEST, utc_now
from sessionstats.validate import CONTROL_CHARACTERS, EDGE_SPACES, MAX_BIGINT, MAX_ID_LENGTH, MAX_LABEL_LENGTH

# What an agent's SQL stages in `agent_events`: one row per usage event, `seq` the order the Python readers
# met them in (the first of equal copies wins).
EVENT_COLUMNS = """session_id VARCHAR, session_name VARCHAR, request_id VARCHAR, model VARCHAR, provider VARCHAR,
                   created_at TIMESTAMP, input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT DEFAULT 0,
                   cache_write_tokens BIGINT DEFAULT 0, seq BIGINT"""


def json_count(value: str) -> str:
    """A token count from its text: NULL when absent, -1 when present but not a count (12.5 is not 13)."""
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE coalesce({whole_count(value)}, -1) END"


def json_text(value: str) -> str:
    """A JSON column's value when it is a string, else NULL (a number is not a session id)."""
    return f"CASE WHEN json_type({value}) = 'VARCHAR' THEN {value}->>'$' END"


def utc_time(value: str) -> str:
    """A JSON column's time as log_values.utc_time reads it: ISO text (naive is UTC) or epoch milliseconds."""
    iso = f"{value}->>'$'"
    return _storable(f"""CASE WHEN json_type({value}) = 'VARCHAR' THEN {_utc_text(iso)}
                                     WHEN json_type({value}) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
                                       THEN try(make_timestamp(round(try_cast({iso} AS DOUBLE) * 1000)::BIGINT)) END""")


def utc_text(iso: str) -> str:
    """A text column's time as log_values.utc_time reads a text: times.ISO_TIME, naive is UTC, NULL when the
    store cannot keep it."""
    return _storable(_utc_text(iso))


def _utc_text(iso: str) -> str:
    return time_value(f"trim({iso})", naive_utc=True)


# A time the store cannot keep (times.storable: EARLIEST to LATEST) is no time. It is pressed onto one of these
# two just outside, then dropped: the time is written (and worked out) once, where `CASE WHEN t BETWEEN ... THEN
# t` wrote it twice, and the nesting of utc_time in utc_text four times (0.2 CPU s more per 100k Codex calls).
_TOO_EARLY = f"(TIMESTAMP '{EARLIEST.isoformat()}' - INTERVAL 1 MICROSECOND)"
_TOO_LATE = f"(TIMESTAMP '{LATEST.isoformat()}' + INTERVAL 1 MICROSECOND)"


def _storable(time: str) -> str:
    return f"nullif(nullif(greatest(least({time}, {_TOO_LATE}), {_TOO_EARLY}), {_TOO_LATE}), {_TOO_EARLY})"


def python_text(value: str) -> str:
    """A JSON column's value as Python's str() shows the parsed value (None for null or absent)."""
    return f"""CASE WHEN {value} IS NULL OR json_type({value}) = 'NULL' THEN 'None'
                    WHEN json_type({value}) = 'VARCHAR' THEN {value}->>'$'
                    WHEN {value}::VARCHAR = 'true' THEN 'True' WHEN {value}::VARCHAR = 'false' THEN 'False'
                    ELSE {value}::VARCHAR END"""


def count_kinds(coverage: Coverage, kinds: list[tuple[str | None, int, int]]) -> None:
    """Add (kind, lines, first line) counts: None is malformed, '' recognised, any other kind unrecognised,
    counted in the order first met (the summary names the commonest, ties in that order)."""
    for kind, lines, _ in sorted((each for each in kinds if each[1]), key=lambda each: each[2]):
        if kind is None:
            coverage.malformed += lines
        elif kind:
            coverage.unrecognised[kind] += lines


def readable_files(parts: Sequence[Slice], scratch: Path, copied: Collection[str] = ()) -> dict[str, Slice]:
    """A path DuckDB can read for each part with new bytes: the file itself when read whole (and not in `copied`),
    else a copy of its new bytes.

    DuckDB's CSV reader ends a line at a lone CR as well as at LF, so a part holding one is copied with each
    lone CR made a TAB: JSON whitespace between tokens as CR is, and as invalid as CR inside a string. Looking
    for one costs ~0.04 CPU s per 200 MB; no agent writes one, so the copy is all but never made.
    """
    readable = {}
    for number, piece in enumerate(parts):
        if piece.end <= piece.start:
            continue
        if (piece.start == 0 and piece.end == piece.size and str(piece.log.path) not in copied
                and not any(_lone_crs(piece))):
            readable[str(piece.log.path)] = piece
            continue
        copy = scratch / f"{number}.jsonl"
        with copy.open("wb") as out:
            for chunk in _lone_crs_as_tabs(piece):
                out.write(chunk)
        readable[str(copy)] = piece
    return readable


_LONE_CR = re.compile(rb"\r(?!\n)")


def _chunks(piece: Slice) -> Iterator[bytes]:
    """The part's bytes, a MiB at a time; a CR that ends a chunk is held over to the next (it may start a CRLF)."""
    held = b""
    with piece.log.path.open("rb", buffering=0) as log:
        log.seek(piece.start)
        remaining = piece.end - piece.start
        while remaining > 0 and (chunk := log.read(min(1 << 20, remaining))):
            remaining -= len(chunk)
            chunk = held + chunk
            held = b"\r" if chunk.endswith(b"\r") and remaining > 0 else b""
            yield chunk[:len(chunk) - len(held)]
    if held:
        yield held


def _lone_crs(piece: Slice) -> Iterator[bool]:
    """True for each chunk holding a lone CR (lazily: any() stops at the first)."""
    for chunk in _chunks(piece):
        yield b"\r" in chunk and _LONE_CR.search(chunk) is not None


def _lone_crs_as_tabs(piece: Slice) -> Iterator[bytes]:
    for chunk in _chunks(piece):
        yield _LONE_CR.sub(b"\t", chunk) if b"\r" in chunk else chunk


def scan_lines(store: Store, parts: Sequence[Slice], table: str, select: str) -> int:
    """The new lines of `parts` as temp table `table`: `filename` and `select` (SQL over each line's `text`) per
    line in file then line order, blank lines left out; also temp table `agent_files` (filename, path, file: the
    part's index). Return how many lines could not be read at all (not UTF-8, longer than MAX_LINE_BYTES:
    malformed).

    Lines are split by DuckDB's CSV reader, not its JSON reader: that one reads a line cut short on into the
    next and loses both, where a Python reader loses only the first. Each line is then parsed on its own.
    A file read whole that grew meanwhile (the agent writing on) is read again from a copy of the bytes that
    were new: DuckDB would have read its lines past `end`, a half-written one counted malformed.
    """
    with tempfile.TemporaryDirectory(prefix="sessionstats-lines-") as scratch:
        copied: set[str] = set()
        while True:
            try:
                readable = readable_files(parts, Path(scratch), copied)
            except OSError as error:
                raise _logs_gone(str(error)) from None
            unreadable = _scan(store, parts, readable, table, select)
            grown = {name for name, piece in readable.items() if name == str(piece.log.path)
                     and _size(piece.log.path) != piece.size}
            if not grown:
                return unreadable
            copied |= grown


def _logs_gone(reason: str) -> InvalidInput:
    """A log gone or unreadable since it was found (met by our look for lone CRs, or by DuckDB's reader)."""
    return InvalidInput(f"cannot read the logs found ({reason}): import again")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1  # gone: reading its copy says so


def _scan(store: Store, parts: Sequence[Slice], readable: Mapping[str, Slice], table: str, select: str) -> int:
    """scan_lines over the paths `readable` names; how many lines could not be read."""
    numbers = {str(part.log.path): number for number, part in enumerate(parts)}
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE agent_files AS
            SELECT {unnest_list("files", "VARCHAR")} AS filename, {unnest_list("paths", "VARCHAR")} AS path,
                   {unnest_list("numbers", "BIGINT")} AS file""",
        {"files": json_list(readable), "paths": json_list(str(p.log.path) for p in readable.values()),
         "numbers": json_list(numbers[str(p.log.path)] for p in readable.values())})
    lines = (f"""read_csv($files, columns = {{'text': 'VARCHAR'}}, header = false, delim = chr(1), quote = '',
                          escape = '', new_line = '\\n', auto_detect = false, strict_mode = false,
                          store_rejects = true, rejects_table = 'agent_rejects',
                          rejects_scan = 'agent_rejects_scan', max_line_size = {MAX_LINE_BYTES},
                          buffer_size = {2 * MAX_LINE_BYTES}, filename = true)""" if readable else
             "(SELECT NULL::VARCHAR AS text, NULL::VARCHAR AS filename WHERE false)")
    # A filter on `select` belongs in a later statement: DuckDB would push it down and parse each line twice.
    try:
        store.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
                          SELECT filename, {select} FROM {lines}
                          WHERE NOT regexp_full_match(text, e'[ \\t\\r\\x0b\\x0c]*')""",
                      {"files": list(readable)} if readable else {})
    except duckdb.IOException as error:
        raise _logs_gone(str(error).splitlines()[0]) from None
    if not readable:
        return 0
    unreadable = int(store.fetchone("SELECT count(*) FROM agent_rejects")[0])  # type: ignore[index]
    store.execute("DROP TABLE agent_rejects")
    store.execute("DROP TABLE agent_rejects_scan")
    return unreadable


def unique_keys(text: str, objects: Sequence[str], marker: str) -> str:
    """SQL: no object at the JSON paths `objects` of `text` names a key twice (true for text that is no JSON).

    Which of two values of one key counts is anyone's guess (DuckDB takes the first, Python and JavaScript the
    last), so such a line is malformed, as a JSON Lines import refuses it; log_values.parse_json does the same.
    Only lines holding `marker` (the key of a usage record) are looked at: parsing every line again cost Codex
    +20% CPU, most of it on replies that carry no usage. A small object is checked by each key's first place
    (no hash table per object: 0.27 CPU s less per 100k Codex calls), a big one by its distinct keys (linear).
    """
    keys = f"try(json_keys({text}, {[*objects]}))"
    return (f"(NOT contains({text}, '{marker}') OR coalesce(list_bool_and(list_transform({keys}, "
            f"k -> k IS NULL OR CASE WHEN len(k) <= {_FEW_KEYS} "
            "THEN list_bool_and(list_transform(k, (key, i) -> list_position(k, key) = i)) "
            "ELSE len(k) = list_unique(k) END)), true))")


_FEW_KEYS = 32  # up to this many keys an object is checked pairwise, quicker than hashing them


def stage_new_lines(store: Store, files: Sequence[Path], fields: Mapping[str, str], objects: tuple[Sequence[str], str],
                    *, user: str, source: str, step: StepReporter,
                    texts: Mapping[str, str] | None = None) -> tuple[list[Slice], Coverage]:
    """What `files` gained since the last import of `source`, its lines staged as `agent_lines` (stage_lines),
    and the coverage so far (files found and read, lines, malformed)."""
    parts = unread_parts(store, user, source, files)
    coverage = Coverage(files_found=len(files), files_read=sum(part.end > part.start for part in parts))
    step("reading")
    coverage.lines, coverage.malformed = stage_lines(store, parts, fields, objects, texts)
    return parts, coverage


def stage_lines(store: Store, parts: Sequence[Slice], fields: Mapping[str, str],
                objects: tuple[Sequence[str], str], texts: Mapping[str, str] | None = None) -> tuple[int, int]:
    """The new lines of `parts` as temp view `agent_lines` (drop_lines drops it); return how many lines (blank
    ones are not counted) and how many of them could not be read at all (malformed).

    Columns: `file` (the part's index), `path`, `line` (file order, then line order), `parsed` (the line is
    JSON, and names no key twice in the objects `objects` gives to unique_keys), `is_object`, `j` (the line as a
    struct of the paths named), each of `fields` (name: JSON path) as JSON and each of `texts` as
    json_extract_string reads it (a string's value, else the JSON), NULL when absent. A view, not a table: its
    readers take a few of its columns once or twice (a table of all of them cost Codex 0.14 CPU s). Each line is
    parsed once, into a struct of just those paths (json_extract of a list of paths cost Codex 0.15 CPU s more
    per 100k calls, and a JSON object taken out whole had to be parsed again).
    """
    texts = texts or {}
    shape = json_shape({**{path: "JSON" for path in fields.values()}, **{path: "VARCHAR" for path in texts.values()}})
    unreadable = scan_lines(store, parts, "agent_scan", f"""CASE WHEN {unique_keys("text", *objects)}
                                                                 THEN try(from_json(text, '{shape}'))
                                                            END AS j,
                                                            starts_with(ltrim(text, e' \\t\\r\\n'), '{{') AS brace""")
    named = "".join(f", s.j.{_member(path)} AS {_quoted(name)}" for name, path in [*fields.items(), *texts.items()])
    store.execute(f"""CREATE OR REPLACE TEMP VIEW agent_lines AS
                      SELECT f.file, f.path, s.rowid AS line, s.j IS NOT NULL AS parsed,
                             s.j IS NOT NULL AND s.brace AS is_object, s.j{named}
                      FROM agent_scan s JOIN agent_files f USING (filename)""")
    return int(store.fetchone("SELECT count(*) FROM agent_scan")[0]) + unreadable, unreadable  # type: ignore[index]


def json_shape(leaves: Mapping[str, str]) -> str:
    """from_json's structure (SQL-quoted) for JSON paths (`$.a.b`, `$."$set"`) and their leaves' types."""
    root: dict[str, Any] = {}
    for path, kind in leaves.items():
        *inner, last = _keys(path)
        node = root
        for key in inner:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"{path}: a path runs through another path's value")
        if last in node:
            raise ValueError(f"{path}: named twice, or a value holding another path")
        node[last] = kind
    return json.dumps(root).replace("'", "''")


def _keys(path: str) -> list[str]:
    """`$.a."$b".c` as ['a', '$b', 'c']."""
    return [key[1:-1] if key.startswith('"') else key for key in re.findall(r'"[^"]*"|[^.]+', path.removeprefix("$."))]


def _member(path: str) -> str:
    """The struct member a JSON path names: `$.a."$b"` as `"a"."$b"`."""
    return ".".join(_quoted(key) for key in _keys(path))


def drop_lines(store: Store) -> None:
    """Drop `agent_lines` (stage_lines) and the scan it shows."""
    store.execute("DROP VIEW agent_lines")
    store.execute("DROP TABLE agent_scan")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def new_events_table(store: Store) -> None:
    store.execute(f"CREATE OR REPLACE TEMP TABLE agent_events ({EVENT_COLUMNS})")


# The rules agent_import.checked_events applies: check_id for the session, check_label for the name (dropped when
# too long), the id rule for a model that is not blank, agent_import.request_key for the request id (a longer
# one is its prefix and SHA-256). After control characters are refused, Python's strip() takes exactly the
# \p{Z} spaces from the ends; blank is what str.strip() empties.
def _blank(value: str) -> str:
    return f"regexp_full_match({value}, '[\\s\\p{{Z}}\\x{{0B}}\\x{{1C}}-\\x{{1F}}\\x{{85}}]*')"


_NAME = f"CASE WHEN length(session_name) <= {MAX_LABEL_LENGTH} AND NOT {_blank('session_name')} THEN session_name END"
_MODEL = f"CASE WHEN NOT {_blank('model')} THEN model END"
_SESSION = f"regexp_replace(session_id, '{EDGE_SPACES}', '', 'g')"
# Summed as HUGEINT: each count fits a BIGINT, yet their sum (the stored total_tokens) may not.
_TOTAL = "(input_tokens::HUGEINT + output_tokens + cache_read_tokens + cache_write_tokens)"
def request_key(column: str) -> str:
    """SQL for agent_import.request_key on a request id an import made: a longer one than an id may be is its
    prefix and SHA-256."""
    return (f"CASE WHEN length({column}) > {MAX_ID_LENGTH} "
            f"THEN left(split_part({column}, ':', 1), 40) || ':sha256:' || sha256({column}) ELSE {column} END")


def label_refused(column: str) -> str:
    """SQL: a text the store's label rule (validate.check_label) refuses: over 1,000 characters, or a NUL."""
    return f"coalesce(length({column}) > {MAX_LABEL_LENGTH} OR contains({column}, chr(0)), false)"


def model_refused(column: str) -> str:
    """SQL: a model the store's id rule refuses (a control character, over 200 characters without its edge
    spaces); a blank one is no model, not a refused one."""
    return f"""(regexp_matches(coalesce({column}, ''), '{CONTROL_CHARACTERS}')
                OR coalesce(length(regexp_replace({column}, '{EDGE_SPACES}', '', 'g')), 0) > {MAX_ID_LENGTH})"""


_IDS_REFUSED = f"""(regexp_matches(session_id, '{CONTROL_CHARACTERS}') OR coalesce({_SESSION}, '') = ''
    OR length({_SESSION}) > {MAX_ID_LENGTH} OR contains(coalesce({_NAME}, ''), chr(0)) OR {model_refused(_MODEL)})"""
_SAME_IDS = " AND ".join(f"e.{name} IS NOT DISTINCT FROM i.{name}" for name in ("session_id", "session_name", "model"))


def store_staged(store: Store, *, user: str, source: str, coverage: Coverage, step: StepReporter,
                 parts: Sequence[Slice]) -> SourceSummary:
    """Store `agent_events` as `agent_import.store_events` stores its events, and remember what was read."""
    now = utc_now()
    # The id rules once per distinct session, name and model, not per event (0.1 CPU s less per 100k Codex calls).
    store.execute(f"""CREATE OR REPLACE TEMP TABLE agent_ids AS
                      SELECT session_id, session_name, model, {_IDS_REFUSED} AS refused, {_SESSION} AS clean_session,
                             {_NAME} AS clean_name, {_MODEL} AS clean_model
                      FROM (SELECT DISTINCT session_id, session_name, model FROM agent_events)""")
    store.execute(f"""CREATE OR REPLACE TEMP TABLE agent_events AS
                      SELECT e.* REPLACE (i.clean_session AS session_id, i.clean_name AS session_name,
                                          i.clean_model AS model),
                             i.refused OR regexp_matches(e.request_id, '{CONTROL_CHARACTERS}')
                               OR {_TOTAL} > {MAX_BIGINT} AS refused
                      FROM agent_events e JOIN agent_ids i ON {_SAME_IDS}""")
    store.execute("DROP TABLE agent_ids")
    refused, good, calls = store.fetchone(  # type: ignore[misc]
        """SELECT count(*) FILTER (WHERE refused), count(*) FILTER (WHERE NOT refused),
                  count(DISTINCT request_id) FILTER (WHERE NOT refused) FROM agent_events""")
    coverage.malformed += refused
    coverage.malformed_events += refused
    store.execute(f"CREATE OR REPLACE TEMP TABLE history_rows ({ROW_COLUMNS})")
    store.execute(
        f"""INSERT INTO history_rows BY NAME
            SELECT * EXCLUDE (seq, refused) REPLACE (coalesce(created_at, $now) AS created_at),
                   created_at IS NOT NULL AS timed FROM (
                SELECT * REPLACE ({request_key("request_id")} AS request_id)
                FROM agent_events WHERE NOT refused
                QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY {_TOTAL} DESC,
                                           created_at ASC NULLS LAST, seq) = 1)""", {"now": now})
    note_no_model(coverage, store.fetchone("SELECT count(*) FROM history_rows WHERE model IS NULL")[0])  # type: ignore[index]
    store.execute("DROP TABLE agent_events")
    written = write_agent_rows(store, user=user, source=source, now=now, step=step, coverage=coverage, parts=parts)
    return SourceSummary(source, coverage, written, good - calls)
