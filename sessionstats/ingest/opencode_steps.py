"""OpenCode's messages read by DuckDB: the steps they bill staged as `agent_events`, as opencode's Python reader
read them message by message (its rules: log_values' stated_cost and utc_time, a key named twice, copies).

Parsing each message in Python (a Decimal per number, a hook per object) and building an event per step cost
1.5 of the 2.5 CPU s of a first import of 100k steps. The rows read go to DuckDB in one statement; each data is
parsed once into just the fields read, and the staged steps are stored by json_lines.store_staged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from sessionstats.ingest.agent_import import Coverage
from sessionstats.ingest.json_lines import (
    count_kinds,
    json_count,
    json_shape,
    json_text,
    new_events_table,
    python_text,
    unique_keys,
    utc_text,
)
from sessionstats.ingest.log_values import known_provider, parse_object
from sessionstats.store import Store
from sessionstats.store.list_params import json_list, unnest_list
from sessionstats.validate import COST_PLACES, MAX_BIGINT, MAX_COST

# The types of OpenCode's v2 messages (packages/core/src/session-message.ts); only an assistant's has tokens.
V2_TYPES = ("agent-switched", "model-switched", "user", "synthetic", "shell", "assistant", "compaction")


@dataclass
class MessagesRead:
    """The rows read, in reading order, as columns for DuckDB: each database's messages, then the legacy copies.

    A row's database is its index in `names` (each database's session names, as known when it was read: a
    later database names a session anew), -1 for a legacy copy. `v2` is a v2 message's type as text (None for
    table `message`); an id or session id that is no text is None, data that is no text '': malformed.
    """

    ids: list[str | None] = field(default_factory=list)
    session_ids: list[str | None] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    v2: list[str | None] = field(default_factory=list)
    databases: list[int] = field(default_factory=list)
    names: list[dict[str, str | None]] = field(default_factory=list)
    children: set[str] = field(default_factory=set)  # the sessions with a parent, as the last database read says
    checked: bool = False  # a v2 message or a legacy copy was read: each may be a copy of a step read before it

    def start_database(self, names: dict[str, str | None]) -> None:
        """The rows added next are a new database's, whose sessions have these names."""
        self.names.append(names)

    def add(self, rows: list[tuple[object, object, object, object]], v2: bool) -> None:
        ids, session_ids, texts, types = zip(*rows, strict=True) if rows else ((), (), (), ())
        self.ids += [value if type(value) is str else None for value in ids]
        self.session_ids += [value if type(value) is str else None for value in session_ids]
        self.texts += [value if type(value) is str else _json_text(value) for value in texts]
        self.v2 += [None if kind is None else str(kind) for kind in types] if v2 else [None] * len(rows)
        self.checked = self.checked or (v2 and any(kind is not None for kind in types))
        self.databases += [len(self.names) - 1] * len(rows)

    def add_legacy(self, message_id: str, session_id: str, text: str) -> None:
        self.ids.append(message_id)
        self.session_ids.append(session_id)
        self.texts.append(text)
        self.v2.append(None)
        self.databases.append(-1)
        self.checked = True


def _json_text(value: object) -> str:
    """A column's bytes as JSON text, decoded as json.loads decodes bytes; '' (no JSON) for any other type, or
    bytes that do not decode (or hold half a surrogate pair: no text DuckDB can take)."""
    if not isinstance(value, bytes):
        return ""
    try:
        text = value.decode(json.detect_encoding(value), "surrogatepass")
        text.encode()
    except ValueError:  # UnicodeError is one
        return ""
    return text


# The fields read from a message's data (a count as text, for json_count), and the objects of them in which a
# key named twice makes the message malformed.
_SHAPE = json_shape({"$.role": "JSON", "$.modelID": "JSON", "$.providerID": "JSON", "$.model.id": "JSON",
                     "$.model.providerID": "JSON", "$.cost": "JSON", "$.time.created": "JSON",
                     "$.tokens.input": "VARCHAR", "$.tokens.output": "VARCHAR", "$.tokens.reasoning": "VARCHAR",
                     "$.tokens.cache.read": "VARCHAR", "$.tokens.cache.write": "VARCHAR"})
_OBJECTS = ("$", "$.time", "$.tokens", "$.tokens.cache", "$.model")
_COUNTS = {"c_input": "j.tokens.input", "c_output": "j.tokens.output", "c_reasoning": "j.tokens.reasoning",
           "c_read": "j.tokens.cache.read", "c_write": "j.tokens.cache.write"}
_KNOWN_V2 = f"v2 IN {V2_TYPES}"
# A v2 message's type is its role (a known one other than assistant's is a user's) and its model is `model`.
_ROLE = f"""CASE WHEN v2 IS NULL THEN {python_text("j.role")} WHEN {_KNOWN_V2} AND v2 <> 'assistant' THEN 'user'
                 ELSE v2 END"""
