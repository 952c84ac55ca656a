"""Options shared by many commands, declared once, and how their values are resolved."""

from __future__ import annotations

import functools
import inspect
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sessionstats import Scope
from sessionstats.cli.emit import Layout
from sessionstats.display.render import Format
from sessionstats.errors import InvalidInput, SessionStatsError
from sessionstats.times import parse_timestamp, resolve_zone, zone_name
from sessionstats.validate import check_count, parse_number

if TYPE_CHECKING:
    from sessionstats import Database

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="SESSIONSTATS_DB", show_envvar=True, metavar="PATH|URL",
                 help="Database file, or a postgresql://USER@HOST:PORT/DBNAME URL for a team's server "
                      "[default: sessionstats.duckdb in your data directory]."),
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", envvar="SESSIONSTATS_USER", show_envvar=True,
                 help="Whose sessions to use [default: your login name]."),
]
def complete_session(ctx: typer.Context, typed: str) -> list[tuple[str, str]]:
    """Shell completion of a session: the user's ids and names that start with what was typed (never an error)."""
    import warnings

    from sessionstats import connect

    try:
        with warnings.catch_warnings():  # a warning ("no database yet") would be printed into the shell's line
            warnings.simplefilter("ignore")
            return connect(ctx.params.get("db"), ctx.params.get("user")).session_choices(typed)
    except Exception:  # a completion that fails offers nothing rather than breaking the shell's line
        return []


SessionOption = Annotated[
    str | None,
    typer.Option("--session", "-s", envvar="SESSIONSTATS_SESSION", show_envvar=True, metavar="ID",
                 autocompletion=complete_session, help="Session to record into (its id, name or an id prefix)."),
]
SessionArgument = Annotated[
    str | None,
    typer.Argument(metavar="[SESSION]", envvar="SESSIONSTATS_SESSION", show_envvar=True, show_default=False,
                   autocompletion=complete_session,
                   help="The session: its id, its name or a unique id prefix [default: $SESSIONSTATS_SESSION]."),
]
CreateOption = Annotated[
    bool, typer.Option("--create", help="Create the session for you first if it does not exist.")
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", metavar="TIMESTAMP",
                 help="When it happened: ISO 8601 (local time unless it has an offset) or 2h/7d ago [default: now]."),
]
TzOption = Annotated[
    str | None,
    typer.Option("--tz", envvar="SESSIONSTATS_TZ", metavar="ZONE",
                 help="Time zone to read and show times in, e.g. Europe/Paris or UTC [default: local]."),
]
FormatOption = Annotated[
    Format | None,
    typer.Option("--format", "-f", envvar="SESSIONSTATS_FORMAT", case_sensitive=False,
                 help="Output format [default: table on a terminal, tsv when piped]."),
]
TableStyleOption = Annotated[
    str,
    typer.Option("--fmt", metavar="STYLE", help="tabulate style for table output: simple, github, grid, plain..."),
]

WideOption = Annotated[
    bool, typer.Option("--wide", help="Show every column and whole ids, however wide the table gets.")
]

SinceOption = Annotated[
    str | None,
    typer.Option("--since", metavar="TIME",
                 help="Count only records made at or after TIME: a date, an ISO timestamp or a time ago (2h, 7d)."),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", metavar="TIME",
                 help="Count only records made before TIME (same forms as --since)."),
]
ModelFilterOption = Annotated[
    str | None,
    typer.Option("--model",
                 help="Count only token records of this model, and the stories they were for."),
]
ToneFilterOption = Annotated[
    str | None,
    typer.Option("--tone",
                 help="Count only stories of this tone, and the token records made for them."),
]
PriorityFilterOption = Annotated[
    str | None,
    typer.Option("--priority",
                 help="Count only stories of this priority, and the token records made for them."),
]


# The core names a bad value by its field; the CLI names the option it came in by. Where a field comes in
# through different options in different commands, the first one the running command has is named.
FIELD_OPTIONS: dict[str, tuple[str, ...]] = {
    "session_id": ("--session", "--id", "SESSION", "SESSION_ID", "ID"), "id": ("--id",), "story_id": ("--story",),
    "record_id": ("RECORD_ID",),
    "request_id": ("--request-id",), "input_tokens": ("--input",), "output_tokens": ("--output",),
    "cache_read_tokens": ("--cache-read",), "cache_write_tokens": ("--cache-write",),
    "cache_write_1h_tokens": ("--cache-write-1h",), "model": ("--model",), "provider": ("--provider",),
    "cost": ("--cost",), "created_at": ("--at",), "since": ("--since",), "until": ("--until",),
    "title": ("--title",), "narrative": ("--narrative", "--narrative-file"), "tone": ("--tone",),
    "priority": ("--priority",), "word_count": ("--word-count",), "duration": ("--duration",), "name": ("NAME",),
    "settings": ("--setting",), "tz": ("--tz",), "sort": ("--sort",), "limit": ("--limit",), "every": ("--every",),
    "warn_at": ("--warn-at",), "max_cost": ("--max-cost",), "max_tokens": ("--max-tokens",),
    "max_stories": ("--max-stories",), "destination": ("--to",), "db": ("--db",), "format": ("--format",),
    "user": ("--user",),
    "response": ("--from-response",), "service_tier": ("--service-tier",),
    "create_sessions": ("--create-sessions",), "all": ("--all",),
}


