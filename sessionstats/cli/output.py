"""Standard output that fails in one documented way: exit 5, one line, never a traceback.

A full disk (`> /dev/full`) or a closed stdout (`>&-`) used to end in a traceback and exit 1 after a
record was stored, so a script that retried stored it twice. A reader that went away (`| head`) is
not a failure: BrokenPipeError passes through untouched and the app exits 0, quietly.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sessionstats.errors import SessionStatsError

OUTPUT_EXIT = 5


class OutputFailed(SessionStatsError):
    """Standard output could not be written (full, closed, an I/O error); what was stored stays stored."""

    exit_code = OUTPUT_EXIT

    def __init__(self, reason: str, stored: str | None = None) -> None:
        done = f"; {stored} IS stored: do not record it again" if stored else ""
        super().__init__(f"could not write to standard output ({reason}){done}")
        self.reason = reason

    def after_storing(self, stored: str) -> OutputFailed:
        """The same failure, saying what the command stored before it (`token record 0192...`)."""
        return OutputFailed(self.reason, stored)


def _reason(error: OSError) -> str:
    if error.errno == errno.EBADF:
        return "it is closed"
    return error.strerror or str(error)


class GuardedStream:
    """A stream whose write and flush raise OutputFailed instead of OSError (EPIPE excepted)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: Any) -> int:
        with _as_output_failure():
            return self._stream.write(data)

    def flush(self) -> None:
        with _as_output_failure():
            self._stream.flush()

    @property
    def buffer(self) -> GuardedStream:
        return GuardedStream(self._stream.buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _as_output_failure() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputFailed(_reason(error)) from None
    except ValueError as error:  # a stream closed under us ("I/O operation on closed file")
        raise OutputFailed("it is closed") from error


class BestEffortStream(GuardedStream):
    """stderr: a message that cannot be written is dropped; the exit code still tells what happened."""

    def write(self, data: Any) -> int:
        try:
            return self._stream.write(data)
        except (OSError, ValueError):
            return len(data)

    def flush(self) -> None:
        with suppress(OSError, ValueError):
            self._stream.flush()

    @property
    def buffer(self) -> BestEffortStream:
        return BestEffortStream(self._stream.buffer)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """For the command's run, sys.stdout raises OutputFailed on a failed write or flush, and a full or
    closed stderr drops messages instead of turning a stored import into a traceback and exit 1."""
    original_out, original_err = sys.stdout, sys.stderr
    if original_out is None or isinstance(original_out, GuardedStream):
        yield
        return
    sys.stdout = GuardedStream(original_out)  # type: ignore[assignment]
    sys.stderr = BestEffortStream(original_err)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = original_out, original_err


def flush_stdout() -> None:
    """Push out what is buffered now, so that a failure is reported by the app, not lost at exit."""
    sys.stdout.flush()


def print_stored_id(record_id: str, what: str) -> None:
    """Print the id of what was just stored; if stdout fails, the one line says it IS stored, with the id."""
    try:
        print(record_id)
        sys.stdout.flush()
    except OutputFailed as error:
        raise error.after_storing(f"{what} {record_id}") from None


def occupy_closed_standard_streams() -> None:
    """Put /dev/null on a closed fd 0, 1 or 2, so no database file can land on it and be written by print.

    A closed stdout is reopened unwritable: the first write fails (exit 5) rather than vanishing.
    """
    if sys.stdin is not None and sys.stdout is not None and sys.stderr is not None:
        return  # Python set each of them up, so all three fds are open: no system calls
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, mode)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the process's stdout, never closed)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    if sys.stdin is None:
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