_MALFORMED = f"bad OR NOT is_object OR (role = 'assistant' AND least({', '.join(_COUNTS)}) < 0)"


def stage_steps(store: Store, read: MessagesRead, coverage: Coverage) -> None:
    """Stage `agent_events` (with each step's reported cost) from the rows read, and count what was seen."""
    _stage_rows(store, read)
    _refuse_what_python_refuses(store)
    store.execute(f"""CREATE OR REPLACE TEMP TABLE opencode_steps AS
                      SELECT *, {_COPY if read.checked else "false"} AS copy FROM ({_STEPS})""")
    store.execute("DROP TABLE opencode_rows")
    _count(store, coverage)
    store.execute(f"""CREATE OR REPLACE TEMP TABLE opencode_events AS {_EVENTS}""")
    store.execute("DROP TABLE opencode_steps")
    _stage_providers(store)
    _note(store, coverage)
    _stage_events(store, coverage)
    for table in ("opencode_events", "opencode_names", "opencode_providers", "opencode_children"):
        store.execute(f"DROP TABLE {table}")


def _count(store: Store, coverage: Coverage) -> None:
    """Count the messages read: steps billed and copies set aside (events), malformed, unrecognised roles."""
    kinds = store.fetchall(f"""SELECT CASE WHEN copy THEN 'copy' WHEN {_MALFORMED} THEN NULL
                                           WHEN role IN ('user', 'assistant') THEN '' ELSE left(role, 40) END,
                                      count(*), min(seq), count(*) FILTER (WHERE billed)
                               FROM opencode_steps GROUP BY 1""")
    copies = sum(lines for kind, lines, _, _ in kinds if kind == "copy")
    coverage.copies_dropped += copies
    coverage.events += copies + sum(billed for kind, _, _, billed in kinds if kind == "")
    count_kinds(coverage, [(kind, lines, first) for kind, lines, first, _ in kinds if kind != "copy"])


def _stage_events(store: Store, coverage: Coverage) -> None:
    """`agent_events` of `opencode_events`, named and with their providers as the price data knows them."""
    # Output and reasoning each fit, yet their sum may not: a total the field rules refuse, as they do.
    too_big = store.fetchone(f"SELECT count(*) FROM opencode_events WHERE output > {MAX_BIGINT}")[0]  # type: ignore[index]
    coverage.malformed += too_big
    coverage.malformed_events += too_big
    new_events_table(store)
    store.execute("ALTER TABLE agent_events ADD COLUMN reported_cost DECIMAL(38, 18)")
    store.execute(f"""INSERT INTO agent_events BY NAME
                      SELECT e.session_id, n.name AS session_name, 'opencode:' || e.message_id AS request_id,
                             e.model, p.known AS provider, e.created_at, e.c_input AS input_tokens,
                             e.output::BIGINT AS output_tokens, e.c_read AS cache_read_tokens,
                             e.c_write AS cache_write_tokens, e.seq, e.reported AS reported_cost
                      FROM opencode_events e LEFT JOIN opencode_names n ON n.db = e.db AND n.session_id = e.session_id
                      LEFT JOIN opencode_providers p ON p.provider = e.provider
                      WHERE e.output <= {MAX_BIGINT}""")


def _stage_rows(store: Store, read: MessagesRead) -> None:
    """`opencode_rows` (a row per message read, in reading order), `opencode_names` (db, session_id, name) and
    `opencode_children` (the child sessions the last database read names)."""
    # Columns of one value (no v2 message, one database) are that value: 0.03 CPU s less per 100k than a list.
    databases = set(read.databases)
    database = unnest_list("databases", "BIGINT") if len(databases) > 1 else f"{min(databases, default=0)}::BIGINT"
    store.execute(f"""CREATE OR REPLACE TEMP TABLE opencode_rows AS
                      SELECT {unnest_list("ids", "VARCHAR")} AS message_id,
                             {unnest_list("sessions", "VARCHAR")} AS session_id,
                             unnest(string_split($texts, chr({ord(_BETWEEN)}))) AS data,
                             {unnest_list("v2", "VARCHAR") if read.checked else "NULL::VARCHAR"} AS v2,
                             {database} AS db""",
                  # json.dumps, not json_list: these hold no datetime, and its look at each value cost 0.07 CPU s
                  {"ids": json.dumps(read.ids), "sessions": json.dumps(read.session_ids), "texts": _joined(read.texts),
                   **({"v2": json.dumps(read.v2)} if read.checked else {}),
                   **({"databases": json.dumps(read.databases)} if len(databases) > 1 else {})})
    named = [(db, sid, name) for db, names in enumerate(read.names) for sid, name in names.items()]
    store.execute(f"""CREATE OR REPLACE TEMP TABLE opencode_names AS
                      SELECT {unnest_list("dbs", "BIGINT")} AS db, {unnest_list("sessions", "VARCHAR")} AS session_id,
                             {unnest_list("names", "VARCHAR")} AS name""",
                  {"dbs": json_list(db for db, _, _ in named), "sessions": json_list(sid for _, sid, _ in named),
                   "names": json_list(name for _, _, name in named)})
    store.execute(f"CREATE OR REPLACE TEMP TABLE opencode_children AS SELECT {unnest_list('ids', 'VARCHAR')} AS id",
                  {"ids": json_list(read.children)})


