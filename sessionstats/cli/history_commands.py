"""Import existing LLM history: `sessionstats import claude-code [DIR ...]` and `import llm [PATH]`."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from sessionstats import HistoryResult
from sessionstats.cli.import_commands import import_app
from sessionstats.cli.messages import UNTIMED, warn_unknown_models, warn_unpriced
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.cli.progress import StepProgress

DirsArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="[DIR ...]", show_default=False,
                   help="Claude config dirs [default: $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude]."),
]


@import_app.command("claude-code")
@shared_options("db", "user")
def import_claude_code_command(dirs: DirsArgument = None, shared: Shared = NO_SHARED) -> None:
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
    result = shared.database.import_claude_code(dirs or [], progress=StepProgress)
    report_history(result, time.monotonic() - started)


def report_history(result: HistoryResult, seconds: float) -> None:
    """The import's summary on stderr."""
    warn_unknown_models(result.unknown_models)
    warn_unpriced(result.unpriced)
    line = (f"sessionstats: read {result.files:,} log files; imported {result.imported:,} token records into "
            f"{result.sessions:,} sessions in {seconds:.1f} s")
    extras = [(result.updated, "updated to a bigger copy"), (result.duplicates, "duplicate copies skipped"),
              (result.synthetic, "<synthetic> messages skipped"), (result.malformed, "malformed lines skipped"),
              (result.created_sessions, "sessions created"),
              (result.untimed, UNTIMED)]
    for count, what in extras:
        if count:
            line += f"; {count:,} {what}"
    print(line, file=sys.stderr)


@import_app.command("llm")
@shared_options("db", "user")
def import_llm_command(
    path: Annotated[str | None, typer.Argument(metavar="[PATH]", show_default=False,
                                               help="llm's logs.db [default: where `llm logs path` points].")] = None,
    shared: Shared = NO_SHARED,
) -> None:
    """Import the llm tool's logs: a session per conversation or thread, a token record per response with usage.

    Reads the `responses` table and llm 0.32's `turns` table; a response logged in both counts once.
    Cached tokens come from each response's token details. Responses imported before are skipped,
    so running it again adds only the new ones.

    \b
    Example:
      sessionstats import llm
      sessionstats import llm "$(llm logs path)"
    """
    started = time.monotonic()
    result = shared.database.import_llm(path, progress=StepProgress)
    written = result.written
    line = (f"sessionstats: imported {written.imported:,} token records into {written.sessions:,} sessions "
            f"in {time.monotonic() - started:.1f} s")
    extras = [(result.skipped, "responses were imported already and skipped"),
              (result.no_usage, "responses without token counts skipped"),
              (written.created_sessions, "sessions created")]
    warn_unknown_models(written.unknown_models)
    warn_unpriced(written.unpriced)
    print(line + "".join(f"; {count:,} {what}" for count, what in extras if count), file=sys.stderr)