_QUOTED_FIELD = re.compile(r"`([a-z_0-9]+)`")


def option_message(error: SessionStatsError, options: set[str]) -> str:
    """The error as the CLI says it: `input_tokens: ...` becomes `--input: ...` when the command has --input.

    A field the message refers to in backquotes (`since`) is named as the command's option too.
    """
    message = str(error)
    field = getattr(error, "field", None)
    lead = message.partition(": ")[0]  # the field the text opens with, which may be where a value came in
    if lead == field or lead in FIELD_OPTIONS:
        message = _option_for(lead, options) + message[len(lead):]
    return fields_as_options(message, options)


def fields_as_options(text: str, options: set[str] | None = None) -> str:
    """Each `field` in backquotes as its option (the first the command has; None: the usual one)."""
    return _QUOTED_FIELD.sub(lambda quoted: _option_for(quoted.group(1), options)
                             if quoted.group(1) in FIELD_OPTIONS else quoted.group(0), text)


def _option_for(field: str, options: set[str] | None) -> str:
    candidates = FIELD_OPTIONS.get(field, ())
    if options is None:
        return candidates[0] if candidates else field
    return next((option for option in candidates if option in options), field)


# Each shared option's one declaration with its default; a command takes those it names (shared_options).
SHARED_OPTIONS: dict[str, tuple[Any, Any]] = {
    "fmt": (FormatOption, None), "style": (TableStyleOption, "simple"), "wide": (WideOption, False),
    "tz": (TzOption, None), "db": (DbOption, None), "user": (UserOption, None),
}
REPORT_FILTERS: dict[str, tuple[Any, Any]] = {
    "since": (SinceOption, None), "until": (UntilOption, None), "model": (ModelFilterOption, None),
    "tone": (ToneFilterOption, None), "priority": (PriorityFilterOption, None),
}


@dataclass(frozen=True)
class Filters:
    """The five report filters as given on the command line."""

    since: str | None = None
    until: str | None = None
    model: str | None = None
    tone: str | None = None
    priority: str | None = None

    def scope(self, zone: tzinfo | None) -> Scope:
        """The filters as the core takes them: times read in `zone` (None: local), labels as given."""
        return Scope(
            since=parse_timestamp(self.since, option="since", zone=zone) if self.since is not None else None,
            until=parse_timestamp(self.until, option="until", zone=zone) if self.until is not None else None,
            model=self.model, tone=self.tone, priority=self.priority,
        )


NO_FILTERS = Filters()


@dataclass(frozen=True)
class Shared:
    """The shared options as given (--format, --fmt, --wide, --tz, --db, --user), and what they resolve to."""

    fmt: Format | None = None
    style: str = "simple"
    wide: bool = False
    tz: str | None = None
    db: str | None = None
    user: str | None = None

    @cached_property
    def database(self) -> Database:
        """The API's handle on the database for whose sessions these are: --user, else $SESSIONSTATS_USER, else the
        login name (on PostgreSQL, the role); the database is opened by each call, not here."""
        from sessionstats import connect

        return connect(self.db, self.user)

    @cached_property
    def zone(self) -> tzinfo | None:
        """The zone times are read and shown in (None: local)."""
        return resolve_zone(self.tz)

    @cached_property
    def layout(self) -> Layout:
        """How the report is written: the format asked for (or the terminal's), its table style and width."""
        return Layout(resolve_format(self.fmt), self.zone, self.style, table_width(self.wide))


NO_SHARED = Shared()


def with_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a report command --since, --until, --model, --tone and --priority, declared here once, as one
    `filters: Filters` argument (they stand where `filters` stands in its signature)."""
    return _grouped(command, "filters", REPORT_FILTERS, Filters)


def shared_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the named SHARED_OPTIONS, declared here once, as one `shared: Shared` argument (they
    stand where `shared` stands in its signature, in SHARED_OPTIONS order)."""
    unknown = set(names) - set(SHARED_OPTIONS)
    if unknown:
        raise ValueError(f"no shared option {sorted(unknown)}")
    options = {name: declared for name, declared in SHARED_OPTIONS.items() if name in names}
    return lambda command: _grouped(command, "shared", options, Shared)