# DuckDB's JSON reader also takes a trailing comma, and nan or inf spelt any way, which Python's refuses: a text
# that may hold one (rare) is judged by log_values.parse_json, the rule (the look costs 0.05 CPU s per 100k).
_LENIENT = r"""regexp_matches(data, ',\s*[\]}]|[:,\[]\s*-?([iI]|[nN][aA])')"""


def _refuse_what_python_refuses(store: Store) -> None:
    """Make '' (no JSON: malformed) of each text in `opencode_rows` that Python's JSON reader refuses."""
    maybe = store.fetchall(f"SELECT rowid, data FROM opencode_rows WHERE {_LENIENT}")
    refused = [row for row, data in maybe if parse_object(data, parse_float=Decimal) is None]
    if refused:
        store.execute(f"UPDATE opencode_rows SET data = '' WHERE rowid IN (SELECT {unnest_list('rows', 'BIGINT')})",
                      {"rows": json.dumps(refused)})


# The texts go to DuckDB joined by a character no JSON text holds (a control character; 0.12 CPU s less than a JSON
# list of them per 100k): a text that holds one is no JSON, and goes as '', malformed all the same.
_BETWEEN = "\x1e"


def _joined(texts: list[str]) -> str | None:
    if not texts:
        return None  # no rows, where '' would be one
    joined = _BETWEEN.join(texts)
    if joined.count(_BETWEEN) == len(texts) - 1:
        return joined
    return _BETWEEN.join("" if _BETWEEN in text else text for text in texts)


# Each row parsed once (into just the fields read), its role and counts, and whether it bills a step (ignoring
# copies): an assistant's message of counts that are all counts, not all zero.
_STEPS = f"""
    SELECT *, is_object AND NOT bad AND role = 'assistant' AND least({', '.join(_COUNTS)}) >= 0
              AND greatest({', '.join(_COUNTS)}) > 0 AS billed
    FROM (SELECT seq, db, v2, message_id, session_id, data, j, message_id IS NULL OR session_id IS NULL AS bad,
                 j IS NOT NULL AND starts_with(ltrim(data, e' \\t\\r\\n'), '{{') AS is_object, {_ROLE} AS role,
                 {", ".join(f"coalesce({json_count(path)}, 0) AS {name}" for name, path in _COUNTS.items())}
          FROM (SELECT rowid AS seq, *, CASE WHEN {unique_keys("data", _OBJECTS, '"')}
                                             THEN try(from_json(data, '{_SHAPE}')) END AS j
                FROM opencode_rows))"""
# A v2 message (its data read) or a legacy copy (even one that is no JSON) whose id an earlier row billed is a copy
# of that row's step: counted once, as a copy set aside.
_COPY = """(db < 0 OR (v2 IS NOT NULL AND NOT bad AND is_object))
           AND seq > min(seq) FILTER (WHERE billed) OVER (PARTITION BY message_id)"""
# A number's digits as the data has them (a JSON reader gives a double's shortest form: 0.0100 would be 0.01):
# the first `"cost":` of the text that holds the value read (one in an object inside may come first). `places`
# are its decimal places (a sum of Decimals shows as many as its longest), `stated` what stated_cost makes of it.
_DIGITS = """'"cost"\\s*:\\s*(-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?)'"""
_WRITTEN = f"regexp_extract(data, {_DIGITS}, 1)"
_READ_COST = "try_cast(cost::VARCHAR AS DOUBLE)"
_COST_TEXT = f"""CASE WHEN json_type(cost) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
                     THEN CASE WHEN try_cast(written AS DOUBLE) = {_READ_COST} THEN written
                               ELSE coalesce(list_filter(regexp_extract_all(data, {_DIGITS}, 1),
                                                         x -> try_cast(x AS DOUBLE) = {_READ_COST})[1],
                                             cost::VARCHAR) END END"""
_PLACES = """length(split_part(split_part(lower(cost_text), 'e', 1), '.', 2))
             - coalesce(try_cast(split_part(lower(cost_text), 'e', 2) AS INTEGER), 0)"""
