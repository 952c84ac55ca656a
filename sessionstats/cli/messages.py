"""Lines for a person on stderr that several commands say the same way."""

from __future__ import annotations

import sys
from collections.abc import Mapping

# A summary's count of records whose log gave no time that could be read (every importer's summary says it alike).
UNTIMED = "stored at the import's time (their lines gave no time that could be read)"


def say(message: str) -> None:
    """One line on stderr, prefixed as every message of the tool is."""
    print(f"sessionstats: {message}", file=sys.stderr)


def warn_unknown_models(unknown: Mapping[str, int], *, outcome: str = "stored with an unknown cost") -> None:
    """One warning per model the price data lacks, with how many records it concerns: never priced at zero."""
    if not unknown:
        return
    from sessionstats import unpriced_model

    for model, records in unknown.items():
        say(f"warning: {unpriced_model(model)}; {records:,} records {outcome}")


def warn_unpriced(reasons: Mapping[str, int]) -> None:
    """One warning per reason records of a known model have no estimate (a tier with no published price...)."""
    for reason, records in reasons.items():
        say(f"warning: {reason}; {records:,} records stored with an unknown cost")
