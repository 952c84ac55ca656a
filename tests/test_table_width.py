"""Tables fit the terminal: short ids to type back, long names cut, lesser columns dropped; --wide shows all."""

import pytest


@pytest.fixture
def many(cli):
    """Three sessions with generated (UUIDv7) ids, one with a long name, and calls of a long model name."""
    ids = [cli.ok("new", name).strip() for name in ("Harbour radio: morning", "Harbour radio: evening",
                                                     "A very long session name that goes on " * 3)]
    for session_id in ids:
        cli.ok("record-story", "-s", session_id, "--title", "A title that is rather long for a table cell indeed",
               "--tone", "calm")
        cli.ok("record-tokens", "-s", session_id, "--input", "1234567", "--output", "89012", "--cache-read", "3456",
               "--model", "claude-sonnet-4-5-20250929", "--request-id", "req_011CUx9vQ8mJ4kXb7aNzYpLq")
    return cli, ids


def _widest(out: str) -> int:
    return max(len(line) for line in out.splitlines())


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("command", [("list",), ("show", "{id}", "--by", "model"), ("show", "{id}", "--by", "tone"),
                                     ("calls", "{id}"), ("stories", "{id}")])
def test_default_tables_fit_the_terminal(many, columns, command):
    cli, ids = many
    args = [part.format(id=ids[0]) for part in command]
    out = cli.ok(*args, "--format", "table", env={"COLUMNS": str(columns)})
    assert _widest(out) <= columns, out


def test_list_shows_the_shortest_unique_id_prefix_and_show_takes_it_back(many):
    cli, ids = many
    out = cli.ok("list", "--format", "table", env={"COLUMNS": "80"})
    shown = [line.split()[0] for line in out.splitlines()[2:] if line.strip() and not line.startswith(("*", "unknown"))]
    assert len(shown) == 3
    for prefix in shown:
        assert 8 <= len(prefix) < 36
        full = next(session_id for session_id in ids if session_id.startswith(prefix))
        assert cli.json("show", prefix)["session_id"] == full


def test_a_long_name_is_cut_with_an_ellipsis_on_a_narrow_terminal(many):
    cli, _ = many
    out = cli.ok("list", "--format", "table", env={"COLUMNS": "80"})
    assert "A very long session name" in out and "…" in out


def test_wide_shows_every_column_and_whole_ids(many):
    cli, ids = many
    out = cli.ok("list", "--format", "table", "--wide", env={"COLUMNS": "80"})
    for session_id in ids:
        assert session_id in out
    assert out.splitlines()[0].split()[-1] == "Created"
    assert "…" not in out


def test_pipes_and_machine_formats_are_never_cut(many):
    cli, ids = many
    tsv = cli.ok("list", "--format", "tsv", env={"COLUMNS": "40"})
    assert {line.split("\t")[0] for line in tsv.splitlines()[1:]} == set(ids)
    rows = cli.json("calls", ids[0])
    assert rows[0]["request_id"] == "req_011CUx9vQ8mJ4kXb7aNzYpLq"


def test_without_a_terminal_or_columns_a_table_is_not_cut(many):
    cli, ids = many
    out = cli.ok("list", "--format", "table")
    assert all(session_id in out for session_id in ids)
