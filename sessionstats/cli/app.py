"""The Typer app, its global flags, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from sessionstats import __version__
from sessionstats.errors import DatabaseUnusable, SessionStatsError

USAGE_EXIT = 2


class OneLineErrors(TyperGroup):
    """Every failure becomes one line on stderr and its documented exit code, never a traceback."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        code = _run(lambda: super(OneLineErrors, self).main(
            args, prog_name, complete_var, standalone_mode=False, **extra))
        if standalone_mode:
            sys.exit(code)
        return code


def _run(invoke: Any) -> int:
    try:
        result = invoke()
        return result if isinstance(result, int) else 0
    except SessionStatsError as error:
        return _fail(str(error), error.exit_code)
    except TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()  # type: ignore[attr-defined]  # help text, as `sessionstats` alone asks for
            return USAGE_EXIT
        message = error.format_message().rstrip(".")  # type: ignore[attr-defined]
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        return _fail(message + hint, getattr(error, "exit_code", USAGE_EXIT))
    except Exit as exit_:
        return exit_.exit_code
    except Abort:
        return _fail("aborted; nothing was changed (pass --yes to skip the question)", USAGE_EXIT)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as error:
        if "interrupted" not in str(error).lower():
            raise
        return 130  # Ctrl-C inside a DuckDB query arrives as RuntimeError('Query interrupted')
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): not an error
        return 0
    except Exception as error:
        duckdb = sys.modules.get("duckdb")  # only a command that opened the database can raise its errors
        if duckdb is None or not isinstance(error, duckdb.Error):
            raise
        return _fail(str(DatabaseUnusable(f"database error: {str(error).splitlines()[0]}")), 4)


def _fail(message: str, code: int) -> int:
    print(f"sessionstats: {message}", file=sys.stderr)
    return code


app = typer.Typer(
    cls=OneLineErrors,
    name="sessionstats",
    help="Record what LLM generators produce (stories) and cost (tokens), per session, and report on it.",
    epilog="Exit codes: 0 ok, 1 session not found, 2 bad input, 3 over budget, 4 database busy or unusable.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        print(f"sessionstats {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Record what LLM generators produce (stories) and cost (tokens), per session, and report on it.

    \b
    Example:
      export SESSIONSTATS_SESSION=$(sessionstats new "Friday broadcast")
      sessionstats record-tokens --input 1200 --output 350 --cost 0.0089
      sessionstats show "$SESSIONSTATS_SESSION"
    """
