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
    "DatabaseReady": "sessionstats.api_tasks",
    "agent_sources": "sessionstats.api_tasks",
    "diagnose": "sessionstats.api_tasks",
    "init_db": "sessionstats.api_tasks",
    "read_response": "sessionstats.api_tasks",
    "ResponseUsage": "sessionstats.ingest.responses",
    "unpriced_model": "sessionstats.api_tasks",
    "import_format": "sessionstats.api_tasks",
    "Scope": "sessionstats.reports.scope",
    "Budget": "sessionstats.reports.budget",
    "BudgetReport": "sessionstats.reports.budget",
    "DEFAULT_WARN_AT": "sessionstats.reports.budget",
    "Finding": "sessionstats.reports.doctor",
    "RecordExplanation": "sessionstats.pricing.explain",
    "SessionCostSplit": "sessionstats.pricing.explain",
    "COST_SOURCES": "sessionstats.pricing.explain",
    "RepriceResult": "sessionstats.pricing.reprice",
    "RateChange": "sessionstats.pricing.reprice",
    "REPRICE_FIGURES": "sessionstats.pricing.reprice",
    "StoryLine": "sessionstats.reports.session_records",
    "CallLine": "sessionstats.reports.session_records",
    "STORY_FIELDS": "sessionstats.reports.session_records",
    "CALL_FIELDS": "sessionstats.reports.session_records",
    "RecordFound": "sessionstats.sessions",
    "HistoryResult": "sessionstats.ingest.claude_code",
    "LlmResult": "sessionstats.ingest.llm_logs",
    "SourceSummary": "sessionstats.ingest.agent_import",
    "ImportFormat": "sessionstats.ingest.files",
    "FIGURES": "sessionstats.reports.stats",
    "SORTABLE": "sessionstats.reports.stats",
    "MIN_RATE_SECONDS": "sessionstats.reports.stats",
    "BUCKET_FIGURES": "sessionstats.reports.timeline",
    "parse_every": "sessionstats.reports.timeline",
    "SessionStatsError": "sessionstats.errors",
    "InvalidInput": "sessionstats.errors",
    "SessionNotFound": "sessionstats.errors",
    "BudgetExceeded": "sessionstats.errors",
    "DatabaseBusy": "sessionstats.errors",
    "DatabaseUnusable": "sessionstats.errors",
}

__all__ = [
    "BUCKET_FIGURES",
    "CALL_FIELDS",
    "COST_SOURCES",
    "DEFAULT_WARN_AT",
    "FIGURES",
    "MIN_RATE_SECONDS",
    "REPRICE_FIGURES",
    "SORTABLE",
    "STORY_FIELDS",
    "Breakdown",
    "BreakdownRow",
    "Bucket",
    "Budget",
    "BudgetExceeded",
    "BudgetReport",
    "CallLine",
    "Database",
    "DatabaseBusy",
    "DatabaseReady",
    "DatabaseUnusable",
    "Dimension",
    "ExportWhat",
    "Finding",
    "HistoryResult",
    "ImportFormat",
    "ImportResult",
    "InvalidInput",
    "LlmResult",
    "RateChange",
    "RecordExplanation",
    "RecordFound",
    "Recorded",
    "RepriceResult",
    "ResponseUsage",
    "Scope",
    "Session",
    "SessionCostSplit",
    "SessionHandle",
    "SessionNotFound",
    "SessionStats",
    "SessionStatsError",
    "SourceSummary",
    "StoryDraft",
    "StoryLine",
    "TokenUsageInput",
    "TrackWarning",
    "agent_sources",
    "connect",
    "diagnose",
    "import_format",
    "init_db",
    "parse_every",
    "read_response",
    "to_json",
    "track",
    "unpriced_model",
]

if TYPE_CHECKING:
    from sessionstats.api import Database, connect, to_json
    from sessionstats.api_tasks import (
        DatabaseReady,
        agent_sources,
        diagnose,
        import_format,
        init_db,
        read_response,
        unpriced_model,
    )
    from sessionstats.errors import (
        BudgetExceeded,
        DatabaseBusy,
        DatabaseUnusable,
        InvalidInput,
        SessionNotFound,
        SessionStatsError,
    )
    from sessionstats.ingest.agent_import import SourceSummary
    from sessionstats.ingest.claude_code import HistoryResult
    from sessionstats.ingest.files import ImportFormat
    from sessionstats.ingest.files.batch import ImportResult
    from sessionstats.ingest.llm_logs import LlmResult
    from sessionstats.ingest.records import Recorded, TokenUsageInput
    from sessionstats.ingest.responses import ResponseUsage
    from sessionstats.pricing.explain import COST_SOURCES, RecordExplanation, SessionCostSplit
    from sessionstats.pricing.reprice import REPRICE_FIGURES, RateChange, RepriceResult
    from sessionstats.reports.breakdowns import Breakdown, BreakdownRow, Dimension
    from sessionstats.reports.budget import DEFAULT_WARN_AT, Budget, BudgetReport
    from sessionstats.reports.doctor import Finding
    from sessionstats.reports.export import ExportWhat
    from sessionstats.reports.scope import Scope
    from sessionstats.reports.session_records import CALL_FIELDS, STORY_FIELDS, CallLine, StoryLine
    from sessionstats.reports.stats import FIGURES, MIN_RATE_SECONDS, SORTABLE, SessionStats
    from sessionstats.reports.timeline import BUCKET_FIGURES, Bucket, parse_every
    from sessionstats.session_api import SessionHandle, StoryDraft
    from sessionstats.sessions import RecordFound, Session
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
