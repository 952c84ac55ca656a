"""Write an OpenCode data dir as OpenCode 1.2 does, and know, independently of the importer, what it must yield.

Written from OpenCode's session schema: SQLite tables session(id, project_id, parent_id, slug, directory,
title, version, time_created, time_updated), message(id, session_id, time_created, time_updated, data) and
part(id, message_id, session_id, time_created, time_updated, data). An assistant message's data is
{role, modelID, providerID, cost, time: {created, completed}, tokens: {input, output, reasoning,
cache: {read, write}}}; each step's `step-finish` part repeats its tokens and cost. Older installs kept
storage/message/<session>/<message>.json copies.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

_SCHEMA = """
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT NOT NULL,
                      directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
                      time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL,
                      time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
                   time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
"""
_START_MS = 1_767_312_000_000  # 2026-01-02 00:00 UTC


@dataclass
class Expected:
    """A session's steps: count, input, output (reasoning added), cache reads, cache writes; reported cost."""

    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, tokens: dict) -> None:
        self.steps += 1
        self.input_tokens += tokens["input"]
        self.output_tokens += tokens["output"] + tokens["reasoning"]
        self.cache_read_tokens += tokens["cache"]["read"]
        self.cache_write_tokens += tokens["cache"]["write"]

    def row(self) -> tuple[int, int, int, int, int]:
        return (self.steps, self.input_tokens, self.output_tokens, self.cache_read_tokens, self.cache_write_tokens)


@dataclass
class OpenCodeDir:
    """A data dir: its database, expectations per session and the reported costs written."""

    root: Path
    expected: dict[str, Expected] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)
    counter: int = 0

    @property
    def database(self) -> Path:
        return self.root / "opencode.db"

    def rows(self) -> dict[str, tuple[int, int, int, int, int]]:
        return {sid: e.row() for sid, e in self.expected.items() if e.steps}

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:06d}"

    def session(self, con: sqlite3.Connection, sid: str, directory: str, parent: str | None = None) -> None:
        con.execute("INSERT INTO session VALUES (?, 'proj', ?, ?, ?, ?, '1.2.6', ?, ?)",
                    (sid, parent, sid[-6:], directory, f"work in {directory}", _START_MS, _START_MS))
        self.expected.setdefault(sid, Expected())

    def user(self, con: sqlite3.Connection, sid: str) -> None:
        data = {"role": "user", "time": {"created": _START_MS + self.counter * 1000}}
        con.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?)",
                    (self.next_id("msg"), sid, _START_MS, _START_MS, json.dumps(data)))

    def step(self, con: sqlite3.Connection, sid: str, rng: random.Random, model: str = "claude-sonnet-4-5",
             provider: str = "anthropic", cost: str | None = None) -> dict:
        """An assistant step: its message, and a step-finish part repeating its tokens."""
        tokens = {"input": rng.randint(1, 3_000), "output": rng.randint(1, 2_000),
                  "reasoning": rng.choice((0, rng.randint(1, 900))),
                  "cache": {"read": rng.randint(0, 80_000), "write": rng.choice((0, rng.randint(1, 5_000)))}}
        tokens["total"] = tokens["input"] + tokens["output"] + tokens["reasoning"] + sum(tokens["cache"].values())
        message_id = self.next_id("msg")
        cost = cost if cost is not None else f"0.{rng.randint(1000, 99999)}"
        when = _START_MS + self.counter * 1000
        text = (f'{{"role":"assistant","modelID":"{model}","providerID":"{provider}","mode":"build",'
                f'"cost":{cost},"time":{{"created":{when},"completed":{when + 900}}},'
                f'"tokens":{json.dumps(tokens)},"finish":"tool-calls"}}')
        con.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?)", (message_id, sid, when, when, text))
        part = {"type": "step-finish", "reason": "tool-calls", "cost": float(cost), "tokens": tokens}
        con.execute("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                    (self.next_id("prt"), message_id, sid, when, when, json.dumps(part)))
        self.expected[sid].add(tokens)
        if float(cost) > 0:
            self.reported.append(cost)
        return {"id": message_id, "sessionID": sid, **json.loads(text)}


def create_database(path: Path) -> sqlite3.Connection:
    """An empty OpenCode database with its tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA)
    return con


def write_dir(root: Path, seed: int = 13) -> OpenCodeDir:
    """Two sessions, a child (subagent) session, zero-token and malformed messages, legacy JSON copies."""
    rng = random.Random(seed)
    made = OpenCodeDir(root)
    con = create_database(made.database)
    made.session(con, "ses_main", "/home/me/site")
    made.session(con, "ses_child", "/home/me/site", parent="ses_main")
    made.session(con, "ses_other", "/home/me/api")
    copies = []
    for _ in range(3):
        made.user(con, "ses_main")
        copies.append(made.step(con, "ses_main", rng))
        made.step(con, "ses_child", rng, model="gpt-5", provider="openai")
    made.step(con, "ses_other", rng, model="gemini-2.5-pro", provider="google", cost="0")
    con.execute("INSERT INTO message VALUES ('msg_bad', 'ses_other', 0, 0, '{\"role\": \"assistant\", \"tok')")
    empty = {"role": "assistant", "modelID": "gpt-5", "tokens": {"input": 0, "output": 0, "reasoning": 0,
                                                                   "cache": {"read": 0, "write": 0}}}
    con.execute("INSERT INTO message VALUES ('msg_empty', 'ses_other', 0, 0, ?)", (json.dumps(empty),))
    con.commit()
    con.close()
    for copy in copies[:2]:  # the legacy copy says otherwise: the database wins
        bigger = {**copy, "tokens": {**copy["tokens"], "output": copy["tokens"]["output"] + 777}}
        _legacy(root, bigger)
    return made


def _legacy(root: Path, message: dict) -> None:
    path = root / "storage" / "message" / message["sessionID"] / f"{message['id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(message))


def add_legacy_only(made: OpenCodeDir, rng: random.Random) -> None:
    """A message only an older install's storage/ has (never migrated into the database)."""
    tokens = {"input": rng.randint(1, 500), "output": rng.randint(1, 500), "reasoning": 0,
              "cache": {"read": 0, "write": 0}}
    made.expected.setdefault("ses_old", Expected()).add(tokens)
    _legacy(made.root, {"id": "msg_legacy_1", "sessionID": "ses_old", "role": "assistant",
                        "modelID": "claude-sonnet-4-5", "providerID": "anthropic", "cost": 0,
                        "time": {"created": _START_MS}, "tokens": tokens})
