"""What the CLI hands the Python API: its filters as the API's keyword arguments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sessionstats import Scope


def scope_args(scope: Scope) -> dict[str, Any]:
    """The report filters as keyword arguments of an API call; times (stored naive UTC) made aware UTC."""
    return {"since": as_utc(scope.since), "until": as_utc(scope.until), "model": scope.model, "tone": scope.tone,
            "priority": scope.priority}


def as_utc(stored: datetime | None) -> datetime | None:
    """A time the CLI parsed (naive UTC) as the aware UTC time the API reads unchanged."""
    return stored.replace(tzinfo=UTC) if stored is not None else None
