"""Start-up stays light: a command imports its own module, not every command's (COMMAND_MODULES in cli/app.py)."""

import importlib
import os
import pkgutil
import subprocess
import sys

import sessionstats.cli
from sessionstats.cli.app import COMMAND_MODULES, app


def _command_modules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(sessionstats.cli.__path__) if m.name.endswith("_commands")}


def test_every_command_is_listed_with_the_module_that_defines_it():
    for name in _command_modules():
        importlib.import_module(f"sessionstats.cli.{name}")
    defined = {info.name or info.callback.__name__: info.callback.__module__ for info in app.registered_commands}
    defined |= {group.name: group.typer_instance.registered_commands[0].callback.__module__
                for group in app.registered_groups}
    assert set(defined) == set(COMMAND_MODULES)
    for name, module in defined.items():
        assert module.removeprefix("sessionstats.cli.") in COMMAND_MODULES[name], name
    assert {module for modules in COMMAND_MODULES.values() for module in modules} == _command_modules()


def _imported(tmp_path, *args: str) -> set[str]:
    env = {**os.environ, "SESSIONSTATS_DB": str(tmp_path / "stats.duckdb"), "SESSIONSTATS_USER": "alice"}
    env.pop("SESSIONSTATS_TZ", None)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sessionstats", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def _imported_command_modules(tmp_path, *args: str) -> set[str]:
    return {m.removeprefix("sessionstats.cli.") for m in _imported(tmp_path, *args) if m.startswith("sessionstats.cli.")
            and m.endswith("_commands")}


def test_a_command_imports_only_its_own_module(tmp_path):
    assert _imported_command_modules(tmp_path, "new", "--id", "s") == {"session_commands"}
    assert _imported_command_modules(tmp_path, "record-tokens", "-s", "s", "--input", "1", "--output", "1",
                                     "--cost", "0.01") == {"record_commands"}
    assert _imported_command_modules(tmp_path, "show", "s", "--format", "json") == {"report_commands"}
    assert _imported_command_modules(tmp_path, "import", "--help") == {"import_commands", "history_commands",
                                                                      "agent_commands"}
    assert _imported_command_modules(tmp_path, "--help") == _command_modules()


def test_recording_a_given_cost_or_a_story_loads_neither_pricing_nor_time_zones(tmp_path):
    assert _imported(tmp_path, "new", "--id", "s")
    for args in (["record-tokens", "-s", "s", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1",
                  "--cost", "0.01"], ["record-story", "-s", "s", "--title", "Harbour", "--narrative", "fog lifts"]):
        imported = _imported(tmp_path, *args)
        assert "sessionstats.pricing.prices" not in imported, args
        assert "zoneinfo" not in imported, args
