"""Child processes a test can never block on: threads read their pipes, so every wait has a bound.

A failed `process.stdout.readline()` followed by `process.stderr.read()` once waited 600 s for a
paused child, and a `show --watch` child outlived pytest by 23 minutes. Here stdout is read line
by line and stderr whole by daemon threads as the child writes, so an assertion message reads what
has arrived so far; the `spawn` fixture (tests/conftest.py) kills and waits for every child at teardown.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO

_ENDED = None  # put after the last line of stdout


class Child:
    """A started process whose stdout lines and stderr text are collected in the background."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(argv, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._readers = [threading.Thread(target=self._read_lines, args=(self.process.stdout,), daemon=True),
                         threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_lines(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(_ENDED)

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def stderr(self) -> str:
        """What the child has written on stderr so far (never waits)."""
        return "".join(self._stderr)

    def poll(self) -> int | None:
        return self.process.poll()

    def readline(self, timeout: float = 60) -> str:
        """The next line of stdout, or "" if stdout ended or no line came within `timeout` seconds."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return ""
        if line is _ENDED:
            self._lines.put(_ENDED)  # every later call sees the end too
            return ""
        return line

    def send_signal(self, signal: int) -> None:
        self.process.send_signal(signal)

    def finish(self, timeout: float = 30) -> tuple[str, str]:
        """Wait for the exit (raising TimeoutExpired after `timeout`), then the unread stdout and all stderr."""
        self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=timeout)
        rest = []
        while (line := self.readline(timeout=0)) != "":
            rest.append(line)
        return "".join(rest), self.stderr

    def kill(self) -> tuple[str, str]:
        """SIGKILL, then `finish`."""
        self.process.kill()
        return self.finish()

    def reap(self) -> None:
        """Kill the child if it still runs and wait for it; close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.close()  # type: ignore[union-attr]


def blocked_on_flock(pid: int) -> bool:
    """Whether the process waits for a flock now (a `->` line of /proc/locks names the waiters)."""
    with open("/proc/locks") as locks:
        return any("->" in line and f" {pid} " in line for line in locks)


def wait_until(condition: Callable[[], bool], child: Child, what: str, timeout: float = 60) -> None:
    """Poll `condition` until it holds; fail, with the child's stderr, if the child exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert child.poll() is None, f"the child exited ({child.returncode}) before {what}: {child.stderr}"
        assert time.monotonic() < deadline, f"not {what} within {timeout} s: {child.stderr}"
        time.sleep(0.05)
