"""Import the llm tool's logs database: a session per conversation, a token record per response with usage.

SQLite is read with Python's sqlite3 (DuckDB's sqlite extension is not available offline) and the rows go to
DuckDB as column lists in one statement. Every response's id is its request id (`llm:<id>`), so running
again stores only responses not stored before. llm stores input as the provider reports it: OpenAI and
Gemini count cached tokens inside the input, Anthropic does not; cached tokens come from `token_details`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.history.writing import ROW_COLUMNS, StepReporter, Written, write_rows
from sessionstats.store import Store
from sessionstats.times import utc_now

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

    return user_config_path("io.datasette.llm", appauthor=False) / "logs.db"


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
    """Every response with token counts, as token rows; and how many responses had none."""
    if not database.is_file():
        raise InvalidInput(f"PATH: {str(database)!r} is not an llm logs database (run `llm logs path`)")
    try:
        con = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise InvalidInput(f"PATH: cannot open {str(database)!r}: {error}") from None
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(responses)")}
        needed = {"id", "model", "conversation_id", "input_tokens", "output_tokens", "datetime_utc"}
        if not needed <= columns:
            raise InvalidInput(f"PATH: {str(database)!r} has no llm responses table with token counts "
                               "(llm 0.19 or later logs them)")
        model = "coalesce(r.resolved_model, r.model)" if "resolved_model" in columns else "r.model"
        details = "r.token_details" if "token_details" in columns else "NULL"
        found = con.execute(
            f"""SELECT r.id, r.conversation_id, c.name, {model}, r.input_tokens, r.output_tokens, {details},
                       r.datetime_utc
                FROM responses r LEFT JOIN conversations c ON c.id = r.conversation_id ORDER BY r.id""").fetchall()
    except sqlite3.Error as error:
        raise InvalidInput(f"PATH: cannot read {str(database)!r}: {error}") from None
    finally:
        con.close()
    rows = [_token_row(*row) for row in found if row[4] is not None or row[5] is not None]
    return rows, len(found) - len(rows)


def _token_row(response_id: str, conversation: str | None, name: str | None, model: str | None,
               input_tokens: int | None, output_tokens: int | None, details: str | None,
               when: str | None) -> dict[str, Any]:
    """One response as a token row in our convention: input without cache reads and writes."""
    extra = _details(details)
    read, write = _cache_tokens(extra)
    uncached = max(int(input_tokens or 0) - _cached_inside_input(extra), 0)
    return {"session_id": conversation or str(response_id), "session_name": name, "request_id": f"llm:{response_id}",
            "model": model, "created_at": _utc(when), "input_tokens": uncached,
            "output_tokens": int(output_tokens or 0), "cache_write_tokens": write, "cache_read_tokens": read}


def _details(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _cached_inside_input(details: dict[str, Any]) -> int:
    """Cached tokens the provider counted inside input_tokens (OpenAI, Gemini)."""
    openai = details.get("prompt_tokens_details")
    if isinstance(openai, dict):
        return _whole(openai.get("cached_tokens"))
    return _whole(details.get("cachedContentTokenCount"))


def _cache_tokens(details: dict[str, Any]) -> tuple[int, int]:
    """(cache read, cache write) tokens: Anthropic's own fields, else the cached input of OpenAI or Gemini."""
    read = _whole(details.get("cache_read_input_tokens")) or _cached_inside_input(details)
    return read, _whole(details.get("cache_creation_input_tokens"))


def _utc(text: str | None) -> datetime | None:
    """llm writes datetime_utc as naive ISO text in UTC."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _stage(store: Store, rows: list[dict[str, Any]]) -> None:
    """The rows as temp table `history_rows`, sent as one list per column."""
    store.execute(f"CREATE OR REPLACE TEMP TABLE history_rows ({ROW_COLUMNS})")
    if not rows:
        return
    names = ["session_id", "session_name", "request_id", "model", "created_at", "input_tokens", "output_tokens",
             "cache_write_tokens", "cache_read_tokens"]
    types = ["VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP", "BIGINT", "BIGINT", "BIGINT", "BIGINT"]
    selects = ", ".join(f"unnest(${n}::{t}[]) AS {n}" for n, t in zip(names, types, strict=True))
    store.execute(
        f"""INSERT INTO history_rows BY NAME
            SELECT * REPLACE (coalesce(created_at, $now) AS created_at) FROM (SELECT {selects})""",
        {**{n: [row[n] for row in rows] for n in names}, "now": utc_now()},
    )
