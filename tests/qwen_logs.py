"""Write Qwen Code chats as its ChatRecordingService does, and know, independently of the importer, their sums.

Written from qwen-code's packages/core/src/services/chatRecordingService.ts: one ChatRecord per line,
{uuid, parentUuid, sessionId, timestamp, type, cwd, version, message, usageMetadata, model}; usageMetadata
is Gemini's GenerateContentResponseUsageMetadata (cachedContentTokenCount inside promptTokenCount).
/branch copies records into a new session file with the same uuid and a `forkedFrom` naming the source.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass
class Chat:
    """One chat file being written and the sums of the replies it owns."""

    path: Path
    session_id: str
    cwd: str
    lines: list[str] = field(default_factory=list)
    rows: list[tuple[int, int, int]] = field(default_factory=list)
    clock: datetime = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    count: int = 0

    def record(self, kind: str, **extra: object) -> dict:
        self.count += 1
        self.clock += timedelta(seconds=5)
        record = {"uuid": f"{self.session_id}-{self.count}", "parentUuid": None, "sessionId": self.session_id,
                  "timestamp": self.clock.isoformat().replace("+00:00", "Z"), "type": kind, "cwd": self.cwd,
                  "version": "0.9.1", **extra}
        self.lines.append(json.dumps(record))
        return record

    def reply(self, rng: random.Random, model: str = "qwen3-coder-plus") -> dict:
        prompt = rng.randint(500, 50_000)
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": rng.randint(1, 2_000),
                 "cachedContentTokenCount": rng.choice((0, rng.randint(0, prompt))),
                 "thoughtsTokenCount": rng.choice((0, rng.randint(1, 500)))}
        usage["totalTokenCount"] = prompt + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
        self.rows.append((prompt - usage["cachedContentTokenCount"], usage["cachedContentTokenCount"],
                          usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]))
        return self.record("assistant", model=model, usageMetadata=usage,
                           message={"role": "model", "parts": [{"text": "ok"}]})

    def expected(self) -> tuple[int, int, int, int]:
        return (len(self.rows), *(sum(c) for c in zip(*self.rows, strict=True)))  # type: ignore[return-value]

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(line + "\n" for line in self.lines))


def write_qwen(root: Path, seed: int = 17) -> dict[str, Chat]:
    """Two projects, a branched chat that copies its source's records, malformed and system lines."""
    rng = random.Random(seed)
    main = Chat(root / "projects" / "-home-me-app" / "chats" / "s-main.jsonl", "s-main", "/home/me/app")
    for _ in range(4):
        main.record("user", message={"role": "user", "parts": [{"text": "go"}]})
        main.reply(rng)
        main.record("tool_result")
    main.record("system", subtype="ui_telemetry")
    main.lines.append("{broken")
    branch = Chat(root / "projects" / "-home-me-app" / "chats" / "s-branch.jsonl", "s-branch", "/home/me/app")
    for text in main.lines[:6]:
        copy = json.loads(text)
        branch.lines.append(json.dumps({**copy, "sessionId": "s-branch",
                                        "forkedFrom": {"sessionId": "s-main", "messageUuid": copy["uuid"]}}))
    branch.clock = main.clock
    branch.reply(rng)
    other = Chat(root / "projects" / "-home-me-lib" / "chats" / "s-lib.jsonl", "s-lib", "/home/me/lib")
    other.reply(rng, model="qwen-imaginary-9")
    for chat in (main, branch, other):
        chat.write()
    return {c.session_id: c for c in (main, branch, other)}
