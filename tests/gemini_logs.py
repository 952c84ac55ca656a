"""Write Gemini CLI chat recordings as gemini-cli's ChatRecordingService does, and know what they must yield.

Written from gemini-cli's packages/core/src/services/chatRecordingService.ts: a `.jsonl` opens with
{sessionId, projectHash, startTime, lastUpdated, kind, directories}; a message {id, timestamp, type, content,
thoughts, tokens, model} is appended again whenever it changes; `{"$set": {...}}` updates metadata (its
`messages` list too); `{"$rewindTo": id}` drops messages. The legacy `.json` is one ConversationRecord; a
resume of it writes a `.jsonl` that starts with copies of all its messages. `tokens` mirrors usageMetadata:
{input (prompt, cached inside), output, cached, thoughts, tool, total}. Expected sums are kept per reply id
as the replies are made.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def tokens_of(rng: random.Random) -> dict[str, int]:
    prompt = rng.randint(1_000, 90_000)
    counts = {"input": prompt, "output": rng.randint(1, 3_000), "cached": rng.choice((0, rng.randint(0, prompt))),
              "thoughts": rng.choice((0, rng.randint(1, 2_000))), "tool": rng.choice((0, 0, rng.randint(1, 500)))}
    counts["total"] = counts["input"] + counts["output"] + counts["thoughts"] + counts["tool"]
    return counts


def expected_row(tokens: dict[str, int]) -> tuple[int, int, int]:
    """(uncached input, cache reads, output) as the importer must store them."""
    return (tokens["input"] - tokens["cached"] + tokens["tool"], tokens["cached"],
            tokens["output"] + tokens["thoughts"])


@dataclass
class Session:
    """A session's messages in order, and the replies it billed (by id)."""

    session_id: str
    model: str = "gemini-2.5-pro"
    messages: list[dict] = field(default_factory=list)
    billed: dict[str, dict[str, int]] = field(default_factory=dict)
    clock: datetime = _AT

    def stamp(self) -> str:
        self.clock += timedelta(seconds=11)
        return self.clock.isoformat().replace("+00:00", "Z")

    def user(self, number: int) -> dict:
        message = {"id": f"{self.session_id[:8]}-u{number}", "timestamp": self.stamp(), "type": "user",
                   "content": [{"text": "make it faster"}]}
        self.messages.append(message)
        return message

    def reply(self, number: int, rng: random.Random) -> dict:
        tokens = tokens_of(rng)
        message = {"id": f"{self.session_id[:8]}-g{number}", "timestamp": self.stamp(), "type": "gemini",
                   "content": "done", "thoughts": [], "tokens": tokens, "model": self.model}
        self.messages.append(message)
        self.billed[message["id"]] = tokens
        return message

    def metadata(self, directories: list[str] | None = None) -> dict:
        return {"sessionId": self.session_id, "projectHash": "f" * 64, "startTime": _AT.isoformat(),
                "lastUpdated": self.clock.isoformat(), "kind": "main", "directories": directories}

    def expected(self) -> tuple[int, int, int, int]:
        rows = [expected_row(t) for t in self.billed.values()]
        return (len(rows), *(sum(column) for column in zip(*rows, strict=True)))  # type: ignore[return-value]


def line(value: dict) -> str:
    return json.dumps(value) + "\n"


def write_session(path: Path, metadata: dict, messages: list[dict]) -> Path:
    """A session as Gemini CLI records it: one `.json` document (before April 2026), or `.jsonl` lines."""
    text = (json.dumps({**metadata, "messages": messages}) if path.suffix == ".json"
            else "".join(line(value) for value in [metadata, *messages]))
    path.write_text(text)
    return path


@dataclass
class GeminiTree:
    """A written `.gemini/tmp`: its sessions, files and malformed lines."""

    root: Path
    sessions: dict[str, Session]
    files: dict[str, Path]
    malformed: int

    def expected(self) -> dict[str, tuple[int, int, int, int]]:
        return {sid: s.expected() for sid, s in self.sessions.items() if s.billed}


def write_tree(root: Path, seed: int = 11) -> GeminiTree:
    """A legacy .json resumed as .jsonl, a .jsonl with re-appends, $set and $rewindTo, a subagent, a hashed project."""
    rng = random.Random(seed)
    chats = root / "my-app" / "chats"
    chats.mkdir(parents=True)
    legacy = Session("aaaaaaaa-1111-4111-8111-111111111111")
    for number in range(3):
        legacy.user(number)
        legacy.reply(number, rng)
    old = chats / "session-2026-03-01T10-00-aaaaaaaa.json"
    old.write_text(json.dumps({**legacy.metadata(), "messages": legacy.messages}, indent=2))
    resumed = chats / "session-2026-03-01T10-00-aaaaaaaa.jsonl"
    text = line(legacy.metadata()) + "".join(line(m) for m in legacy.messages)
    legacy.user(3)
    text += line(legacy.messages[-1]) + line(legacy.reply(3, rng)) + line({"$set": {"lastUpdated": legacy.stamp()}})
    resumed.write_text(text)

    fresh = Session("bbbbbbbb-2222-4222-8222-222222222222", model="gemini-2.5-flash")
    text = line(fresh.metadata(["/home/me/my-app"]))
    for number in range(4):
        text += line(fresh.user(number))
        reply = fresh.reply(number, rng)
        text += line({**reply, "tokens": None})  # written before its tokens arrive
        text += line(reply) + line({**reply, "toolCalls": [{"id": f"t{number}", "name": "read_file"}]})
    text += line({"$rewindTo": f"{fresh.session_id[:8]}-u2"})  # replies 2 and 3 leave the chat, not the bill
    text += line({"$set": {"messages": fresh.messages[:4]}})
    text += "{not json\n"
    (chats / "session-2026-05-01T09-00-bbbbbbbb.jsonl").write_text(text)

    helper = Session("cccccccc-3333-4333-8333-333333333333", model="gemini-2.5-flash")
    sub = chats / fresh.session_id / f"{helper.session_id}.jsonl"
    sub.parent.mkdir()
    sub.write_text(line({**helper.metadata(["/home/me/my-app"]), "kind": "subagent"})
                   + line(helper.reply(0, rng)) + line(helper.reply(1, rng)))

    hashed = Session("dddddddd-4444-4444-8444-444444444444")
    hashed_chats = root / ("0123456789abcdef" * 4) / "chats"
    hashed_chats.mkdir(parents=True)
    hashed.user(0)
    hashed.reply(0, rng)
    (hashed_chats / "session-2026-02-01T08-00-dddddddd.json").write_text(
        json.dumps({**hashed.metadata(), "messages": hashed.messages}))
    sessions = {s.session_id: s for s in (legacy, fresh, helper, hashed)}
    return GeminiTree(root, sessions, {"fresh": chats / "session-2026-05-01T09-00-bbbbbbbb.jsonl"}, malformed=1)
