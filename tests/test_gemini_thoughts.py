"""Where thoughts are counted: beside the output (Gemini's API) or inside it (OpenAI-compatible APIs), as the
reported total says, with one rule for Gemini CLI's recordings (.json and .jsonl) and Qwen Code's chats.

Gemini's usageMetadata: totalTokenCount = prompt + candidates + thoughts + toolUsePrompt. Qwen Code talks
mostly to OpenAI-compatible APIs (DashScope, OpenRouter...) and converts their usage itself
(packages/core/src/core/openaiContentGenerator/converter.ts, convertOpenAIResponseToGemini):
candidatesTokenCount = completion_tokens, thoughtsTokenCount = completion_tokens_details.reasoning_tokens,
totalTokenCount = total_tokens; OpenAI's completion_tokens already holds the reasoning tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import table_of


def stored(cli) -> list[tuple[int, int, int]]:
    return [tuple(int(v) for v in row) for row in table_of(
        cli.db, "SELECT input_tokens, cache_read_tokens, output_tokens FROM token_usage ORDER BY output_tokens")]


# (usage as the log states it, stored (uncached input, cache reads, output))
OPENAI_COMPATIBLE = ({"prompt": 9_000, "cached": 8_000, "output": 700, "thoughts": 500, "total": 9_700},
                     (1_000, 8_000, 700))  # 500 reasoning tokens inside the 700 completion tokens
GEMINI_API = ({"prompt": 9_000, "cached": 8_000, "output": 700, "thoughts": 500, "total": 10_200},
              (1_000, 8_000, 1_200))  # thoughts beside the candidates
NO_TOTAL = ({"prompt": 9_000, "cached": 8_000, "output": 700, "thoughts": 500}, (1_000, 8_000, 1_200))


def qwen_record(number: int, usage: dict[str, int]) -> dict:
    names = {"prompt": "promptTokenCount", "cached": "cachedContentTokenCount", "output": "candidatesTokenCount",
             "thoughts": "thoughtsTokenCount", "total": "totalTokenCount"}
    return {"uuid": f"u{number}", "parentUuid": None, "sessionId": "s", "timestamp": f"2026-04-01T08:00:0{number}Z",
            "type": "assistant", "cwd": "/p", "version": "0.9.1", "model": "qwen3-coder-plus",
            "usageMetadata": {names[k]: v for k, v in usage.items()}}


def gemini_message(number: int, usage: dict[str, int]) -> dict:
    names = {"prompt": "input", "cached": "cached", "output": "output", "thoughts": "thoughts", "total": "total"}
    return {"id": f"m{number}", "timestamp": f"2026-03-01T10:00:0{number}Z", "type": "gemini", "content": "ok",
            "model": "gemini-2.5-pro", "tokens": {"tool": 0, **{names[k]: v for k, v in usage.items()}}}


CASES = [OPENAI_COMPATIBLE, GEMINI_API, NO_TOTAL]


def test_qwen_counts_thoughts_inside_the_output_when_the_total_says_so(cli, tmp_path: Path) -> None:
    chat = tmp_path / "qwen" / "projects" / "p" / "chats" / "s.jsonl"
    chat.parent.mkdir(parents=True)
    chat.write_text("".join(json.dumps(qwen_record(n, usage)) + "\n" for n, (usage, _) in enumerate(CASES)))
    cli.ok("import", "qwen", str(tmp_path / "qwen"))
    assert stored(cli) == sorted(row for _, row in CASES)


@pytest.mark.parametrize("kind", ["jsonl", "json"])
def test_gemini_counts_thoughts_by_the_same_rule_in_both_recording_formats(cli, tmp_path: Path, kind: str) -> None:
    chats = tmp_path / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    messages = [gemini_message(n, usage) for n, (usage, _) in enumerate(CASES)]
    metadata = {"sessionId": "g1", "projectHash": "h", "startTime": "2026-03-01T10:00:00Z",
                "lastUpdated": "2026-03-01T10:00:09Z"}
    if kind == "jsonl":
        text = "".join(json.dumps(value) + "\n" for value in [metadata, *messages])
    else:
        text = json.dumps({**metadata, "messages": messages})
    (chats / f"session-2026-03-01T10-00-g1.{kind}").write_text(text)
    cli.ok("import", "gemini", str(tmp_path / "tmp"))
    assert stored(cli) == sorted(row for _, row in CASES)
