"""Import coding agents' history: `sessionstats import codex|gemini|opencode|qwen|otel` and `import detect`."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sessionstats.cli.import_commands import import_app
from sessionstats.cli.messages import UNTIMED, warn_unknown_models, warn_unpriced
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.cli.progress import StepProgress
from sessionstats.display.render import fmt_tokens, table
from sessionstats.errors import InvalidInput

if TYPE_CHECKING:
    from sessionstats import Database, SourceSummary

StrictOption = Annotated[
    bool, typer.Option("--strict", help="Exit 2 when a source's files exist but yield no token usage (format drift).")
]


CodexHomes = Annotated[list[str] | None, typer.Argument(
    metavar="[DIR ...]", show_default=False, help="Codex homes [default: $CODEX_HOME, else ~/.codex].")]
GeminiRoots = Annotated[list[str] | None, typer.Argument(
    metavar="[DIR ...]", show_default=False,
    help="Folders holding <project>/chats/ [default: $GEMINI_CLI_HOME/.gemini/tmp, else ~/.gemini/tmp].")]


def import_source(importer: Callable[[Database], SourceSummary], shared: Shared, strict: bool) -> None:
    """Import one source through the API, then say what came of it (with --strict, a drifting source fails)."""
    summary = importer(shared.database)
    report(summary)
    finish([summary], strict)


def report(summary: SourceSummary) -> None:
    """One source's summary line, its notes and warnings, on stderr."""
    seen = summary.coverage
    line = (f"sessionstats: {summary.source}: read {seen.files_read:,} of {seen.files_found:,} files; "
            f"{seen.events:,} usage events; imported {summary.written.imported:,} token records into "
            f"{summary.written.sessions:,} sessions")
    extras = [(summary.written.updated, "updated to a bigger copy"),
              (summary.duplicates_skipped, "duplicates skipped"), (seen.malformed, "malformed lines skipped"),
              (summary.written.created_sessions, "sessions created"),
              (summary.written.untimed, UNTIMED)]
    print(line + "".join(f"; {count:,} {what}" for count, what in extras if count), file=sys.stderr)
    if not seen.files_found:
        print(f"sessionstats: {summary.source}: none of its files were found; if they are elsewhere, name the "
              f"folder: sessionstats import {summary.source} DIR (see --help)", file=sys.stderr)
    report_notes(summary)
    warn_unknown_models(summary.written.unknown_models)
    warn_unpriced(summary.written.unpriced)
    if summary.drift:
        print(f"sessionstats: warning: {summary.drift}", file=sys.stderr)


def report_notes(summary: SourceSummary) -> None:
    """A source's notes and the event types it did not recognise, one line each."""
    for note in summary.coverage.notes:
        print(f"sessionstats: {summary.source}: {note}", file=sys.stderr)
    unknown = summary.coverage.unrecognised
    if unknown:
        kinds = ", ".join(f"{kind} ({count:,})" for kind, count in unknown.most_common(5))
        print(f"sessionstats: {summary.source}: {sum(unknown.values()):,} records of types this version does not "
              f"read: {kinds}", file=sys.stderr)


def finish(summaries: Sequence[SourceSummary], strict: bool) -> None:
    """With --strict, a drifting source fails the command (after what could be imported was)."""
    drifting = [s.source for s in summaries if s.drift]
    if strict and drifting:
        raise InvalidInput(f"{', '.join(drifting)}: files yield no token usage (see the warning above); "
                           "update sessionstats or report the new format")


@import_app.command("codex")
@shared_options("db", "user")
def import_codex_command(homes: CodexHomes = None, strict: StrictOption = False,
                         shared: Shared = NO_SHARED) -> None:
    """Import Codex CLI's rollouts: a session per Codex session, a token record per model call.

    Reads <home>/sessions/YYYY/MM/DD/rollout-*.jsonl and <home>/archived_sessions/. A call counts once:
    Codex's repeated token_count lines and a fork's copy of its parent's history are skipped. Cached input
    is stored as cache reads (Codex counts it inside input_tokens); reasoning is part of output. Calls
    logged without a model are priced as gpt-5, and the summary says how many. A re-run reads only what
    was added since the last one.

    \b
    Example:
      sessionstats import codex
      CODEX_HOME=/work/codex sessionstats import codex
    """
    import_source(lambda database: database.import_codex(homes or [], progress=StepProgress), shared, strict)


