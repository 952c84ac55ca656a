"""Gemini CLI's `.jsonl` recordings read by DuckDB, as gemini_cli's Python reader read them line by line.

A line is a message (re-appended whenever it changes: the last copy with tokens wins, in the place of the
first), `{"$set": ...}` (metadata, and messages of its own), `{"$rewindTo": id}` (kept: the calls were
billed) or metadata. The session id and name in force at a message are the last metadata lines' before it
(window functions), starting from what the file's first line set when only new bytes are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sessionstats.ingest.agent_import import Coverage
from sessionstats.ingest.json_lines import count_kinds, drop_lines, json_text, python_text, stage_lines, utc_time
from sessionstats.ingest.log_files import Slice
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list

MESSAGE_TYPES = ("user", "gemini", "info", "error", "warning")
_FIELDS = {"session": "$.sessionId", "directories": "$.directories", "id": "$.id", "type": "$.type",
           "tokens": "$.tokens", "model": "$.model", "timestamp": "$.timestamp", "rewind": '$."$rewindTo"',
           "set": '$."$set"'}
_MESSAGE = ["$.id", "$.type", "$.tokens", "$.model", "$.timestamp"]
# The objects whose fields make a reply: a key named twice in one makes the line malformed.
_OBJECTS = (("$", "$.tokens", '$."$set"'), '"tokens"')
_BRANCH = """CASE WHEN NOT is_object THEN 'malformed' WHEN rewind IS NOT NULL THEN 'rewind'
                  WHEN json_type("set") = 'OBJECT' THEN 'set' WHEN id IS NOT NULL THEN 'message'
                  WHEN session IS NOT NULL THEN 'metadata' ELSE 'unknown' END"""
_UNKNOWN_LINE = "(no id, $set, $rewindTo or sessionId)"


def _first_directory(directories: str) -> str:
    return (f"CASE WHEN json_type({directories}) = 'ARRAY' AND json_type({directories}->'$[0]') = 'VARCHAR' "
            f"THEN {directories}->>'$[0]' END")


def stage_recordings(store: Store, parts: Sequence[Slice], places: Sequence[int],
                     starts: Sequence[tuple[str, str | None]], tokens_sql: str, coverage: Coverage) -> None:
    """`gemini_events`: each recording's replies (last copy with tokens), `place` its part's place, `seq` its order.

    `starts`: each part's session id and name before its new lines; `tokens_sql`: gemini_tokens_sql over `tokens`.
    """
    lines, unreadable = stage_lines(store, parts, _FIELDS, _OBJECTS)
    coverage.lines += lines
    coverage.malformed += unreadable
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE gemini_context AS
            SELECT {unnest_list("files", "BIGINT")} AS file, {unnest_list("places", "BIGINT")} AS place,
                   {unnest_list("sessions", "VARCHAR")} AS start_session,
                   {unnest_list("names", "VARCHAR")} AS start_name""",
        {"files": json_list(range(len(parts))), "places": json_list(places),
         "sessions": json_list(s for s, _ in starts), "names": json_list(n for _, n in starts)})
    store.execute(f"""CREATE OR REPLACE TEMP TABLE gemini_lines AS
        SELECT *, coalesce(last_value(meta_session IGNORE NULLS) OVER w, start_session) AS session_id,
               coalesce(last_value(meta_name IGNORE NULLS) OVER w, start_name) AS session_name
        FROM (SELECT l.*, c.place, c.start_session, c.start_name,
                     nullif({json_text("meta")}, '') AS meta_session,
                     {_first_directory("meta_directories")} AS meta_name
              FROM (SELECT *, CASE branch WHEN 'set' THEN json_extract("set", '$.sessionId')
                                          WHEN 'metadata' THEN session END AS meta,
                              CASE branch WHEN 'set' THEN json_extract("set", '$.directories')
                                          WHEN 'metadata' THEN directories END AS meta_directories
                    FROM (SELECT *, {_BRANCH} AS branch FROM agent_lines)) l JOIN gemini_context c USING (file))
        WINDOW w AS (PARTITION BY file ORDER BY line)""")
    drop_lines(store)
    _stage_messages(store, tokens_sql, coverage)


