"""Write a Codex CLI home as Codex writes it, and know, independently of the importer, what it must yield.

Written from Codex's rollout format (codex-rs protocol: RolloutLine {timestamp, type, payload}; EventMsg
TokenCount {info: {total_token_usage, last_token_usage, model_context_window} | null, rate_limits}).
Each call logs a `token_count` and then a rate-limit `token_count` repeating the same `info`; a fork
starts with its parent's history copied at the fork instant (its session_meta and token_counts too) and
its running totals continue from the parent's; a subagent replays its parent the same way but counts
from zero. The expected totals are summed from the calls as they are made, never from the file.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


@dataclass
class Expected:
    """A session's own calls: how many, uncached input, cache reads, output (reasoning inside)."""

    calls: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0

    def add(self, usage: dict[str, int]) -> None:
        self.calls += 1
        self.input_tokens += usage["input_tokens"] - usage["cached_input_tokens"]
        self.cache_read_tokens += usage["cached_input_tokens"]
        self.output_tokens += usage["output_tokens"]

    def row(self) -> tuple[int, int, int, int]:
        return (self.calls, self.input_tokens, self.cache_read_tokens, self.output_tokens)


@dataclass
class Rollout:
    """One rollout file being written: its lines (as written), running totals and expectations."""

    path: Path
    session_id: str
    cwd: str
    lines: list[str] = field(default_factory=list)
    running: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    expected: Expected = field(default_factory=Expected)
    clock: datetime = datetime(2025, 10, 3, 9, 0, tzinfo=UTC)

    def stamp(self) -> str:
        self.clock += timedelta(seconds=7)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def line(self, kind: str, payload: dict, at: str | None = None) -> None:
        self.lines.append(json.dumps({"timestamp": at or self.stamp(), "type": kind, "payload": payload},
                                     separators=(",", ":")))

    def meta(self, parent: str | None = None, spawned_by: str | None = None) -> None:
        payload: dict = {"id": self.session_id, "timestamp": self.stamp(), "cwd": self.cwd,
                         "originator": "codex_cli_rs", "cli_version": "0.46.0", "instructions": None}
        if parent:
            payload["forked_from_id"] = parent
        if spawned_by:
            payload["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": spawned_by, "depth": 1}}}
        self.line("session_meta", payload)

    def turn(self, model: str | None) -> None:
        self.line("event_msg", {"type": "user_message", "message": "fix the tests", "images": []})
        if model is not None:
            self.line("turn_context", {"cwd": self.cwd, "approval_policy": "on-request", "model": model,
                                       "effort": "medium", "summary": "auto"})
        self.line("event_msg", {"type": "token_count", "info": None, "rate_limits": _limits()})

    def call(self, rng: random.Random) -> None:
        """One model call: its token_count, then the rate-limit token_count repeating the same info."""
        total_in = rng.randint(2_000, 60_000)
        cached = rng.choice((0, rng.randint(0, total_in)))
        out = rng.randint(10, 4_000)
        usage = {"input_tokens": total_in, "cached_input_tokens": cached, "output_tokens": out,
                 "reasoning_output_tokens": rng.randint(0, out), "total_tokens": total_in + out}
        for name in FIELDS:
            self.running[name] += usage[name]
        self.expected.add(usage)
        info = {"total_token_usage": dict(self.running), "last_token_usage": usage, "model_context_window": 272000}
        self.line("response_item", {"type": "message", "role": "assistant",
                                    "content": [{"type": "output_text", "text": "done"}]})
        self.line("event_msg", {"type": "token_count", "info": info, "rate_limits": None})
        self.line("event_msg", {"type": "token_count", "info": info, "rate_limits": _limits()})

    def fork_from(self, parent: Rollout, *, continue_totals: bool) -> None:
        """Copy the parent's history, as Codex does, at one instant; a fork's totals continue from it."""
        instant = self.stamp()
        for text in parent.lines:
            line = json.loads(text)
            line["timestamp"] = instant
            self.lines.append(json.dumps(line, separators=(",", ":")))
        if continue_totals:
            self.running = dict(parent.running)

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(line + "\n" for line in self.lines))

    def append(self, text: str) -> None:
        with self.path.open("a") as out:
            out.write(text)


def _limits() -> dict:
    return {"primary": {"used_percent": 12.0, "window_minutes": 299, "resets_in_seconds": 9000}}


def rollout(home: Path, session_id: str, cwd: str, day: str = "2025/10/03", archived: bool = False,
            after: Rollout | None = None) -> Rollout:
    """A new rollout; one started from another (`after`) starts when that one is at."""
    folder = home / "archived_sessions" if archived else home / "sessions" / day
    made = Rollout(folder / f"rollout-2025-10-03T09-00-00-{session_id}.jsonl", session_id, cwd)
    if after is not None:
        made.clock = after.clock
    return made


@dataclass
class CodexHome:
    """A written Codex home: its rollouts by session id, and the malformed lines in it."""

    root: Path
    rollouts: dict[str, Rollout]
    malformed: int

    def expected(self) -> dict[str, tuple[int, int, int, int]]:
        return {sid: r.expected.row() for sid, r in self.rollouts.items() if r.expected.calls}


def write_home(root: Path, seed: int = 7) -> CodexHome:
    """Sessions: plain, forked (twice deep), a subagent, one of September 2025 (no model), one archived."""
    rng = random.Random(seed)
    main = rollout(root, "0199a000-0000-7000-8000-00000000000a", "/home/me/app")
    main.meta()
    for _ in range(3):
        main.turn("gpt-5-codex")
        main.call(rng)
        main.call(rng)
    fork = rollout(root, "0199a000-0000-7000-8000-00000000000b", "/home/me/app", day="2025/10/04", after=main)
    fork.meta(parent=main.session_id)
    fork.fork_from(main, continue_totals=True)
    fork.turn("gpt-5")
    for _ in range(3):
        fork.call(rng)
    deeper = rollout(root, "0199a000-0000-7000-8000-00000000000c", "/home/me/app", day="2025/10/04", after=fork)
    deeper.meta(parent=fork.session_id)
    deeper.fork_from(fork, continue_totals=True)
    deeper.turn("gpt-5")
    deeper.call(rng)
    helper = rollout(root, "0199a000-0000-7000-8000-00000000000d", "/home/me/app", after=main)
    helper.meta(spawned_by=main.session_id)
    helper.fork_from(main, continue_totals=False)
    helper.turn("gpt-5-codex")
    helper.call(rng)
    helper.call(rng)
    september = rollout(root, "0199a000-0000-7000-8000-00000000000e", "/home/me/old", day="2025/09/12")
    september.meta()
    september.turn(None)
    september.call(rng)
    september.call(rng)
    archived = rollout(root, "0199a000-0000-7000-8000-00000000000f", "/home/me/lib", archived=True)
    archived.meta()
    archived.turn("gpt-5")
    archived.call(rng)
    archived.lines.insert(2, '{"timestamp":"2025-10-03T09:00:01Z","type":"event_msg","payload":')  # cut short
    main.lines.append("not json at all")
    rollouts = [main, fork, deeper, helper, september, archived]
    for each in rollouts:
        each.write()
    return CodexHome(root, {r.session_id: r for r in rollouts}, malformed=2)
