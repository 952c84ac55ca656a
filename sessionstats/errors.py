"""The project's exceptions; each carries the exit code the CLI maps it to."""

from __future__ import annotations


class SessionStatsError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code = 2


class InvalidInput(SessionStatsError):
    """A value given by the user is not acceptable; nothing was written.

    `field` names the value as the core knows it (`input_tokens`, `session_id`), never as a CLI flag:
    each interface maps it to its own word (`--input`, a JSON key, `line 12`).
    """

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SessionNotFound(SessionStatsError):
    """The session does not exist, or belongs to another user (indistinguishable)."""

    exit_code = 1

    def __init__(self, session_id: str, *, suggestions: list[str] | None = None, remedy: str = "") -> None:
        hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
        super().__init__(f"session {session_id!r} not found ({hint}'sessionstats list' shows yours{remedy})")
        self.session_id = session_id
        self.suggestions = suggestions or []

    def with_remedy(self, remedy: str) -> SessionNotFound:
        """The same error with one more thing the person can do, in the words of their interface."""
        return SessionNotFound(self.session_id, suggestions=self.suggestions, remedy=f"; {remedy}")


class RecordNotFound(SessionStatsError):
    """No story or token record of the user's has this id (another user's reads the same)."""

    exit_code = 1

    def __init__(self, record_id: str) -> None:
        super().__init__(f"no story or token record {record_id!r} of yours ('sessionstats calls' and "
                         "'sessionstats stories' list a session's)")
        self.record_id = record_id


class AmbiguousSession(InvalidInput):
    """A session name or id prefix that fits more than one of the user's sessions."""

    def __init__(self, reference: str, candidates: list[tuple[str, str | None]]) -> None:
        shown = ", ".join(f"{id_} ({name})" if name else id_ for id_, name in candidates[:10])
        more = " and more" if len(candidates) > 10 else ""
        super().__init__(f"{reference!r} fits several of your sessions: {shown}{more}; give the whole id",
                         field="session_id")
        self.reference = reference
        self.candidates = [id_ for id_, _ in candidates]


class BudgetExceeded(SessionStatsError):
    """A budget check found a figure over its limit."""

    exit_code = 3


class DatabaseBusy(SessionStatsError):
    """The database lock could not be had within the lock timeout."""

    exit_code = 4


class DatabaseUnusable(SessionStatsError):
    """The database cannot be opened, read or written (not DuckDB, newer schema, no access)."""

    exit_code = 4


class NestedTransaction(RuntimeError):
    """`transaction()` inside another on the same store: a programming error, the same on both backends."""

    def __init__(self) -> None:
        super().__init__("a transaction is already open on this store; nested transactions are not supported "
                         "(do the inner work inside the outer transaction)")


class NoDatabaseYet(SessionNotFound):
    """A read asked for a session where no database has been made yet (nothing was created)."""

    def __init__(self, session_id: str, location: str) -> None:
        SessionStatsError.__init__(self, f"session {session_id!r} not found: there is no database at {location} "
                                         "yet (a command that records, such as 'sessionstats new', makes it)")
        self.session_id = session_id
        self.suggestions = []


class SessionStatsWarning(UserWarning):
    """Something the user should know that did not stop the command; the CLI shows it as one line on stderr."""
