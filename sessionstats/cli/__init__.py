"""The command-line interface: Typer commands that parse, call the core and render."""

import contextlib
import os
import sys

# Command modules are imported only when their command is used: see COMMAND_MODULES in app.py.
from sessionstats.cli.app import app
from sessionstats.cli.output import occupy_closed_standard_streams


def main() -> None:
    """Entry point for the console script and `python -m sessionstats`."""
    occupy_closed_standard_streams()
    try:
        app(prog_name="sessionstats")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # the reader went away (`| head`)
            stream.flush()
    # Every connection is closed by now; skipping interpreter teardown saves ~35 ms a process.
    os._exit(code)
