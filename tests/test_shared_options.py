"""The options many commands share are declared once (cli/options.py) and no report command forgets them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command

import sessionstats.cli as cli_package
from sessionstats.cli.app import app
from sessionstats.cli.options import (
    NO_FILTERS,
    NO_SHARED,
    REPORT_FILTERS,
    SHARED_OPTIONS,
    Filters,
    Shared,
    shared_options,
    with_filters,
)
from sessionstats.display.render import Format
from sessionstats.reports.breakdowns import BREAKDOWN_FIGURES
from sessionstats.reports.stats import FIGURES
from sessionstats.reports.timeline import BUCKET_FIGURES
from sessionstats.reports.token_figures import TOKEN_FIGURES

# The commands that report figures, and the shared options each must have: a new report joins this list.
FILTERED_REPORT = {*SHARED_OPTIONS} - {"wide"} | set(REPORT_FILTERS)
REPORT_COMMANDS: dict[str, set[str]] = {
    "show": FILTERED_REPORT | {"wide"}, "list": FILTERED_REPORT | {"wide"},
    "stories": FILTERED_REPORT | {"wide"}, "calls": FILTERED_REPORT | {"wide"},
    "timeline": FILTERED_REPORT, "compare": FILTERED_REPORT,
    "check": {"tz", "db", "user", *REPORT_FILTERS}, "export": {"tz", "db", "user", *REPORT_FILTERS},
    "reprice": {"fmt", "style", "db", "user"}, "explain": {"fmt", "db", "user"}, "doctor": {"fmt", "db", "user"},
}


def _declared(param: Any) -> tuple:
    """What a person sees of an option: its flags, help, environment variable, metavar and default."""
    return (tuple(param.opts), param.help, param.envvar, param.metavar, param.default, param.show_envvar)


def _reference() -> dict[str, tuple]:
    """Every shared option and filter as the one declaration makes it."""
    probe = typer.Typer()

    @probe.command()
    @with_filters
    @shared_options(*SHARED_OPTIONS)
    def every(filters: Filters = NO_FILTERS, shared: Shared = NO_SHARED) -> None:
        """Takes every shared option."""

    @probe.command()
    def unused() -> None:
        """A second command, so that `every` is a subcommand as the real ones are."""

    return {param.name: _declared(param) for param in get_command(probe).commands["every"].params}


def _commands() -> dict[str, Any]:
    """Every command of the app by its path (`import tokens`), built as Typer builds it to run."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        for name in list(command.commands):
            sub = command.commands[name]
            full = f"{path} {name}".strip()
            found[full] = sub
            if hasattr(sub, "commands"):
                walk(sub, full)

    walk(get_command(app), "")
    return found


def _is_report_format(param: Any) -> bool:
    return "--format" in param.opts and set(getattr(param.type, "choices", ())) == {f.value for f in Format}


def test_every_report_command_has_the_shared_options_it_must_have():
    commands = _commands()
    for name, expected in REPORT_COMMANDS.items():
        names = {param.name for param in commands[name].params}
        assert expected <= names, f"{name} lacks {sorted(expected - names)}"


def test_every_command_that_prints_a_report_takes_where_and_whose_and_every_filtered_one_all_filters():
    for name, command in _commands().items():
        names = {param.name for param in command.params}
        if any(_is_report_format(param) for param in command.params):
            assert {"db", "user"} <= names, name
        if "since" in names:
            assert {*REPORT_FILTERS, "tz", "db", "user"} <= names, name
        if "style" in names:
            assert "fmt" in names, name


def test_a_shared_option_is_declared_the_same_in_every_command_that_has_it():
    reference = _reference()
    for name, command in _commands().items():
        filtered = any(param.name == "since" for param in command.params)
        for param in command.params:
            if param.name not in reference or (param.name in REPORT_FILTERS and not filtered):
                continue  # e.g. record-tokens' own --model, the model of the record
            if param.name == "fmt" and not _is_report_format(param):
                continue  # import's --format names the input file's format
            assert _declared(param) == reference[param.name], f"{name}: {param.name} is declared apart"


def test_the_shared_options_keep_the_order_every_command_lists_them_in():
    assert list(SHARED_OPTIONS) == ["fmt", "style", "wide", "tz", "db", "user"]
    assert list(REPORT_FILTERS) == ["since", "until", "model", "tone", "priority"]


def test_a_command_is_refused_an_option_nobody_declared_or_a_place_to_put_them():
    with pytest.raises(ValueError, match="no shared option"):
        shared_options("colour")
    with pytest.raises(TypeError, match="no `shared` argument"):
        shared_options("db")(lambda db=None: None)


def test_the_token_figures_stand_where_the_json_has_always_had_them():
    assert TOKEN_FIGURES == ["story_count", "api_calls", "input_tokens", "output_tokens", "cache_read_tokens",
                             "cache_write_tokens", "total_tokens", "total_cost", "unpriced_records"]
    assert FIGURES[:12] == ["session_id", "name", "status", *TOKEN_FIGURES]
    assert FIGURES[12:15] == ["tool_calls", "tool_cost", "word_count"]
    assert [*TOKEN_FIGURES, "story_share", "token_share", "cost_share"] == BREAKDOWN_FIGURES
    assert ["start", *TOKEN_FIGURES] == BUCKET_FIGURES


def test_no_command_module_declares_a_shared_option_itself():
    """Every command takes the shared options through `shared_options`: only options.py names their declarations."""
    declarations = re.compile(r"\b(FormatOption|TableStyleOption|WideOption|TzOption|DbOption|UserOption)\b")
    cli_folder = Path(cli_package.__file__).parent
    naming = sorted(path.name for path in cli_folder.glob("*.py")
                    if path.name != "options.py" and declarations.search(path.read_text()))
    assert naming == []