# Above 0 and under MAX_COST; a tail past 18 places rounded half to even (`fine` holds it, `rounded` is its cast,
# which rounds half away from zero: a tie it rounded up to an odd last digit goes down).
_LAST_PLACE, _HALF_PAST_IT = f"0.{'0' * (COST_PLACES - 1)}1", f"0.{'0' * COST_PLACES}5"
_STATED = f"""CASE WHEN places <= {COST_PLACES} THEN CASE WHEN exact > 0 AND exact < {MAX_COST} THEN exact END
                   WHEN fine > 0 AND fine < {MAX_COST}
                     THEN nullif(CASE WHEN rounded - fine = {_HALF_PAST_IT}
                                           AND right(rounded::VARCHAR, 1) IN ('1', '3', '5', '7', '9')
                                      THEN rounded - {_LAST_PLACE} ELSE rounded END, 0) END"""
# log_values.utc_time of epoch milliseconds: Python's datetime.fromtimestamp(ms / 1000) to the microsecond,
# its fraction rounded half to even; only a JSON integer (OpenCode's own data reads other numbers as Decimals).
_SECONDS = "(try_cast(j.time.created::VARCHAR AS DOUBLE) / 1000)"
_MICROS = (f"try(trunc({_SECONDS})::BIGINT * 1000000 "
           f"+ round_even(({_SECONDS} - trunc({_SECONDS})) * 1000000, 0)::BIGINT)")
_CREATED = f"""CASE json_type(j.time.created) WHEN 'VARCHAR' THEN {utc_text("j.time.created->>'$'")}
                    WHEN 'BIGINT' THEN micros WHEN 'UBIGINT' THEN micros END"""
_PYTHON_MICROS = "BETWEEN -62135596800000000 AND 253402300799999999"  # datetime's years 1 to 9999
# The last read of each step billed (a copy set aside), with its model, provider, counts and cost as written.
_STEP_FIELDS = f"""
    SELECT seq, db, message_id, session_id, data, j, c_input, c_output::HUGEINT + c_reasoning AS output, c_read,
           c_write, j.cost AS cost,
           CASE WHEN json_type(j.cost) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN {_WRITTEN} END AS written,
           {json_text(f"CASE WHEN {_KNOWN_V2} THEN j.model.id ELSE j.modelID END")} AS model,
           {json_text(f"CASE WHEN {_KNOWN_V2} THEN j.model.providerID ELSE j.providerID END")} AS provider
    FROM opencode_steps WHERE billed AND NOT copy
    QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY seq DESC) = 1"""
_EVENTS = f"""
    SELECT seq, db, message_id, session_id, model, provider, c_input, output, c_read, c_write, {_STATED} AS reported,
           least(places, {COST_PLACES}) AS places, {_CREATED.replace("micros", "make_timestamp(micros)")} AS created_at
    FROM (SELECT *, fine::DECIMAL(38, {COST_PLACES}) AS rounded
          FROM (SELECT *, try_cast(cost_text AS DECIMAL(38, {COST_PLACES})) AS exact,
                       CASE WHEN places > {COST_PLACES} THEN try_cast(cost_text AS DECIMAL(38, {COST_PLACES + 10})) END
                         AS fine, CASE WHEN {_MICROS} {_PYTHON_MICROS} THEN {_MICROS} END AS micros
                FROM (SELECT *, {_PLACES} AS places
                      FROM (SELECT *, {_COST_TEXT} AS cost_text FROM ({_STEP_FIELDS})))))"""


def _stage_providers(store: Store) -> None:
    """`opencode_providers`: each provider named, with the one the price data knows it as (known_provider)."""
    named = [row[0] for row in store.fetchall("SELECT DISTINCT provider FROM opencode_events WHERE provider <> ''")]
    store.execute(f"""CREATE OR REPLACE TEMP TABLE opencode_providers AS
                      SELECT {unnest_list("named", "VARCHAR")} AS provider,
                             {unnest_list("known", "VARCHAR")} AS known""",
                  {"named": json_list(named), "known": json_list(known_provider(name) for name in named)})


def _note(store: Store, coverage: Coverage) -> None:
    """Say what OpenCode reported itself and where child sessions went (of the steps read, refused ones too)."""
    total, reported, places, children = store.fetchone(  # type: ignore[misc]
        """SELECT sum(reported), count(reported), max(places) FILTER (WHERE reported IS NOT NULL),
                  count(DISTINCT session_id) FILTER (WHERE session_id IN (SELECT id FROM opencode_children))
           FROM opencode_events""")
    if reported:
        shown = Decimal(total).quantize(Decimal(1).scaleb(-max(0, places)))  # as a sum of the Decimals read shows
        coverage.notes.append(f"OpenCode stated its own cost, ${shown}, for {reported:,} of these "
                              "calls: stored as their reported cost (the others are estimated)")
    if children:
        coverage.notes.append(f"{children:,} child (subagent) sessions are stored as their own sessions, "
                              "each named '<directory> (subagent of <parent session id>)'")
