"""One hand-built session whose every figure is worked out by hand in the tests that use it.

Session "radio", started 2026-11-24 09:00Z, ended 11:00Z (active span 2 h):
  story A  calm/normal, 10 words, 40 s, at 09:10Z; its tokens: sonnet 1000 in, 200 out, 300 cache write, $0.0105
  story B  urgent/high, 30 words, 20 s, at 10:20Z; its tokens: haiku 400 in, 100 out, $0.002 (10:21Z)
                                                      and sonnet 100 in, $0.0003 (10:22Z)
  a record without a story: haiku 50 in, 50 out, cost unknown, at 2026-11-25 04:30Z (23:30 in New York)
Totals: 2 stories, 40 words, 4 API calls, 1,550 input + 350 output + 300 cache write = 2,200 tokens,
$0.0128 (one record unpriced).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Cli

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5"
UNPRICED = "house-tts-1"  # a model genai-prices does not know: its cost stays unknown


def build_radio(cli) -> None:
    cli.ok("new", "Radio", "--id", "radio")
    cli.ok("start", "radio", "--at", "2026-11-24T09:00:00Z")
    cli.ok("record-story", "-s", "radio", "--id", "A", "--title", "Fog", "--tone", "calm", "--priority", "normal",
           "--word-count", "10", "--duration", "40", "--at", "2026-11-24T09:10:00Z")
    cli.ok("record-tokens", "-s", "radio", "--story", "A", "--model", SONNET, "--input", "1000", "--output", "200",
           "--cache-write", "300", "--cost", "0.0105", "--at", "2026-11-24T09:11:00Z")
    cli.ok("record-story", "-s", "radio", "--id", "B", "--title", "Storm", "--tone", "urgent", "--priority", "high",
           "--word-count", "30", "--duration", "20", "--at", "2026-11-24T10:20:00Z")
    cli.ok("record-tokens", "-s", "radio", "--story", "B", "--model", HAIKU, "--input", "400", "--output", "100",
           "--cost", "0.002", "--at", "2026-11-24T10:21:00Z")
    cli.ok("record-tokens", "-s", "radio", "--story", "B", "--model", SONNET, "--input", "100", "--output", "0",
           "--cost", "0.0003", "--at", "2026-11-24T10:22:00Z")
    cli.ok("record-tokens", "-s", "radio", "--model", UNPRICED, "--input", "50", "--output", "50",
           "--at", "2026-11-25T04:30:00Z")
    cli.ok("end", "radio", "--at", "2026-11-24T11:00:00Z")


def template(tmp_path_factory: pytest.TempPathFactory, build: Callable[[Cli], None]) -> Path:
    """A database built once by `build`, for a module's tests to copy (each command takes ~0.1 s)."""
    db = tmp_path_factory.mktemp("template") / "stats.duckdb"
    build(Cli(db))
    return db


def copy_into(template_db: Path, cli: Cli) -> Cli:
    """The test's own copy of a template database."""
    shutil.copyfile(template_db, cli.db)
    return cli
