"""Every text export writes times one way: ISO 8601 in UTC with a Z, as the records' exports always did.

`export --what stats` wrote DuckDB's own text ('2026-03-01 10:00:00+00') for created_at, first_record_at
and the other times, so one tool's CSV held two time formats.
"""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.file_only

TIME_COLUMNS = ("created_at", "first_record_at", "last_record_at")


@pytest.fixture
def exported(cli, tmp_path):
    cli.ok("new", "--id", "s", "--at", "2026-03-01T10:00:00+01:00")
    cli.ok("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--at", "2026-03-01T10:30:00.25Z")

    def export(suffix: str, what: str) -> list[dict]:
        path = tmp_path / f"{what}{suffix}"
        cli.ok("export", "--what", what, "--to", str(path))
        if suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text().splitlines()]
        return list(csv.DictReader(path.open(newline=""), delimiter="\t" if suffix == ".tsv" else ","))

    return export


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_stats_export_writes_its_times_as_the_records_export_does(exported, suffix):
    (row,) = exported(suffix, "stats")
    assert {name: row[name] for name in TIME_COLUMNS} == {
        "created_at": "2026-03-01T09:00:00.000000Z", "first_record_at": "2026-03-01T10:30:00.250000Z",
        "last_record_at": "2026-03-01T10:30:00.250000Z"}
    (record,) = exported(suffix, "tokens")
    assert record["created_at"] == "2026-03-01T10:30:00.250000Z"
