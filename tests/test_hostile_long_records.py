"""A CSV or TSV record may be as long as a JSON Lines one (16 MiB), and a longer one is refused naming its line.

DuckDB's CSV reader allowed 2 MiB a line: a story with a 3 MB narrative that `export` wrote could not be
imported again. Past its buffer it misbehaved: a 40 MB line was a 'Not implemented' database error (exit 4),
and a file with a 300 MB line imported NO rows with exit 0, silently.
"""

from __future__ import annotations

import pytest
from conftest import Cli, snapshot, table_of

pytestmark = pytest.mark.file_only

MIB = 1 << 20


def write_csv_with_a_long_model(path, size: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("session_id,input_tokens,output_tokens,model\ns,1,1,")
        for _ in range(size // MIB):
            file.write("m" * MIB)
        file.write("\ns,2,2,x\n")


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_story_with_a_3_mb_narrative_round_trips_through_a_delimited_export(cli, db, tmp_path, suffix):
    cli.ok("new", "--id", "s")
    narrative = tmp_path / "narrative.txt"
    narrative.write_text(("word " * 15 + "\n") * 40_000, encoding="utf-8")  # 3.2 MB over many lines
    cli.ok("record-story", "-s", "s", "--title", "long", "--id", "st1", "--narrative-file", str(narrative))
    exported = tmp_path / f"stories{suffix}"
    cli.ok("export", "--what", "stories", "--to", str(exported))
    fresh = tmp_path / "fresh.duckdb"
    imported = Cli(fresh)("import", "stories", str(exported), "--create-sessions")
    assert imported.exit_code == 0, imported.stderr  # was: 'line 2: cannot be read as CSV'
    query = "SELECT id, md5(narrative), word_count FROM story_history"
    assert table_of(fresh, query) == table_of(db, query)


@pytest.mark.parametrize("size", [20 * MIB, 40 * MIB])
def test_a_delimited_line_past_16_mib_is_refused_naming_it(cli, db, tmp_path, size):
    cli.ok("new", "--id", "s")
    before = snapshot(db)
    rows = tmp_path / "calls.csv"
    write_csv_with_a_long_model(rows, size)
    result = cli("import", "tokens", str(rows))
    assert (result.exit_code, result.stderr) == (2, "sessionstats: line 2: longer than 16 MiB, the most a record "
                                                    "may be\n")
    assert snapshot(db) == before


@pytest.mark.slow
def test_a_300_mb_line_is_refused_not_imported_as_nothing(run_process, db, tmp_path):
    assert run_process("new", "--id", "s").returncode == 0
    rows = tmp_path / "calls.csv"
    write_csv_with_a_long_model(rows, 300 * MIB)
    try:
        result = run_process("import", "tokens", str(rows))
    finally:
        rows.unlink()
    assert result.returncode == 2  # was 0: 'imported 0 token records into 0 sessions'
    assert result.stderr == "sessionstats: line 2: longer than 16 MiB, the most a record may be\n"


def test_a_long_line_that_is_not_the_first_long_window_is_found_with_its_number(cli, db, tmp_path):
    cli.ok("new", "--id", "s")
    rows = tmp_path / "calls.csv"
    with rows.open("w", encoding="utf-8") as file:
        file.write("session_id,input_tokens,output_tokens,model\n")
        for _ in range(300_000):  # 18 MB of good lines first
            file.write("s,1,1," + "m" * 55 + "\n")
        file.write("s,1,1," + "m" * (17 * MIB) + "\n")
    result = cli("import", "tokens", str(rows))
    assert result.stderr == "sessionstats: line 300002: longer than 16 MiB, the most a record may be\n"
