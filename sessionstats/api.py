"""The Python API: everything the CLI does, one call away, opening the database per call.

`connect()` reads the same settings as the CLI ($SESSIONSTATS_DB, $SESSIONSTATS_USER, the login name,
$SESSIONSTATS_LOCK_TIMEOUT); no call keeps the database open after it returns, so shell commands and
other processes write beside a long-running generator. Results are the dataclasses the CLI renders,
with times as aware UTC datetimes and costs as exact Decimals; `to_json(result)` is the CLI's JSON.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sessionstats.api_tasks import DatabaseTasks, Progress
from sessionstats.errors import DatabaseBusy, DatabaseUnusable, InvalidInput, SessionStatsError
from sessionstats.ingest.records import Recorded, StoryInput, TokenUsageInput
from sessionstats.reports.scope import EVERYTHING, Scope
from sessionstats.store import PostgresTarget, Store, open_store, resolve_target
from sessionstats.store.target import resolve_owner
from sessionstats.validate import check_id

if TYPE_CHECKING:
    from sessionstats.ingest.batch_recording import BatchWriter
    from sessionstats.ingest.files import ImportResult
    from sessionstats.reports.export import ExportWhat
    from sessionstats.reports.stats import SessionStats
    from sessionstats.session_api import SessionHandle

TimeArg = datetime | str | None
Result = TypeVar("Result")


def connect(db: str | os.PathLike[str] | None = None, user: str | None = None) -> Database:
    """A handle on the database: `db` (a file path or postgresql:// URL) else $SESSIONSTATS_DB else the
    default file; `user` else $SESSIONSTATS_USER else the login name (on PostgreSQL, the role)."""
    target = resolve_target(os.fspath(db) if db is not None else None)
    return Database(target, owner(user, target))


def owner(user: str | None, target: Path | PostgresTarget) -> str:
    """Whose sessions these are: `user`, else $SESSIONSTATS_USER, else the login name; on PostgreSQL, the role."""
    return resolve_owner(user, target)


class Database(DatabaseTasks):
    """One user's view of one database; every method opens it, does its work and closes it again."""

    def __init__(self, target: Path | PostgresTarget, user: str) -> None:
        self.target = target
        self.user = user

    def __repr__(self) -> str:
        return f"sessionstats.Database({str(self.target)!r}, user={self.user!r})"

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """The database open to read, for the length of the block."""
        with open_store(self.target) as store:
            yield store

    @contextmanager
    def writing(self, *, create: bool = True) -> Iterator[Store]:
        """The database open to write (under the writer's lock), for the length of the block.

        `create=False`: the write needs a session already there, so no database is made for it.
        """
        with open_store(self.target, write=True, create=create) as store:
            yield store

    def session(self, session_id: str | None = None, *, create: bool = False) -> SessionHandle:
        """A handle on one of your sessions (not looked up yet): `session_id`, else $SESSIONSTATS_SESSION as
        the CLI's record commands take it; `create=True` makes it at its first record."""
        from sessionstats.session_api import SessionHandle

        chosen = session_id if session_id is not None else os.environ.get("SESSIONSTATS_SESSION") or None
        if chosen is None:
            raise InvalidInput("session_id: give one, or set SESSIONSTATS_SESSION", field="session_id")
        return SessionHandle(self, check_id(chosen, "session_id"), create=create)

    def new_session(self, name: str | None = None, *, id: str | None = None,
                    settings: Mapping[str, Any] | None = None, at: TimeArg = None) -> SessionHandle:
        """Create a session (its id generated unless given; made `at` a time, else now) and return a handle on it."""
        from sessionstats.session_api import SessionHandle
        from sessionstats.sessions import create_session, new_session_fields

        when = stored_time(at, "at")
        new_session_fields(name=name, session_id=id, settings=settings)  # bad input opens no database
        with self.writing() as store:
            made = create_session(store, user=self.user, name=name, session_id=id, settings=settings,  # type: ignore[arg-type]
                                  at=when)
        return SessionHandle(self, made.id)

    def list_sessions(self, *, sort: str = "created_at", descending: bool = True, limit: int | None = None,
                      since: TimeArg = None, until: TimeArg = None, model: str | None = None,
                      tone: str | None = None, priority: str | None = None) -> list[SessionStats]:
        """Your sessions with their figures in scope, newest first (as `sessionstats list`)."""
        from sessionstats.reports.stats import list_stats

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.reading() as store:
            rows = list_stats(store, user=self.user, sort=sort, descending=descending, limit=limit, scope=chosen)
        return [aware(row) for row in rows]

    def compare(self, *session_ids: str, since: TimeArg = None, until: TimeArg = None, model: str | None = None,
                tone: str | None = None, priority: str | None = None) -> list[SessionStats]:
        """Two or more sessions' figures in the order given (as `sessionstats compare`)."""
        from sessionstats.reports.stats import compare_stats

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.reading() as store:
            return [aware(row) for row in compare_stats(store, session_ids, user=self.user, scope=chosen)]

    def import_tokens(self, path: str | os.PathLike[str], *, format: str | None = None, session: str | None = None,
                      create_sessions: bool = False, zone: str | None = None,
                      progress: Progress | None = None) -> ImportResult:
        """Import token records from a JSON Lines, CSV or TSV file: all rows or none (as `import tokens`)."""
        from sessionstats.ingest.files import import_tokens

        return self._import(import_tokens, path, format, session, create_sessions, zone, progress)

    def import_stories(self, path: str | os.PathLike[str], *, format: str | None = None,
                       session: str | None = None, create_sessions: bool = False,
                       zone: str | None = None, progress: Progress | None = None) -> ImportResult:
        """Import stories from a JSON Lines, CSV or TSV file: all rows or none (as `import stories`)."""
        from sessionstats.ingest.files import import_stories

        return self._import(import_stories, path, format, session, create_sessions, zone, progress)

    def record_many(self, records: Iterable[TokenUsageInput | Mapping[str, Any]], *,
                    create_sessions: bool = False) -> ImportResult:
        """Store many token records in one transaction, through the bulk import: all or none. An error names
        the record and its field as `records[1].input_tokens` (0-based), never the import's own file."""
        from sessionstats.api_records import record_error, records_file

        with records_file(records) as path:
            try:
                return self.import_tokens(path, format="csv", create_sessions=create_sessions)
            except InvalidInput as error:
                raise record_error(error) from None

    def export(self, path: str | os.PathLike[str], what: ExportWhat | str = "tokens", *,
               sessions: Sequence[str] = (), since: TimeArg = None, until: TimeArg = None,
               model: str | None = None, tone: str | None = None, priority: str | None = None) -> int:
        """Write your stories, token records or figures to Parquet, CSV, TSV or JSON Lines; return the rows."""
        from sessionstats.reports.export import ExportWhat, export

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        kind = _choice(ExportWhat, what, "what")
        with self.reading() as store:
            return export(store, Path(path).expanduser(), kind, user=self.user, session_ids=list(sessions),
                          scope=chosen)

    def pending_journal(self) -> int:
        """How many records wait in the journal for the database to take them (see journal.py)."""
        from sessionstats.ingest.journal import pending

        return pending(self.target)

    def keep(self, kind: str, record: TokenUsageInput | StoryInput, record_id: str, *, create: bool,
             journal: bool = True) -> Recorded:
        """Store one record; when the database stays busy (or a server is unreachable), journal it instead
        (`journal=False`: raise, as the CLI's record commands do)."""
        from sessionstats.ingest.journal import JournalEntry, store_entry

        entry = JournalEntry(record_id, kind, self.user, record, create)
        # A file fails before its commit or says it is broken; a server's connection can drop after the
        # commit, and the journaled copy must then find the stored one by id.
        unseen = isinstance(self.target, Path)
        try:
            with self.writing(create=create) as store:
                return store_entry(store, entry, unseen=unseen)
        except (DatabaseBusy, DatabaseUnusable) as error:
            if not journal:
                raise
            from sessionstats.ingest.batch_recording import journal_instead

            return journal_instead(self.target, entry, error)

    def record_batch(self, records: Iterable[TokenUsageInput | StoryInput], *,
                     create: bool = False) -> list[Recorded | SessionStatsError]:
        """Store token records and stories (of any of your sessions) in one open and one transaction, each on
        its own: an outcome per record, in order, its Recorded (created False for a repeated request id or story
        id) or the error that refused it, while the others are stored. Journaled when the database stays busy."""
        from sessionstats.ingest.batch_recording import entries_of, keep_batch

        return keep_batch(self, entries_of(records, user=self.user, create=create))

    def batch_writer(self) -> AbstractContextManager[BatchWriter]:
        """The database open to write for a run of batches (see `record_batch`), each in its own transaction."""
        from sessionstats.ingest.batch_recording import batch_writer

        return batch_writer(self)

    def _import(self, importer: Callable[..., ImportResult], path: str | os.PathLike[str], format: str | None,
                session: str | None, create_sessions: bool, zone: str | None,
                progress: Progress | None = None) -> ImportResult:
        from sessionstats.ingest.files import ImportFormat, ImportSource, resolve_format
        from sessionstats.times import resolve_zone, zone_name

        file = Path(path).expanduser()
        if not file.is_file():
            raise InvalidInput(f"path: {os.fspath(path)!r} is not a file you can read", field="path")
        chosen = resolve_format(file, _choice(ImportFormat, format, "format") if format is not None else None)
        resolve_zone(zone)  # an unknown zone is refused before the database is opened
        # A time without an offset is read where record_tokens and `import` read it: $SESSIONSTATS_TZ, else here
        zone = zone if zone is not None else zone_name(_reading_zone())
        default = check_id(session, "session") if session is not None else None
        with self._importing(progress, create=create_sessions) as (store, step):
            return importer(store, ImportSource(file, chosen, zone), user=self.user, session=default,
                            create_sessions=create_sessions, on_step=step)


def scope(since: TimeArg = None, until: TimeArg = None, *, model: str | None = None, tone: str | None = None,
          priority: str | None = None) -> Scope:
    """The filters as the core takes them; times are datetimes (naive ones local) or the CLI's text forms."""
    if since is None and until is None and model is None and tone is None and priority is None:
        return EVERYTHING
    return Scope(since=stored_time(since, "since"), until=stored_time(until, "until"), model=model, tone=tone,
                 priority=priority)


def stored_time(value: TimeArg, field: str) -> datetime | None:
    """A time as the database stores it (naive UTC); a naive datetime is local time, as on the command line."""
    if value is None:
        return None
    if isinstance(value, str):
        from sessionstats.times import parse_timestamp

        try:
            return parse_timestamp(value, option=field, zone=_reading_zone())
        except InvalidInput as error:
            raise InvalidInput(str(error), field=field) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field}: must be a datetime or a time as text, got {value!r}", field=field)
    from sessionstats.times import storable, wall_time_to_utc

    try:  # a naive time that occurs twice is the later one, as an import reads it
        stored = wall_time_to_utc(value, None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):  # datetime(1, 1, 1) east of UTC falls before year 1
        stored = None
    if storable(stored) is None:
        raise InvalidInput(f"{field}: {str(value)!r} is too far in the past or future to store", field=field)
    return stored


