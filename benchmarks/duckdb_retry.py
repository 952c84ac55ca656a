"""`sessionstats` with the other locking mechanism, for benchmarks/stress.py to measure against the flock.

No sidecar flock: every command opens DuckDB directly and retries DuckDB's own "Could not set lock"
error with exponential backoff and full jitter until the lock timeout. Not part of the product.

    python benchmarks/duckdb_retry.py record-tokens -s S --input 1 --output 2
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sessionstats.cli import main
from sessionstats.store import file as store

FIRST_DELAY = 0.005
LONGEST_DELAY = 0.5


@contextmanager
def no_file_lock(path: Path, *, exclusive: bool, deadline: float) -> Iterator[None]:
    yield


def connect_with_jitter(path: Path, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    """Retry DuckDB's lock error, sleeping a random time up to a doubling cap (full jitter)."""
    cap = FIRST_DELAY
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise store._unusable(path, error) from None
            if time.monotonic() >= deadline:
                raise store._busy(path) from None
            time.sleep(random.uniform(0, cap))
            cap = min(cap * 2, LONGEST_DELAY)
        except duckdb.Error as error:
            raise store._unusable(path, error) from None


store._file_lock = no_file_lock  # type: ignore[assignment]
store._connect = connect_with_jitter  # type: ignore[assignment]

if __name__ == "__main__":
    main()
