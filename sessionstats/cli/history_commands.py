"""Import existing LLM history: `sessionstats import claude-code [DIR ...]`."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from sessionstats.cli.import_commands import import_app
from sessionstats.cli.options import DbOption, UserOption, resolve_user
from sessionstats.cli.progress import StepProgress
from sessionstats.history.claude_code import HistoryResult, import_claude_code
from sessionstats.store import open_store

DirsArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="[DIR ...]", show_default=False,
                   help="Claude config dirs [default: $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude]."),
]


@import_app.command("claude-code")
def import_claude_code_command(dirs: DirsArgument = None, db: DbOption = None, user: UserOption = None) -> None:
    """Import Claude Code's logs: a session per Claude Code session, a token record per assistant message.

    Reads every *.jsonl under <DIR>/projects/ (subagent logs count for their session). Copies of a
    message are one record, the one with the most tokens; <synthetic> messages are skipped; malformed
    lines are counted and skipped. A re-run reads only what was added since the last one.

    \b
    Example:
      sessionstats import claude-code
      CLAUDE_CONFIG_DIR=/work/claude sessionstats import claude-code
    """
    started = time.monotonic()
    owner = resolve_user(user)
    with open_store(db, write=True) as store, StepProgress(store) as progress:
        result = import_claude_code(store, dirs or [], user=owner, on_step=progress)
    report_history(result, time.monotonic() - started)


def report_history(result: HistoryResult, seconds: float) -> None:
    """The import's summary on stderr."""
    for model, records in result.unknown_models.items():
        print(f"sessionstats: warning: model {model!r} is not in the price data; "
              f"{records:,} records stored with an unknown cost", file=sys.stderr)
    line = (f"sessionstats: read {result.files:,} log files; imported {result.imported:,} token records into "
            f"{result.sessions:,} sessions in {seconds:.1f} s")
    extras = [(result.updated, "updated to a bigger copy"), (result.duplicates, "duplicate copies skipped"),
              (result.synthetic, "<synthetic> messages skipped"), (result.malformed, "malformed lines skipped"),
              (result.created_sessions, "sessions created")]
    for count, what in extras:
        if count:
            line += f"; {count:,} {what}"
    print(line, file=sys.stderr)