def aware(result: Result) -> Result:
    """The dataclass with every stored (naive UTC) time made an aware UTC datetime, nested ones too."""
    if isinstance(result, datetime):
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result
    if isinstance(result, list):
        return [aware(item) for item in result]  # type: ignore[return-value]
    if isinstance(result, dict):
        return {key: aware(value) for key, value in result.items()}  # type: ignore[return-value]
    if is_dataclass(result) and not isinstance(result, type):
        changed = {f.name: aware(getattr(result, f.name)) for f in fields(result) if f.init}
        return replace(result, **changed)
    return result


def to_json(result: Any, zone: str | tzinfo | None = None, indent: int = 2) -> str:
    """A result (or a list of them) as the CLI's `--format json` prints it: exact Decimals, ISO times in
    `zone` (a name or tzinfo), else in $SESSIONSTATS_TZ, else in the machine's zone, as the CLI shows them."""
    from sessionstats.display.render import to_json as render_json

    shown = zone if isinstance(zone, tzinfo) else _reading_zone(zone)
    return render_json(_plain(result), shown, indent)


def bucket_zone(zone: str | None = None) -> str:
    """The IANA zone days and hours are cut in: `zone`, else $SESSIONSTATS_TZ, else the machine's (UTC when
    it has no name), as `show --by day` and `timeline` cut them."""
    from sessionstats.times import zone_name

    return zone_name(_reading_zone(zone)) or "UTC"


def _reading_zone(zone: str | None = None) -> tzinfo | None:
    """The zone named (or $SESSIONSTATS_TZ); None stands for the machine's own, as in times.resolve_zone."""
    from sessionstats.times import resolve_zone

    try:
        return resolve_zone(zone or os.environ.get("SESSIONSTATS_TZ") or None)
    except InvalidInput as error:
        raise InvalidInput(str(error), field="zone") from None


def _plain(result: Any) -> Any:
    """A result as JSON's shapes: its own as_dict, else a dataclass's fields (Session, Recorded...) by name."""
    if hasattr(result, "as_dict"):
        return result.as_dict()
    if is_dataclass(result) and not isinstance(result, type):
        return {f.name: _plain(getattr(result, f.name)) for f in fields(result)}
    if isinstance(result, dict):
        return {key: _plain(value) for key, value in result.items()}
    if isinstance(result, list | tuple):
        return [_plain(item) for item in result]
    return result


def _choice(kind: Any, value: Any, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(str(member.value) for member in kind)
        raise InvalidInput(f"{field}: must be one of {names}, got {value!r}", field=field) from None

