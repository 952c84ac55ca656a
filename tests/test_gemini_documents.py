"""Gemini CLI's `.json` sessions are one document each, rewritten whole: a long one passes the 64 MiB a line
may be and is read whole; one past the document cap is named, not silently dropped; an array is malformed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import table_of

from sessionstats.ingest import gemini_cli


def write_session(chats: Path, replies: int, padding: int) -> Path:
    """A `.json` session of `replies` replies of 100 input tokens, each carrying `padding` characters of text."""
    chats.mkdir(parents=True, exist_ok=True)
    messages = [{"id": f"m{n}", "timestamp": "2026-03-01T10:00:00Z", "type": "gemini", "content": "x" * padding,
                 "model": "gemini-2.5-pro", "tokens": {"input": 100, "output": 1, "cached": 0, "total": 101}}
                for n in range(replies)]
    path = chats / "session-2026-03-01T10-00-big.json"
    path.write_text(json.dumps({"sessionId": "big", "projectHash": "h", "startTime": "2026-03-01T10:00:00Z",
                                "lastUpdated": "2026-03-01T10:00:00Z", "messages": messages}))
    return path


@pytest.mark.file_only
def test_a_session_document_over_64_mib_is_read_whole(cli, tmp_path: Path) -> None:
    path = write_session(tmp_path / "tmp" / "proj" / "chats", 70, 1_000_000)
    assert path.stat().st_size > 64 << 20
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert table_of(cli.db, "SELECT count(*), sum(input_tokens) FROM token_usage") == [(70, 7_000)]


@pytest.mark.file_only
def test_a_session_document_over_the_cap_is_malformed_and_named(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_session(tmp_path / "tmp" / "proj" / "chats", 3, 1_000)
    monkeypatch.setattr(gemini_cli, "MAX_DOCUMENT_BYTES", path.stat().st_size - 1)
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert f"{str(path.resolve())!r} is over 0 MiB, more than a .json session is read whole" in result.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") in ([], [(0,)])


@pytest.mark.file_only
def test_a_session_document_that_is_an_array_is_one_malformed_document(cli, tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-x.json").write_text(json.dumps([{"id": "m1", "type": "gemini", "tokens": {"input": 5}}]))
    result = cli("import", "gemini", str(tmp_path / "tmp"))
    assert result.exit_code == 0, result.stderr
    assert "1 malformed lines skipped" in result.stderr
    assert "Traceback" not in result.stderr
