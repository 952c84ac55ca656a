"""`doctor`: where the database is, its state, the price data and the history sources, each problem with a remedy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionstats.cli.app import app
from sessionstats.cli.emit import emit
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.display.render import table

if TYPE_CHECKING:
    from sessionstats import Finding


@app.command()
@shared_options("fmt", "db", "user")
def doctor(shared: Shared = NO_SHARED) -> None:
    """Say where the database is and what state it is in, and what this machine has to import.

    Each problem line says what to do. Nothing is created or changed.

    \b
    Example:
      sessionstats doctor
      sessionstats doctor --db team.duckdb --format json
    """
    from sessionstats import diagnose

    findings = diagnose(shared.db, shared.user)
    emit([f.as_dict() for f in findings], ["check", "ok", "detail", "remedy"], shared.layout,
         lambda: table([_line(f) for f in findings], ["Check", "", "Detail"], text_columns=3) + "\n")


def _line(finding: Finding) -> list[str]:
    detail = finding.detail if finding.ok else f"{finding.detail}; to mend: {finding.remedy}"
    return [finding.check, "ok" if finding.ok else "PROBLEM", detail]
