"""Agent imports on a machine with no home to tell: HOME unset and no passwd entry, as under
`docker run -u 12345`. Path.home() and Path.expanduser() raise RuntimeError there (a traceback before); now the
default places under the home are simply not there, and a `~` that cannot be expanded is taken as written."""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest


@pytest.fixture
def no_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.chdir(tmp_path)


@pytest.mark.file_only
@pytest.mark.usefixtures("no_home")
def test_import_all_without_a_home_finds_nothing_and_says_so(cli) -> None:
    result = cli("import", "--all")
    assert result.exit_code == 0, result.stderr
    assert "no agent history found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.file_only
@pytest.mark.usefixtures("no_home")
@pytest.mark.parametrize("source", ["codex", "gemini", "opencode", "qwen"])
def test_an_agent_import_without_a_home_finds_no_files_at_the_default_places(cli, source: str) -> None:
    result = cli("import", source)
    assert result.exit_code == 0, result.stderr
    assert f"{source}: none of its files were found" in result.stderr


@pytest.mark.file_only
@pytest.mark.usefixtures("no_home")
@pytest.mark.parametrize(("source", "line"), [
    ("claude-code", "sessionstats: no Claude Code logs found (looked for projects/ in no home directory to look "
                    "in); name the directory"),
    ("llm", "sessionstats: no home directory to find llm's logs.db under: name the file, or set LLM_USER_PATH")])
def test_a_history_import_without_a_home_is_one_line(cli, source: str, line: str) -> None:
    result = cli("import", source)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [line]


@pytest.mark.file_only
@pytest.mark.usefixtures("no_home")
def test_a_tilde_that_cannot_be_expanded_is_a_place_as_written(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", "~/codex")
    assert cli("import", "codex").exit_code == 0  # '~/codex' is no folder: nothing found, no traceback
    result = cli("import", "codex", "~nosuchuser/x")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "sessionstats: DIR: '~nosuchuser/x' is not a directory (a Codex home, holding sessions/)"]