def _grouped(command: Callable[..., Any], group: str, options: dict[str, tuple[Any, Any]],
             build: Callable[..., Any]) -> Callable[..., Any]:
    """`command` with its `group` argument spread into `options` for Typer, and gathered again when it runs."""
    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    if group not in signature.parameters:
        raise TypeError(f"{command.__name__} has no `{group}` argument to take its options")
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == group:
            parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option)
                           for name, (option, default) in options.items()]
        else:
            parameters.append(parameter.replace(annotation=hints[parameter.name], kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        gathered = build(**{name: values.pop(name) for name in options})
        return command(**{group: gathered}, **values)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run


def given_session(session: str | None, *, can_create: bool = False) -> str:
    """The session a command was given, or bad input that says the ways to give one."""
    if session is None or not session.strip():
        ways = "pass it, or set SESSIONSTATS_SESSION" if not can_create else (
            "pass --session ID (or -s), set SESSIONSTATS_SESSION, or add --create to make a new one")
        raise InvalidInput(f"no session given: {ways}", field="session_id")
    return session


def resolve_format(fmt: Format | None) -> Format:
    """Table for a person at a terminal, TSV for a pipe, unless asked."""
    if fmt is not None:
        return fmt
    return Format.table if sys.stdout.isatty() else Format.tsv


def table_width(wide: bool) -> int | None:
    """How wide a table may be: the terminal's width (or $COLUMNS); None with --wide or when not on a terminal."""
    import os
    import shutil

    if wide or not (sys.stdout.isatty() or os.environ.get("COLUMNS")):
        return None
    return shutil.get_terminal_size().columns


def resolve_at(at: str | None, zone: tzinfo | None) -> datetime | None:
    return parse_timestamp(at, option="created_at", zone=zone) if at is not None else None


def resolve_bucket_zone(tz: str | None) -> tuple[tzinfo, str]:
    """The zone days and hours are cut in, and its IANA name for the database; UTC, with a note, if unknown."""
    zone = resolve_zone(tz)
    name = zone_name(zone)
    if name is None:
        print("sessionstats: note: cannot tell the name of the local time zone; days and hours are in UTC "
              "(pass --tz or set SESSIONSTATS_TZ)", file=sys.stderr)
        return UTC, "UTC"
    return (zone if zone is not None else resolve_zone(name)), name  # type: ignore[return-value]


def parse_count(text: str) -> int:
    """Typer parser for token and word counts: the core's check, reported against the option."""
    try:
        return check_count(text, "value")
    except InvalidInput as error:
        raise typer.BadParameter(str(error).removeprefix("value: ")) from None


def count_option(*names: str, help: str) -> Any:
    """An option that takes a whole number from 0 to 2^63-1 (tokens, words, limits)."""
    return typer.Option(*names, parser=parse_count, metavar="N", help=help)


def number_option(*names: str, low: float | None = None, high: float | None = None, metavar: str,
                  help: str) -> Any:
    """An option that takes a number written as every import reads one (the core's rule): click's FLOAT also
    took '١٢', '１２', '1_000', '+5' and 'nan'. `low`/`high` bound it when given."""

    def parse(text: str | float) -> float:
        if not isinstance(text, str):  # the option's default
            return text
        try:
            number = parse_number(text, "value")
        except InvalidInput as error:
            raise typer.BadParameter(str(error).removeprefix("value: ")) from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise typer.BadParameter(f"{text.strip()} is not in the range {low:g}<=x<={high:g}")
        return number

    return typer.Option(*names, parser=parse, metavar=metavar, help=help)


def whole_option(*names: str, low: int, high: int, metavar: str = "N", help: str) -> Any:
    """An option that takes a whole number from `low` to `high` by the count rule (click's INT took '١٢',
    '+5' and '1_000')."""

    def parse(text: str | int) -> int:
        try:
            number = check_count(text, "value")
        except InvalidInput as error:
            if "too large" not in str(error):
                raise typer.BadParameter(str(error).removeprefix("value: ")) from None
            number = high + 1
        if not low <= number <= high:
            raise typer.BadParameter(f"{str(text).strip()} is not in the range {low}<=x<={high}")
        return number

    return typer.Option(*names, parser=parse, metavar=metavar, help=help)


def finite(value: float | None) -> float | None:
    """Typer callback for a float option: click's range check lets 'nan' through (every comparison is False)."""
    if value is not None and value != value:
        raise typer.BadParameter("nan is not a number")
    return value
