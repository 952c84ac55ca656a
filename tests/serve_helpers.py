"""A real `sessionstats serve` process on a free loopback port, for the OTLP, browser and load tests."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

STARTUP_SECONDS = 30
_URL = re.compile(r"at (http://\S+/)")


@contextmanager
def serving(db: str, user: str = "alice", *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `serve --port 0` on `db` as `user`, yield its URL once it listens, and always reap it."""
    full_env = {**os.environ, "SESSIONSTATS_DB": db, "SESSIONSTATS_USER": user, **(env or {})}
    process = subprocess.Popen([sys.executable, "-m", "sessionstats", "serve", "--port", "0", *extra],
                               env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield _announced_url(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def _announced_url(process: subprocess.Popen) -> str:
    """The URL from the server's first stderr line, read with a deadline (never a blocking read)."""
    assert process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline, seen = time.monotonic() + STARTUP_SECONDS, b""
    while b"\n" not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not selector.select(timeout=left):
            raise AssertionError(f"serve did not start in {STARTUP_SECONDS}s: {seen!r}")
        chunk = os.read(process.stderr.fileno(), 4096)
        if not chunk:
            raise AssertionError(f"serve exited ({process.wait(timeout=5)}): {seen!r}")
        seen += chunk
    found = _URL.search(seen.decode())
    assert found, seen
    return found.group(1)
