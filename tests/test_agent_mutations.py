"""Every agent import ends in a summary or one line, whatever shape a log's values take.

Each round writes a generated tree, replaces a few values deep inside its records by values of another
shape (null, a list, an object, a negative, a fraction, a number past 2^63, a NUL, an impossible date),
imports it and requires exit 0, or exit 2 with one line and nothing written; never a traceback.
Seeded, so a failure replays; the mutation of Gemini's trees found two TypeErrors this way.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from codex_logs import write_home
from conftest import table_of
from gemini_logs import write_tree
from opencode_logs import add_legacy_only, write_dir
from qwen_logs import write_qwen

pytestmark = [pytest.mark.slow, pytest.mark.file_only]  # many imports; the backends share the readers
ODD_VALUES = [None, True, 0, -1, 1.5, 2**64, "", "x", "\u0000", [], {}, [1, "a"], {"a": None},
              "2026-13-45T99:00:00Z", 1e308]


def mutated(value: Any, rng: random.Random) -> Any:
    """The value with one member somewhere inside replaced by an odd value (or removed)."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        if rng.random() < 0.2:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: mutated(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.7:
        index = rng.randrange(len(value))
        return [*value[:index], mutated(value[index], rng), *value[index + 1:]]
    return rng.choice(ODD_VALUES)


def mutate_lines(path: Path, rng: random.Random, times: int) -> None:
    lines = path.read_text().splitlines()
    for _ in range(times):
        index = rng.randrange(len(lines))
        try:
            lines[index] = json.dumps(mutated(json.loads(lines[index]), rng))
        except ValueError:
            continue  # a line the generator wrote malformed on purpose
    path.write_text("".join(line + "\n" for line in lines))


def codex_tree(root: Path, rng: random.Random) -> None:
    for rollout in write_home(root).rollouts.values():
        mutate_lines(rollout.path, rng, 6)


def gemini_tree(root: Path, rng: random.Random) -> None:
    write_tree(root)
    for path in sorted(root.rglob("*.json*")):
        if path.suffix == ".jsonl":
            mutate_lines(path, rng, 4)
        else:
            path.write_text(json.dumps(mutated(json.loads(path.read_text()), rng)))


def qwen_tree(root: Path, rng: random.Random) -> None:
    write_qwen(root)
    for path in sorted(root.rglob("*.jsonl")):
        mutate_lines(path, rng, 4)


def opencode_tree(root: Path, rng: random.Random) -> None:
    made = write_dir(root)
    add_legacy_only(made, rng)
    with sqlite3.connect(made.database) as con:
        for message_id, data in rng.sample(con.execute("SELECT id, data FROM message ORDER BY id").fetchall(), 4):
            try:
                changed = json.dumps(mutated(json.loads(data), rng))
            except ValueError:
                continue
            con.execute("UPDATE message SET data = ? WHERE id = ?", (changed, message_id))
    con.close()
    for path in sorted((root / "storage").rglob("*.json")):
        path.write_text(json.dumps(mutated(json.loads(path.read_text()), rng)))


TREES = {"codex": codex_tree, "gemini": gemini_tree, "qwen": qwen_tree, "opencode": opencode_tree}


@pytest.mark.parametrize("source", sorted(TREES))
@pytest.mark.parametrize("seed", range(6))
def test_a_tree_with_odd_values_deep_inside_imports_or_fails_in_one_line(
        cli, tmp_path: Path, source: str, seed: int) -> None:
    rng = random.Random(f"{source}-{seed}")
    TREES[source](tmp_path / source, rng)
    result = cli("import", source, str(tmp_path / source))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1
        assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(0,)]  # nothing written
