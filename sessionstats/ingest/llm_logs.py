"""Import the llm tool's logs database: a session per conversation or thread, a token record per response.

SQLite is read with Python's sqlite3 (DuckDB's sqlite extension is not available offline) and the rows go to
DuckDB as column lists in one statement. Responses come from the legacy `responses` table and from llm 0.32's
`turns` table, whose id is the response id; every response's id is its request id (`llm:<id>`), so a response
logged in both tables is stored once and running again stores only responses not stored before. llm stores
input as the provider reports it: OpenAI counts cache reads and writes inside the input (Chat Completions'
`prompt_tokens_details`, the Responses API's `input_tokens_details`), Gemini its cached tokens, Anthropic none
of them (its `cache_creation` split gives the 1-hour writes); all come from `token_details`. A count or time
of the wrong type is bad input naming the response, never a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.ingest.writing import ROW_COLUMNS, StepReporter, Written, write_rows
from sessionstats.store import Store
from sessionstats.times import utc_now
from sessionstats.validate import check_count

SOURCE = "llm"


@dataclass(frozen=True)
class LlmResult:
    """What an llm import did: `skipped` responses were stored already; `no_usage` carry no token counts."""

    responses: int
    skipped: int
    no_usage: int
    written: Written


def default_logs_path() -> Path:
    """Where `llm logs path` points: $LLM_USER_PATH/logs.db, else llm's config directory."""
    folder = os.environ.get("LLM_USER_PATH")
    if folder:
        return Path(folder).expanduser() / "logs.db"
    from platformdirs import user_config_path

    try:
        return user_config_path("io.datasette.llm", appauthor=False) / "logs.db"
    except RuntimeError:  # no home to find it under (HOME unset and no passwd entry)
        raise InvalidInput("no home directory to find llm's logs.db under: name the file, or set "
                           "LLM_USER_PATH") from None


def import_llm(store: Store, path: Path | None, *, user: str, on_step: StepReporter | None = None) -> LlmResult:
    """Import the responses of the llm logs database at `path` (default: llm's own) not imported before."""
    step = on_step or (lambda _: None)
    now = utc_now()
    database = path or default_logs_path()
    step("reading")
    rows, no_usage = _read_responses(database)
    _stage(store, rows)
    before = len(rows)
    store.execute("""DELETE FROM history_rows WHERE request_id IN (
                       SELECT request_id FROM token_usage WHERE user_id = $user AND request_id LIKE 'llm:%')""",
                  {"user": user})
    remaining = store.fetchone("SELECT count(*) FROM history_rows")[0]  # type: ignore[index]
    written = write_rows(store, user=user, source=SOURCE, now=now, step=step)
    return LlmResult(before, before - int(remaining), no_usage, written)


def _read_responses(database: Path) -> tuple[list[dict[str, Any]], int]:
    """Every response with token counts, from the legacy and the new tables, once each; and how many had none."""
    if not database.is_file():
        raise InvalidInput(f"PATH: {str(database)!r} is not an llm logs database (run `llm logs path`)")
    try:
        con = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise InvalidInput(f"PATH: cannot open {str(database)!r}: {error}") from None
    try:
        legacy, turns = _legacy_responses(con), _turns(con)
    except sqlite3.Error as error:
        raise InvalidInput(f"PATH: cannot read {str(database)!r}: {error}") from None
    finally:
        con.close()
    if legacy is None and turns is None:
        raise InvalidInput(f"PATH: {str(database)!r} has no llm responses or turns table with token counts "
                           "(llm 0.19 or later logs them)")
    found = _one_per_response([*(legacy or []), *(turns or [])])
    rows = [_token_row(*row) for row in found if _has_usage(row)]
    return rows, len(found) - len(rows)


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[0] for row in con.execute("SELECT name FROM pragma_table_info(?)", (table,))}


def _legacy_responses(con: sqlite3.Connection) -> list[tuple] | None:
    """The `responses` table llm wrote before 0.32 (None if it is missing or has no token counts)."""
    columns = _columns(con, "responses")
    if not {"id", "model", "conversation_id", "input_tokens", "output_tokens", "datetime_utc"} <= columns:
        return None
    model = "coalesce(r.resolved_model, r.model)" if "resolved_model" in columns else "r.model"
    details = "r.token_details" if "token_details" in columns else "NULL"
    names = "c.name" if "name" in _columns(con, "conversations") else "NULL"
    joined = "LEFT JOIN conversations c ON c.id = r.conversation_id" if names != "NULL" else ""
    return con.execute(f"""SELECT r.id, r.conversation_id, {names}, {model}, r.input_tokens, r.output_tokens,
                                  {details}, r.datetime_utc FROM responses r {joined} ORDER BY r.id""").fetchall()


def _turns(con: sqlite3.Connection) -> list[tuple] | None:
    """The `turns` table of llm 0.32's message store, one row per response under the response's id.

    Its session is `thread_id` (named in `threads`) or, in the other form of the table, `conversation_id`.
    """
    columns = _columns(con, "turns")
    if not {"id", "model", "input_tokens", "output_tokens", "token_details", "datetime_utc"} <= columns:
        return None
    if "thread_id" in columns:
        session, parents = "t.thread_id", "threads"
    elif "conversation_id" in columns:
        session, parents = "t.conversation_id", "conversations"
    else:
        return None
    named = "name" in _columns(con, parents)
    names = "p.name" if named else "NULL"
    joined = f"LEFT JOIN {parents} p ON p.id = {session}" if named else ""
    model = "coalesce(t.resolved_model, t.model)" if "resolved_model" in columns else "t.model"
    return con.execute(f"""SELECT t.id, {session}, {names}, {model}, t.input_tokens, t.output_tokens,
                                  t.token_details, t.datetime_utc FROM turns t {joined} ORDER BY t.id""").fetchall()


