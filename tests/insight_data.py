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

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEMPLATE_DB, Cli, PgDatabase

_template_numbers = itertools.count(1)

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


class Template:
    """A database built once per backend by `build`, for a module's tests to copy (each command takes ~0.1 s)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, build: Callable[[Cli], None]) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.build = build
        self.built: dict[str, Path | PgDatabase] = {}

    def copy_into(self, cli: Cli) -> Cli:
        """Make the test's database a copy of the template."""
        if isinstance(cli.db, PgDatabase):
            cluster = cli.db.cluster
            if "postgres" not in self.built:
                source = PgDatabase(cluster, f"template_{next(_template_numbers)}")
                cluster.create_database(source.name, template=TEMPLATE_DB)
                self.build(Cli(source))
                self.built["postgres"] = source
            cluster.drop_database(cli.db.name)
            cluster.create_database(cli.db.name, template=self.built["postgres"].name)  # type: ignore[union-attr]
            return cli
        if "duckdb" not in self.built:
            self.built["duckdb"] = self.tmp_path_factory.mktemp("template") / "stats.duckdb"
            self.build(Cli(self.built["duckdb"]))
        shutil.copy(self.built["duckdb"], cli.db)  # its owner-only mode too  # type: ignore[arg-type]
        return cli


def template(tmp_path_factory: pytest.TempPathFactory, build: Callable[[Cli], None]) -> Template:
    return Template(tmp_path_factory, build)


def copy_into(template_db: Template, cli: Cli) -> Cli:
    """The test's own copy of a template database."""
    return template_db.copy_into(cli)
