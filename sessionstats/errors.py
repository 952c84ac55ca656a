"""The project's exceptions; each carries the exit code the CLI maps it to."""


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

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id!r} not found ('sessionstats list' shows yours)")
        self.session_id = session_id


class BudgetExceeded(SessionStatsError):
    """A budget check found a figure over its limit."""

    exit_code = 3


class DatabaseBusy(SessionStatsError):
    """The database lock could not be had within the lock timeout."""

    exit_code = 4


class DatabaseUnusable(SessionStatsError):
    """The database cannot be opened, read or written (not DuckDB, newer schema, no access)."""

    exit_code = 4


class NoDatabaseYet(SessionNotFound):
    """A read asked for a session where no database has been made yet (nothing was created)."""

    def __init__(self, session_id: str, location: str) -> None:
        SessionStatsError.__init__(self, f"session {session_id!r} not found: there is no database at {location} "
                                         "yet (a command that records, such as 'sessionstats new', makes it)")
        self.session_id = session_id


class SessionStatsWarning(UserWarning):
    """Something the user should know that did not stop the command; the CLI shows it as one line on stderr."""
