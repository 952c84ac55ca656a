"""`doctor`: where the database is, its state, the price data and the history sources, each problem with a remedy."""

from __future__ import annotations

from sessionstats.cli.app import app
from sessionstats.cli.emit import emit
from sessionstats.cli.options import NO_SHARED, Shared, shared_options
from sessionstats.display.render import table
from sessionstats.reports.doctor import Finding, diagnose


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
    findings = diagnose(shared.db, user=shared.owner)
    emit([f.as_dict() for f in findings], ["check", "ok", "detail", "remedy"], shared.layout,
         lambda: table([_line(f) for f in findings], ["Check", "", "Detail"], text_columns=3) + "\n")


def _line(finding: Finding) -> list[str]:
    detail = finding.detail if finding.ok else f"{finding.detail}; to mend: {finding.remedy}"
    return [finding.check, "ok" if finding.ok else "PROBLEM", detail]
