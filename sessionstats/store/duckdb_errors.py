"""DuckDB's errors as the project's, at the edge of the store: nothing above it catches a driver's exception.

The core's own readers still catch the DuckDB error they expect inside a command's work (a CSV that does
not parse is bad input); only what escapes the work is translated here.
"""

from __future__ import annotations

import duckdb

from sessionstats.errors import DatabaseUnusable

# DuckDB 1.5.5 turns the KeyboardInterrupt of a Ctrl-C inside a query into this RuntimeError, and no other sign.
_INTERRUPTED = "Query interrupted"


def translated(error: BaseException) -> BaseException:
    """Ctrl-C inside a query as KeyboardInterrupt again, any other DuckDB error as DatabaseUnusable; else `error`."""
    if type(error) is RuntimeError and str(error) == _INTERRUPTED:
        return KeyboardInterrupt()
    if isinstance(error, duckdb.Error):
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return DatabaseUnusable(f"database error: {reason}")
    return error