def _stage_messages(store: Store, tokens_sql: str, coverage: Coverage) -> None:
    """Every message (a line's own, or one of a $set's), counted; `gemini_events` the replies with tokens."""
    store.execute(f"""CREATE OR REPLACE TEMP TABLE gemini_messages AS
        SELECT *, {json_text("type")} AS kind FROM (
            SELECT place, line, 0 AS sub, session_id, session_name, true AS is_object, id, type, tokens, model,
                   timestamp FROM gemini_lines WHERE branch = 'message'
            UNION ALL
            SELECT place, line, sub, session_id, session_name, json_type(element) = 'OBJECT',
                   m[1], m[2], m[3], m[4], m[5]
            FROM (SELECT *, json_extract(element, {_MESSAGE}) AS m
                  FROM (SELECT place, line, session_id, session_name, unnest(elements) AS element,
                               generate_subscripts(elements, 1) AS sub
                        FROM (SELECT *, json_extract("set", '$.messages[*]') AS elements
                              FROM gemini_lines WHERE branch = 'set'))))""")
    kinds = store.fetchall(f"""
        SELECT CASE WHEN branch = 'malformed' THEN NULL ELSE '{_UNKNOWN_LINE}' END, count(*), min(line)
        FROM gemini_lines WHERE branch IN ('malformed', 'unknown') GROUP BY 1
        UNION ALL  -- `messages` of a $set that is an object or a text: Python went through its keys or letters
        SELECT NULL, sum(CASE json_type(listed) WHEN 'OBJECT' THEN len(json_keys(listed))
                                                WHEN 'VARCHAR' THEN length(listed->>'$') END), min(line)
        FROM (SELECT line, json_extract("set", '$.messages') AS listed FROM gemini_lines WHERE branch = 'set')
        WHERE json_type(listed) IN ('OBJECT', 'VARCHAR')
        UNION ALL
        SELECT CASE WHEN NOT is_object OR json_type(id) IS DISTINCT FROM 'VARCHAR' THEN NULL
                    WHEN kind IN {MESSAGE_TYPES} THEN '' ELSE left({python_text("type")}, 40) END, count(*), min(line)
        FROM gemini_messages GROUP BY 1""")
    store.execute("DROP TABLE gemini_lines")
    count_kinds(coverage, kinds)
    store.execute(f"""CREATE OR REPLACE TEMP TABLE gemini_replies AS
        SELECT *, id->>'$' AS message_id, {tokens_sql} FROM gemini_messages
        WHERE is_object AND json_type(id) = 'VARCHAR' AND kind = 'gemini' AND json_type(tokens) = 'OBJECT'""")
    store.execute("DROP TABLE gemini_messages")
    bad, replies = store.fetchone(  # type: ignore[misc]
        """SELECT count(*) FILTER (WHERE bad), count(DISTINCT (place, message_id)) FILTER (WHERE NOT bad)
           FROM gemini_replies""")
    coverage.malformed += bad
    coverage.events += replies
    # The last copy of a reply wins, in the place of its first.
    store.execute(f"""CREATE OR REPLACE TEMP TABLE gemini_events AS
        SELECT place, first_seen AS seq, session_id, session_name, 'gemini:' || session_id || ':' || message_id
                 AS request_id,
               {json_text("model")} AS model, {utc_time("timestamp")} AS created_at, uncached_input AS input_tokens,
               output AS output_tokens, cache_read AS cache_read_tokens
        FROM (SELECT *, min(line * 1048576 + sub) OVER (PARTITION BY place, message_id) AS first_seen
              FROM gemini_replies WHERE NOT bad
              QUALIFY row_number() OVER (PARTITION BY place, message_id ORDER BY line DESC, sub DESC) = 1)""")
    store.execute("DROP TABLE gemini_replies")
