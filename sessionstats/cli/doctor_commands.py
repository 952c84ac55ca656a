"""`doctor`: where the database is, its state, the price data and the history sources, each problem with a remedy."""

from __future__ import annotations

import sys

from sessionstats.cli.app import app
from sessionstats.cli.options import DbOption, FormatOption, UserOption, resolve_format, resolve_user
from sessionstats.doctor import Finding, diagnose
from sessionstats.render import Format, table, to_machine


@app.command()
def doctor(fmt: FormatOption = None, db: DbOption = None, user: UserOption = None) -> None:
    """Say where the database is and what state it is in, and what this machine has to import.

    Each problem line says what to do. Nothing is created or changed.

    \b
    Example:
      sessionstats doctor
      sessionstats doctor --db team.duckdb --format json
    """
    findings = diagnose(db, user=resolve_user(user, db))
    shown = resolve_format(fmt)
    if shown is not Format.table:
        sys.stdout.write(to_machine([f.as_dict() for f in findings], ["check", "ok", "detail", "remedy"], shown))
    else:
        sys.stdout.write(table([_line(f) for f in findings], ["Check", "", "Detail"], text_columns=3) + "\n")


def _line(finding: Finding) -> list[str]:
    detail = finding.detail if finding.ok else f"{finding.detail}; to mend: {finding.remedy}"
    return [finding.check, "ok" if finding.ok else "PROBLEM", detail]