@import_app.command("gemini")
@shared_options("db", "user")
def import_gemini_command(roots: GeminiRoots = None, strict: StrictOption = False,
                          shared: Shared = NO_SHARED) -> None:
    """Import Gemini CLI's chat recordings: a session per Gemini session, a token record per model reply.

    Reads <project>/chats/session-*.json and session-*.jsonl, and subagents' chats/<parent>/<id>.jsonl.
    A reply logged several times (re-appended, copied by a resume) counts once; replies dropped by a
    rewind were billed and are kept. Cached input is stored as cache reads (Gemini counts it inside
    input); thoughts are billed as output and tool-use prompt tokens as input.

    \b
    Example:
      sessionstats import gemini
      GEMINI_CLI_HOME=/work sessionstats import gemini
    """
    import_source(lambda database: database.import_gemini(roots or [], progress=StepProgress), shared, strict)


OpenCodeDirs = Annotated[list[str] | None, typer.Argument(
    metavar="[DIR ...]", show_default=False,
    help="OpenCode data dirs [default: the folder of $OPENCODE_DB, else ${XDG_DATA_HOME:-~/.local/share}/opencode].")]


@import_app.command("opencode")
@shared_options("db", "user")
def import_opencode_command(dirs: OpenCodeDirs = None, strict: StrictOption = False,
                            shared: Shared = NO_SHARED) -> None:
    """Import OpenCode's history: a session per OpenCode session, a token record per assistant step.

    Reads opencode.db and opencode-<channel>.db (the message table; a step-finish part repeats its
    message's tokens and is not counted again), then storage/message/ JSON copies of messages the
    database lacks. Child (subagent) sessions are their own sessions, named after their parent.
    Reasoning is stored as output; OpenCode's own recorded cost is summed in the summary.

    \b
    Example:
      sessionstats import opencode
      OPENCODE_DB=~/.local/share/opencode/opencode.db sessionstats import opencode
    """
    import_source(lambda database: database.import_opencode(dirs or [], progress=StepProgress), shared, strict)


QwenDirs = Annotated[list[str] | None, typer.Argument(
    metavar="[DIR ...]", show_default=False,
    help="Qwen Code data dirs [default: $QWEN_RUNTIME_DIR, $QWEN_HOME or $QWEN_DATA_DIR, else ~/.qwen].")]


@import_app.command("qwen")
@shared_options("db", "user")
def import_qwen_command(dirs: QwenDirs = None, strict: StrictOption = False,
                        shared: Shared = NO_SHARED) -> None:
    """Import Qwen Code's chats: a session per Qwen session, a token record per assistant reply.

    Reads <dir>/projects/<project>/chats/*.jsonl. A reply copied by /branch counts once. Cached input
    is stored as cache reads (counted inside the prompt); thoughts are billed as output.

    \b
    Example:
      sessionstats import qwen
      QWEN_DATA_DIR=/work/qwen sessionstats import qwen
    """
    import_source(lambda database: database.import_qwen(dirs or [], progress=StepProgress), shared, strict)


OtelFiles = Annotated[list[str], typer.Argument(
    metavar="FILE|- ...", show_default=False, help="OTLP JSON files (one export per line); - for stdin.")]


