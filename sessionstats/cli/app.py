"""The Typer app, its global flags, and the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from sessionstats import __version__
from sessionstats.cli.output import flush_stdout, guarded_stdout
from sessionstats.display.escaping import visible
from sessionstats.errors import SessionStatsError, SessionStatsWarning

USAGE_EXIT = 2

# Each command's module in sessionstats.cli, in the order `--help` lists them. A module is imported, and its
# command built, only when that command runs or is listed: doing it for all of them cost ~40 ms a process.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("new", "start", "end", "rename", "delete", "delete-record"), ("session_commands",)),
    **dict.fromkeys(("record-story", "record-tokens"), ("record_commands",)),
    **dict.fromkeys(("show", "list"), ("report_commands",)),
    **dict.fromkeys(("stories", "calls"), ("record_list_commands",)),
    **dict.fromkeys(("timeline", "compare", "check"), ("insight_commands",)),
    "export": ("export_commands",),
    "reprice": ("price_commands",),
    "explain": ("explain_commands",),
    "import": ("import_commands", "history_commands", "agent_commands"),  # history + agents add sources
    "init-db": ("database_commands",),
    "doctor": ("doctor_commands",),
    "serve": ("serve_commands",),
}


class LazyCommands(MutableMapping[str, Any]):
    """The app's commands by name in COMMAND_MODULES order; each is imported and built by Typer when first asked for."""

    def __init__(self, built: Mapping[str, Any]) -> None:
        self._built = dict(built)
        self._names = list(dict.fromkeys([*COMMAND_MODULES, *self._built]))

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMAND_MODULES:
                raise KeyError(name)
            self._built[name] = _build_command(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


def _build_command(name: str) -> Any:
    """Import the command's module (which registers it on `app`) and build it with Typer's public get_command."""
    for module in COMMAND_MODULES[name]:
        __import__(f"sessionstats.cli.{module}")  # not importlib.import_module: -X importtime would miss it
    from typer.main import get_command

    built = get_command(app).commands  # the commands registered so far: this one's module and earlier ones
    if name not in built:
        raise KeyError(name)
    return built[name]


class OneLineErrors(TyperGroup):
    """Every failure becomes one line on stderr and its documented exit code, never a traceback.

    Its commands load lazily (LazyCommands): a command's module is imported only when it runs or is listed.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: completing `record-` need not import every command

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if "_SESSIONSTATS_COMPLETE" in os.environ:  # the shell asks for completions: Typer's shells answer
            from typer.completion import completion_init

            completion_init()
        words = list(sys.argv[1:] if args is None else args)
        with guarded_stdout():
            code = _run(lambda: super(OneLineErrors, self).main(
                words, prog_name, complete_var, standalone_mode=False, **extra), lambda: self.options_of(words))
        if standalone_mode:
            sys.exit(code)
        return code

    def options_of(self, words: list[str]) -> set[str]:
        """The options and argument names of the command `words` run (`import tokens ...` walks the group)."""
        command: Any = self
        for word in words:
            if not hasattr(command, "commands"):
                break
            if not word.startswith("-"):
                command = command.commands.get(word)
                if command is None:
                    return set()
        names: set[str] = set()
        for param in command.params:
            names.update(param.opts if param.param_type_name == "option" else
                         [param.human_readable_name.split()[0].strip("[]").upper()])
        return names


def _run(invoke: Any, options: Any = set) -> int:
    try:
        result = _showing_warnings(invoke)
        flush_stdout()  # a full or closed stdout is reported here, not lost at exit
        return result if isinstance(result, int) else 0
    except SessionStatsError as error:
        from sessionstats.cli.options import option_message

        return _fail(option_message(error, options()), error.exit_code)
    except TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()  # type: ignore[attr-defined]  # help text, as `sessionstats` alone asks for
            return USAGE_EXIT
        message = error.format_message().rstrip(".")  # type: ignore[attr-defined]
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        return _fail(message + hint, getattr(error, "exit_code", USAGE_EXIT))
    except Exit as exit_:
        flush_stdout()
        return exit_.exit_code
    except Abort:
        return _fail("aborted; nothing was changed (pass --yes to skip the question)", USAGE_EXIT)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): not an error
        return 0


def _showing_warnings(invoke: Any) -> Any:
    """Run with the core's SessionStatsWarnings shown as one line each on stderr, every time they happen."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", SessionStatsWarning)
        show_others = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if not issubclass(category, SessionStatsWarning):
                show_others(message, category, *args, **kwargs)
                return
            print(f"sessionstats: warning: {visible(str(message))}", file=sys.stderr)

        warnings.showwarning = show
        return invoke()


def _fail(message: str, code: int) -> int:
    with contextlib.suppress(OSError):  # a full or closed stderr: the exit code still tells
        print(f"sessionstats: {visible(message)}", file=sys.stderr)
    return code


app = typer.Typer(
    cls=OneLineErrors,
    name="sessionstats",  # its help is root()'s docstring, example included
    epilog="Exit codes: 0 ok, 1 session not found, 2 bad input, 3 over budget, 4 database busy or unusable, "
           "5 output could not be written (what was recorded IS stored).",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,  # our own --show/--install-completion below honour the shell they are given
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        print(f"sessionstats {__version__}")
        raise typer.Exit()


COMPLETION_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _completion(action: Any) -> Any:
    """A callback that runs Typer's completion `action` for the shell named (never guessed from the parent process:
    Typer's guess ignored the name given and failed when no shell was found)."""

    def run(ctx: Any, param: Any, shell: str | None) -> None:
        if shell is None or ctx.resilient_parsing:
            return
        if shell not in COMPLETION_SHELLS:
            raise typer.BadParameter(f"{shell!r} is not a shell completion is offered for; choose one of "
                                     f"{', '.join(COMPLETION_SHELLS)}", param_hint=param.opts[0])
        from typer.completion import completion_init

        completion_init()
        action(ctx, param, shell)

    return run


def _completion_option(name: str, action: str, help: str) -> Any:
    import typer.completion

    return typer.Option(name, metavar="SHELL", is_eager=True, expose_value=False,
                        callback=_completion(getattr(typer.completion, action)), help=help)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    install_completion: Annotated[str | None, _completion_option(
        "--install-completion", "install_callback",
        "Install completion for SHELL: bash, zsh, fish or powershell.")] = None,
    show_completion: Annotated[str | None, _completion_option(
        "--show-completion", "show_callback",
        "Print the completion script for SHELL (bash, zsh, fish or powershell), to copy or customise.")] = None,
) -> None:
    """Record what LLM generators produce (stories) and cost (tokens), per session, and report on it.

    \b
    Example:
      export SESSIONSTATS_SESSION=$(sessionstats new "Friday broadcast")
      sessionstats record-tokens --input 1200 --output 350 --cost 0.0089
      sessionstats show "$SESSIONSTATS_SESSION"
    """
