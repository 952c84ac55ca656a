"""The command-line interface: Typer commands that parse, call the core and render."""

# Imported for their commands, in the order `--help` lists them.
from sessionstats.cli import (  # noqa: F401, I001
    session_commands,
    record_commands,
    import_commands,
    report_commands,
    insight_commands,
    price_commands,
)
from sessionstats.cli.app import app


def main() -> None:
    """Entry point for the console script and `python -m sessionstats`."""
    app(prog_name="sessionstats")
