"""A UTC offset of a day or more is no time on any path: --at refused it while an import stored +99:00 as 99 hours."""

from __future__ import annotations

import pytest
from conftest import snapshot

pytestmark = pytest.mark.file_only

BAD_OFFSETS = ["2026-01-01T00:00:00+99:00", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+00:60",
               "2026-01-01T00:00:00+0099", "2026-01-01T00:00:00-30"]
GOOD_OFFSETS = [("2026-01-01T00:00:00+23:59", "2025-12-31T00:01:00+00:00"),
                ("2026-01-01T00:00:00-12:00", "2026-01-01T12:00:00+00:00"),
                ("2026-01-01T00:00:00+0530", "2025-12-31T18:30:00+00:00")]


@pytest.fixture
def session_s(run_process, db):
    assert run_process("new", "--id", "s").returncode == 0
    return snapshot(db)


@pytest.mark.parametrize("moment", BAD_OFFSETS)
def test_an_offset_of_a_day_or_more_is_refused_by_the_record_command(run_process, db, session_s, moment):
    result = run_process("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--at", moment)
    assert result.returncode == 2
    assert result.stderr.startswith(f"sessionstats: --at: cannot read {moment!r} as a time")
    assert snapshot(db) == session_s


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
@pytest.mark.parametrize("moment", BAD_OFFSETS)
def test_an_offset_of_a_day_or_more_is_refused_by_an_import(run_process, db, session_s, tmp_path, moment, suffix):
    rows = tmp_path / f"rows.{suffix}"
    rows.write_text(f'{{"session_id": "s", "input_tokens": 1, "output_tokens": 1, "created_at": "{moment}"}}\n'
                    if suffix == "jsonl" else f"session_id,input_tokens,output_tokens,created_at\ns,1,1,{moment}\n")
    result = run_process("import", "tokens", str(rows))
    assert result.returncode == 2
    assert result.stderr.startswith(f"sessionstats: line {1 if suffix == 'jsonl' else '2 (row 1)'}: created_at: "
                                    "must be an ISO 8601 time")
    assert snapshot(db) == session_s


@pytest.mark.parametrize(("moment", "stored"), GOOD_OFFSETS)
def test_an_offset_under_a_day_is_stored_alike_by_both_paths(run_process, tmp_path, session_s, moment, stored):
    assert run_process("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--at", moment).returncode == 0
    rows = tmp_path / "rows.jsonl"
    rows.write_text(f'{{"session_id": "s", "input_tokens": 1, "output_tokens": 1, "created_at": "{moment}"}}\n')
    assert run_process("import", "tokens", str(rows)).returncode == 0
    calls = run_process("calls", "s", "--format", "csv", "--tz", "UTC").stdout.splitlines()[1:]
    assert [line.split(",")[1] for line in calls] == [stored, stored]