def _has_usage(row: tuple) -> bool:
    return row[4] is not None or row[5] is not None


def _one_per_response(found: list[tuple]) -> list[tuple]:
    """A response can be in both tables (logged while llm wrote both, or carried forward): one row per id."""
    by_id: dict[str, tuple] = {}
    for row in found:
        if row[0] not in by_id or _has_usage(row):
            by_id[row[0]] = row
    return list(by_id.values())


def _token_row(response_id: str, conversation: str | None, name: str | None, model: str | None,
               input_tokens: object, output_tokens: object, details: str | None, when: object) -> dict[str, Any]:
    """One response as a token row in our convention: input without cache reads and writes.

    A count that is not a whole number, or a time that is not ISO text, is bad input naming the response.
    """
    where = f"llm response {str(response_id)[:60]!r}"
    extra = _details(details, where)
    read, write, write_1h = _cache_tokens(extra, where)
    total_input = _whole_count(input_tokens, f"{where}: input_tokens", "input_tokens")
    inside = _cached_inside_input(extra, where)
    if inside > total_input:
        raise InvalidInput(f"{where}: token_details says {inside} of {total_input} input tokens were cached or "
                           "written to the cache", field="input_tokens")
    return {"session_id": conversation or str(response_id), "session_name": name, "request_id": f"llm:{response_id}",
            "model": model, "created_at": _utc(when, where), "input_tokens": total_input - inside,
            "output_tokens": _whole_count(output_tokens, f"{where}: output_tokens", "output_tokens"),
            "cache_write_tokens": write, "cache_read_tokens": read, "cache_write_1h_tokens": write_1h,
            "timed": when not in (None, "")}


def _details(text: object, where: str) -> dict[str, Any]:
    """token_details as an object; text that is not a JSON object carries nothing; a non-text value is refused."""
    if text is None or text == "":
        return {}
    if not isinstance(text, str):
        raise InvalidInput(f"{where}: token_details must be JSON text, got {type(text).__name__}",
                           field="token_details")
    try:
        value = json.loads(text, parse_float=Decimal)  # a count is judged by its exact value (check_count)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _whole_count(value: object, where: str, field: str) -> int:
    """A stored count by the shared rule (NULL is 0; 12.7 is refused, never cut to 12), naming the response."""
    try:
        return check_count(0 if value is None else value, where)
    except InvalidInput as error:
        raise InvalidInput(str(error), field=field) from None


def _nested(details: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = details.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: token_details.{key} must be an object", field=key)
    return value


def _openai_details(details: dict[str, Any], where: str) -> dict[str, Any]:
    """The input token details of OpenAI Chat Completions (`prompt_tokens_details`) or Responses."""
    return _nested(details, "prompt_tokens_details", where) or _nested(details, "input_tokens_details", where)


def _cached_inside_input(details: dict[str, Any], where: str) -> int:
    """Cache tokens the provider counted inside input_tokens (OpenAI reads and writes, Gemini reads)."""
    openai = _openai_details(details, where)
    if openai:
        return sum(_whole_count(openai.get(key), f"{where}: {key}", key)
                   for key in ("cached_tokens", "cache_write_tokens"))
    gemini = details.get("cachedContentTokenCount")
    return _whole_count(gemini, f"{where}: cachedContentTokenCount", "cache_read_tokens")


def _cache_tokens(details: dict[str, Any], where: str) -> tuple[int, int, int]:
    """(cache read, cache write, of which 1-hour) tokens: Anthropic's own fields, else OpenAI's or Gemini's."""
    def count(holder: dict[str, Any], key: str) -> int:
        return _whole_count(holder.get(key), f"{where}: token_details.{key}", key)

    openai = _openai_details(details, where)
    split = _nested(details, "cache_creation", where)
    one_hour = count(split, "ephemeral_1h_input_tokens")
    written = count(details, "cache_creation_input_tokens") or count(split, "ephemeral_5m_input_tokens") + one_hour
    read = count(details, "cache_read_input_tokens") or count(openai, "cached_tokens") or count(
        details, "cachedContentTokenCount")
    return read, written or count(openai, "cache_write_tokens"), min(one_hour, written)


def _utc(value: object, where: str) -> datetime | None:
    """llm writes datetime_utc as naive ISO text in UTC; anything else is bad input."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: datetime_utc must be ISO 8601 text, got {str(value)[:40]!r}",
                           field="created_at")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{where}: datetime_utc must be ISO 8601 text, got {value[:40]!r}",
                           field="created_at") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _stage(store: Store, rows: list[dict[str, Any]]) -> None:
    """The rows as temp table `history_rows`, sent as one list per column."""
    store.execute(f"CREATE OR REPLACE TEMP TABLE history_rows ({ROW_COLUMNS})")
    if not rows:
        return
    names = ["session_id", "session_name", "request_id", "model", "created_at", "input_tokens", "output_tokens",
             "cache_write_tokens", "cache_read_tokens", "cache_write_1h_tokens", "timed"]
    types = ["VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT",
             "BOOLEAN"]
    selects = ", ".join(f"unnest(${n}::{t}[]) AS {n}" for n, t in zip(names, types, strict=True))
    store.execute(
        f"""INSERT INTO history_rows BY NAME
            SELECT * REPLACE (coalesce(created_at, $now) AS created_at) FROM (SELECT {selects})""",
        {**{n: [row[n] for row in rows] for n in names}, "now": utc_now()},
    )