@import_app.command("otel")
@shared_options("db", "user")
def import_otel_command(files: OtelFiles, strict: StrictOption = False,
                        shared: Shared = NO_SHARED) -> None:
    """Import OpenTelemetry files: GenAI spans and Claude Code's api_request events, a token record each.

    Reads OTLP JSON as the Collector's file exporter writes it (GitHub Copilot CLI's
    COPILOT_OTEL_EXPORTER_TYPE=file too). A span or event read twice counts once; a file that grows is
    read from where the last import stopped. GenAI input includes its cache counts (stored apart);
    Claude Code's input is already without them.

    \b
    Example:
      sessionstats import otel /var/log/otel/traces.jsonl
      cat export.jsonl | sessionstats import otel -
    """
    if files != ["-"]:
        import_source(lambda database: database.import_otel(files, progress=StepProgress), shared, strict)
        return
    with tempfile.TemporaryDirectory(prefix="sessionstats-otel-") as folder:
        copy = Path(folder) / "stdin.jsonl"
        with copy.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        import_source(lambda database: database.import_otel([str(copy)], remember=False, progress=StepProgress),
                      shared, strict)


def summary_table(summaries: Sequence[SourceSummary]) -> str:
    """One row per source: files read, events seen, records stored, duplicates, malformed, unpriced models."""
    rows = [[s.source, fmt_tokens(s.coverage.files_read), fmt_tokens(s.coverage.events),
             fmt_tokens(s.written.imported), fmt_tokens(s.duplicates_skipped), fmt_tokens(s.coverage.malformed),
             ", ".join(sorted(s.written.unknown_models)) or "-"] for s in summaries]
    return table(rows, ["source", "files read", "events seen", "records stored", "duplicates skipped",
                        "malformed lines", "unpriced models"])


def import_all(shared: Shared, strict: bool) -> None:
    """Import every known source found on this machine; one table on stderr, then warnings."""
    summaries, failures, absent = [], [], []
    for name, summary in _detected_imports(shared):
        if isinstance(summary, InvalidInput):
            failures.append(f"{name}: {summary}")
        else:
            (summaries if summary.coverage.files_found else absent).append(summary)
    print(summary_table(summaries) if summaries else "sessionstats: no agent history found", file=sys.stderr)
    if absent:
        print("sessionstats: not found: " + ", ".join(s.source for s in absent), file=sys.stderr)
    for summary in summaries:
        report_notes(summary)
        if summary.drift:
            print(f"sessionstats: warning: {summary.drift}", file=sys.stderr)
    for failure in failures:
        print(f"sessionstats: warning: {failure}", file=sys.stderr)
    finish(summaries, strict)
    if strict and failures:
        raise InvalidInput(f"{len(failures)} sources could not be read (see the warnings above)")


def _detected_imports(shared: Shared) -> list[tuple[str, SourceSummary | InvalidInput]]:
    """Each agent's import (or why it could not be read); a bad --user or --db is each source's failure, as it
    would be for that source alone."""
    from sessionstats import agent_sources

    try:
        database = shared.database
    except InvalidInput as error:
        return [(name, error) for name in agent_sources()]
    return database.import_detected(progress=StepProgress)


@import_app.command("detect")
@shared_options("db", "user")
def import_detect_command(strict: StrictOption = False, shared: Shared = NO_SHARED) -> None:
    """Find every known agent's history on this machine and import each (same as `import --all`).

    Sources: claude-code, llm, codex, gemini, opencode, qwen, each at its default place (or its
    environment variable). Prints one table: files read, events seen, records stored, duplicates skipped,
    malformed lines and unpriced models per source; a source whose files yield no usage is a warning
    (with --strict, exit 2).

    \b
    Example:
      sessionstats import detect
      sessionstats import --all --strict
    """
    import_all(shared, strict)


@import_app.callback(invoke_without_command=True)
@shared_options("db", "user")
def import_group(ctx: typer.Context,
                 all_sources: Annotated[bool, typer.Option("--all", help="Import every agent history found "
                                                           "on this machine (see `import detect`).")] = False,
                 strict: StrictOption = False, shared: Shared = NO_SHARED) -> None:
    """Import token records or stories in bulk, or your agents' history (`--all` finds and imports every one)."""
    if ctx.invoked_subcommand is None and all_sources:
        import_all(shared, strict)
    elif ctx.invoked_subcommand is None:
        print(ctx.get_help(), file=sys.stderr)
        raise typer.Exit(2)
