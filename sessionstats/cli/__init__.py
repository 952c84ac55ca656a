"""The command-line interface: Typer commands that parse, call the core and render."""

from sessionstats.cli import (  # noqa: F401  (registers)
    export_commands,
    history_commands,
    import_commands,
    insight_commands,
    price_commands,
    record_commands,
    report_commands,
    session_commands,
)
from sessionstats.cli.app import app


def main() -> None:
    """Entry point for the console script and `python -m sessionstats`."""
    app(prog_name="sessionstats")
