"""Lines for a person on stderr that several commands say the same way."""

from __future__ import annotations

import sys
from collections.abc import Mapping


def say(message: str) -> None:
    """One line on stderr, prefixed as every message of the tool is."""
    print(f"sessionstats: {message}", file=sys.stderr)


def warn_unknown_models(unknown: Mapping[str, int], *, outcome: str = "stored with an unknown cost") -> None:
    """One warning per model the price data lacks, with how many records it concerns: never priced at zero."""
    if not unknown:
        return
    from sessionstats.pricing import price_data_version

    for model, records in unknown.items():
        say(f"warning: model {model!r} is not in the price data (genai-prices {price_data_version()}); "
            f"{records:,} records {outcome}")
