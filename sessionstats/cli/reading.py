"""Reading a file or stdin the user names, bounded: a cap on every read, and one line when it is passed.

`--narrative-file /dev/zero` and `--from-response /dev/zero` grew until a MemoryError traceback, and
`import tokens - < /dev/zero` copied stdin to $TMPDIR until the disk was full.
"""

from __future__ import annotations

import os
import select
import shutil
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from sessionstats.errors import InvalidInput
from sessionstats.validate import MAX_TEXT_BYTES, check_text

MIB = 1 << 20
NARRATIVE_MAX_BYTES = MAX_TEXT_BYTES  # a story's text: the most any path stores
RESPONSE_MAX_BYTES = 64 * MIB  # an API response or event stream: the longest outputs stream a few MiB
IMPORT_STDIN_MAX_BYTES = 8 << 30  # 8 GiB of rows from stdin (~30M JSONL records); a file has no cap
IMPORT_STDIN_ENV = "SESSIONSTATS_IMPORT_STDIN_MAX_BYTES"
TMP_RESERVE_BYTES = 256 * MIB  # what a stdin copy leaves free in $TMPDIR for everything else
_CHUNK = MIB
PIPE_WRITER_SECONDS = 5  # how long a named pipe with no writer yet is waited for
BOM = b"\xef\xbb\xbf"


def size_text(size: int) -> str:
    """1048576 -> '1 MiB'; a byte count a person reads at a glance."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):,.4g} {unit}"
    return f"{size:,} bytes"


def read_bounded(source: str, option: str, cap: int) -> bytes:
    """A file's bytes, or stdin's for '-', read in chunks and refused past `cap` bytes."""
    where = "standard input" if source == "-" else repr(source)
    try:
        if source == "-":
            return _read_at_most(sys.stdin.buffer, cap, option, where)
        descriptor = os.open(check_text(source, option), os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb", buffering=0) as stream:
            first = _first_byte_of_a_pipe(descriptor, option, where)
            os.set_blocking(descriptor, True)
            return first + _read_at_most(stream, cap - len(first), option, where)  # type: ignore[arg-type]
    except OSError as error:
        raise InvalidInput(f"{option}: cannot read {where}: {error.strerror or error}") from None


def _first_byte_of_a_pipe(descriptor: int, option: str, where: str) -> bytes:
    """A named pipe's first byte, b"" for anything else. Opened the usual way, a pipe that nothing writes to
    blocked for ever; now a writer that is there (`<(cmd)`) is waited for as long as it takes, and one that is
    not gets PIPE_WRITER_SECONDS to come and write, then it is one line."""
    if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
        return b""
    try:
        first = os.read(descriptor, 1)
    except BlockingIOError:  # a writer holds it open and has not written yet
        return b""
    if first:
        return first
    waiting = select.poll()
    waiting.register(descriptor, select.POLLIN)
    if not waiting.poll(PIPE_WRITER_SECONDS * 1000):
        raise InvalidInput(f"{option}: nothing wrote to the named pipe {where} within {PIPE_WRITER_SECONDS} s; "
                           "start its writer first, or pass - and pipe the data in")
    return os.read(descriptor, 1)  # b"": a writer came and went without a word (an empty input)


def _read_at_most(stream: BinaryIO, cap: int, option: str, where: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(_CHUNK, cap + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            raise InvalidInput(f"{option}: {where} is larger than {size_text(cap)}, the most it reads")
    return b"".join(chunks)


def stdin_import_cap() -> int:
    """The most bytes `import ... -` copies from stdin: $SESSIONSTATS_IMPORT_STDIN_MAX_BYTES, else 8 GiB."""
    text = os.environ.get(IMPORT_STDIN_ENV, "").strip()
    if not text:
        return IMPORT_STDIN_MAX_BYTES
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{IMPORT_STDIN_ENV}: must be a whole number of bytes >= 1, got {text!r}")
    return int(text)


def starts_with_bom(stream: BinaryIO) -> bool:
    """Whether a buffered stream begins with a UTF-8 byte order mark (nothing is consumed)."""
    return stream.peek(3)[:3] == BOM  # type: ignore[attr-defined]


def spool(source: BinaryIO, destination: Path, *, cap: int | None, strip_bom: bool = False) -> None:
    """Copy `source` to `destination` (less a leading BOM), refusing past `cap` bytes or a nearly full disk."""
    room = shutil.disk_usage(destination.parent).free - TMP_RESERVE_BYTES
    limit = max(min(room, cap if cap is not None else room), 0)
    size = 0
    first = True
    with destination.open("wb") as copy:
        while chunk := source.read(_CHUNK):
            if first and strip_bom:
                chunk = chunk.removeprefix(BOM)
            first = False
            size += len(chunk)
            if size > limit:
                raise _too_big(cap, room, destination.parent)
            try:
                copy.write(chunk)
            except OSError as error:
                raise InvalidInput(f"FILE: cannot copy the rows to {str(destination.parent)!r} "
                                   f"({error.strerror}); import them from a file instead") from None


def _too_big(cap: int | None, room: int, folder: Path) -> InvalidInput:
    if cap is not None and cap <= room:
        return InvalidInput(f"FILE: the rows on standard input are over {size_text(cap)}, the most an import "
                            f"copies from stdin; import them from a file, or raise {IMPORT_STDIN_ENV}")
    return InvalidInput(f"FILE: the rows on standard input would fill {str(folder)!r} (it has "
                        f"{size_text(max(room, 0) + TMP_RESERVE_BYTES)} free); import them from a file, "
                        "or point TMPDIR at a bigger disk")
