"""sessionstats: record what LLM-driven generators produce and cost, per session, and report on it.

    import sessionstats

    db = sessionstats.connect()                      # $SESSIONSTATS_DB / $SESSIONSTATS_USER, as the CLI
    session = db.new_session("Friday broadcast")
    session.record_tokens(1200, 350, model="claude-sonnet-4-5")
    print(session.stats().total_cost)                # Decimal, exact

Names load on first use, so `import sessionstats` (and every CLI command) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "connect": "sessionstats.api",
    "Database": "sessionstats.api",
    "to_json": "sessionstats.api",
    "SessionHandle": "sessionstats.session_api",
    "StoryDraft": "sessionstats.session_api",
    "track": "sessionstats.tracking",
    "TrackWarning": "sessionstats.tracking",
    "Recorded": "sessionstats.ingest.records",
    "TokenUsageInput": "sessionstats.ingest.records",
    "Session": "sessionstats.sessions",
    "SessionStats": "sessionstats.reports.stats",
    "Breakdown": "sessionstats.reports.breakdowns",
    "BreakdownRow": "sessionstats.reports.breakdowns",
    "Dimension": "sessionstats.reports.breakdowns",
    "Bucket": "sessionstats.reports.timeline",
    "ImportResult": "sessionstats.ingest.files.batch",
    "ExportWhat": "sessionstats.reports.export",
    "SessionStatsError": "sessionstats.errors",
    "InvalidInput": "sessionstats.errors",
    "SessionNotFound": "sessionstats.errors",
    "BudgetExceeded": "sessionstats.errors",
    "DatabaseBusy": "sessionstats.errors",
    "DatabaseUnusable": "sessionstats.errors",
}

__all__ = [
    "Breakdown",
    "BreakdownRow",
    "Bucket",
    "BudgetExceeded",
    "Database",
    "DatabaseBusy",
    "DatabaseUnusable",
    "Dimension",
    "ExportWhat",
    "ImportResult",
    "InvalidInput",
    "Recorded",
    "Session",
    "SessionHandle",
    "SessionNotFound",
    "SessionStats",
    "SessionStatsError",
    "StoryDraft",
    "TokenUsageInput",
    "TrackWarning",
    "connect",
    "to_json",
    "track",
]

if TYPE_CHECKING:
    from sessionstats.api import Database, connect, to_json
    from sessionstats.errors import (
        BudgetExceeded,
        DatabaseBusy,
        DatabaseUnusable,
        InvalidInput,
        SessionNotFound,
        SessionStatsError,
    )
    from sessionstats.ingest.files.batch import ImportResult
    from sessionstats.ingest.records import Recorded, TokenUsageInput
    from sessionstats.reports.breakdowns import Breakdown, BreakdownRow, Dimension
    from sessionstats.reports.export import ExportWhat
    from sessionstats.reports.stats import SessionStats
    from sessionstats.reports.timeline import Bucket
    from sessionstats.session_api import SessionHandle, StoryDraft
    from sessionstats.sessions import Session
    from sessionstats.tracking import TrackWarning, track


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sessionstats' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
