"""Write a realistic Claude Code log tree and know, independently of the importer, what it must yield.

The tree has main session files, subagent files under `<session>/`, messages logged several times while
they stream (a later copy with more output tokens, sometimes a smaller one after it), exact repeats,
`<synthetic>` messages, user lines and malformed lines.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = ("claude-sonnet-4-20250514", "claude-opus-4-20250514", "claude-3-5-haiku-20241022")
_FILLER = "The quick brown fox jumps over the lazy dog. " * 12


@dataclass
class Totals:
    """One session's expected sums and record count."""

    records: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_1h_tokens: int = 0

    def add(self, usage: dict) -> None:
        self.records += 1
        self.input_tokens += usage["input_tokens"]
        self.output_tokens += usage["output_tokens"]
        self.cache_write_tokens += usage["cache_creation_input_tokens"]
        self.cache_read_tokens += usage["cache_read_input_tokens"]
        self.cache_write_1h_tokens += (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens", 0)


@dataclass
class LogTree:
    """The tree's root (a Claude config dir), each session's project and expected totals, bad-line count."""

    root: Path
    projects: dict[str, str] = field(default_factory=dict)
    expected: dict[str, Totals] = field(default_factory=dict)
    malformed: int = 0


def usage_of(rng: random.Random, split: bool) -> dict[str, int]:
    """A final usage block; `split` writes the 5m/1h cache-creation split as Claude Code does now."""
    five, hour = rng.randint(0, 3000), rng.choice((0, 0, rng.randint(1, 2000)))
    usage = {"input_tokens": rng.randint(1, 400), "cache_creation_input_tokens": five + hour,
             "cache_read_input_tokens": rng.randint(0, 90000), "output_tokens": rng.randint(1, 1500)}
    if split:
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": hour}
    return usage


def compact(value: dict) -> str:
    """JSON without spaces, as Claude Code writes it (ccusage only reads lines holding `"usage":{`)."""
    return json.dumps(value, separators=(",", ":"))


def assistant_line(session: str, message_id: str, request_id: str, model: str, usage: dict, at: datetime) -> str:
    """One assistant line shaped like Claude Code's."""
    return compact({
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/me/project",
        "sessionId": session, "version": "1.0.80", "gitBranch": "main",
        "message": {"id": message_id, "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": _FILLER}], "stop_reason": None, "stop_sequence": None,
                    "usage": {**usage, "service_tier": "standard"}},
        "requestId": request_id, "type": "assistant", "uuid": f"u-{message_id}-{len(usage)}",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
    })


def user_line(session: str, at: datetime) -> str:
    return compact({"type": "user", "sessionId": session, "message": {"role": "user", "content": _FILLER},
                    "timestamp": at.isoformat().replace("+00:00", "Z")})


def write_tree(root: Path, *, sessions: int = 6, messages: int = 20, seed: int = 7,
               projects: int = 2) -> LogTree:
    """Write `sessions` sessions of about `messages` assistant messages each under root/projects/."""
    rng = random.Random(seed)
    tree = LogTree(root)
    start = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    for number in range(sessions):
        session = f"{number:08d}-1111-4222-8333-{rng.getrandbits(48):012x}"
        project = f"-home-me-project{number % projects}"
        tree.projects[session] = project
        tree.expected[session] = Totals()
        folder = root / "projects" / project
        main = [user_line(session, start)]
        sub: list[str] = []
        for index in range(messages):
            at = start + timedelta(days=number, minutes=index, milliseconds=rng.randint(0, 999))
            lines, bad = message_lines(rng, tree.expected[session], session, f"{number}-{index}", at)
            tree.malformed += bad
            (sub if index % 5 == 4 else main).extend(lines)
        write_lines(folder / f"{session}.jsonl", main)
        if sub:
            write_lines(folder / session / "subagents" / f"agent-{number}.jsonl", sub)
    return tree


def message_lines(rng: random.Random, totals: Totals, session: str, tag: str,
                  at: datetime) -> tuple[list[str], int]:
    """The lines one message leaves in a log, and how many of them are malformed."""
    kind = rng.random()
    model = rng.choice(MODELS)
    message_id, request_id = f"msg_{tag}", f"req_{tag}"
    if kind < 0.05:  # <synthetic>: never counted
        usage = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0}
        return [assistant_line(session, message_id, request_id, "<synthetic>", usage, at)], 0
    if kind < 0.10:  # a cut-off line
        return [assistant_line(session, message_id, request_id, model, usage_of(rng, False), at)[:70]], 1
    final = usage_of(rng, rng.random() < 0.5)
    totals.add(final)
    line = assistant_line(session, message_id, request_id, model, final, at)
    if kind < 0.35:  # streamed: partial copies first, final one, sometimes a stale smaller copy after
        partials = [{**final, "output_tokens": max(1, final["output_tokens"] // d)} for d in (8, 3)]
        lines = [assistant_line(session, message_id, request_id, model, u, at) for u in partials] + [line]
        if rng.random() < 0.5:
            lines.append(assistant_line(session, message_id, request_id, model, partials[0], at))
        return lines, 0
    if kind < 0.45:  # logged twice, identical
        return [line, user_line(session, at), line], 0
    return [line, user_line(session, at)], 0


def write_lines(path: Path, lines: list[str], mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding="utf-8") as out:
        out.writelines(line + "\n" for line in lines)
