"""A named pipe given as --narrative-file or --from-response: one that nothing writes to blocked the process for
ever in open(); now it is one line after PIPE_WRITER_SECONDS, and a pipe with a writer is still read whole."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import db_argument, snapshot, table_of

from sessionstats.cli.reading import PIPE_WRITER_SECONDS

pytestmark = pytest.mark.file_only  # reading happens before the store: the backend plays no part
RESPONSE = (b'{"type": "message", "id": "msg_1", "model": "my-own-model", '
            b'"usage": {"input_tokens": 3, "output_tokens": 1}}')
COMMANDS = {"--narrative-file": ("record-story", "-s", "s", "-t", "T", "--narrative-file"),
            "--from-response": ("record-tokens", "-s", "s", "--from-response")}


def sessionstats(db, *args: str, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    """The real CLI; the timeout bounds a hang (the failure this file is about) instead of asserting a time."""
    env = {**os.environ, "SESSIONSTATS_DB": db_argument(db), "SESSIONSTATS_USER": "alice"}
    return subprocess.run([sys.executable, "-m", "sessionstats", *args], env=env, capture_output=True, text=True,
                          timeout=PIPE_WRITER_SECONDS + 60, pass_fds=pass_fds)


@pytest.fixture
def session_s(cli, db) -> tuple:
    cli.ok("new", "--id", "s")
    return snapshot(db)


@pytest.mark.parametrize("option", COMMANDS)
def test_a_named_pipe_nothing_writes_to_is_one_line_not_a_hang(db, session_s, tmp_path, option):
    pipe = tmp_path / "in.fifo"
    os.mkfifo(pipe)
    result = sessionstats(db, *COMMANDS[option], str(pipe))
    assert result.returncode == 2
    assert result.stderr == (f"sessionstats: {option}: nothing wrote to the named pipe {str(pipe)!r} within "
                             f"{PIPE_WRITER_SECONDS} s; start its writer first, or pass - and pipe the data in\n")
    assert snapshot(db) == session_s


def write_later(pipe: Path, data: bytes, delay: float) -> threading.Thread:
    def write() -> None:
        time.sleep(delay)
        with pipe.open("wb") as writer:  # blocks until the reader has the pipe open
            writer.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def through_pipe_written_later(db, tmp_path: Path, option: str, data: bytes) -> subprocess.CompletedProcess:
    """The command of `option` reading a named pipe whose writer opens it half a second later and writes `data`."""
    pipe = tmp_path / "in.fifo"
    os.mkfifo(pipe)
    writer = write_later(pipe, data, delay=0.5)
    result = sessionstats(db, *COMMANDS[option], str(pipe))
    writer.join(timeout=30)
    return result


def test_a_named_pipe_whose_writer_comes_a_moment_later_is_read_whole(db, session_s, tmp_path):
    result = through_pipe_written_later(db, tmp_path, "--narrative-file", b"once upon a time")
    assert result.returncode == 0, result.stderr
    assert table_of(db, "SELECT narrative, word_count FROM story_history") == [("once upon a time", 4)]


def test_a_pipe_whose_writer_is_there_but_slow_is_waited_for_as_with_process_substitution(db, session_s):
    """`--from-response <(cmd)`: the writer holds the pipe open before it has written a byte."""
    read_end, write_end = os.pipe()
    try:
        def write() -> None:
            time.sleep(0.5)
            os.write(write_end, RESPONSE)
            os.close(write_end)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        result = sessionstats(db, *COMMANDS["--from-response"], f"/dev/fd/{read_end}", pass_fds=(read_end,))
        writer.join(timeout=30)
    finally:
        os.close(read_end)
    assert result.returncode == 0, result.stderr
    assert table_of(db, "SELECT request_id, input_tokens FROM token_usage") == [("msg_1", 3)]


def test_a_named_pipe_whose_writer_closes_without_writing_is_an_empty_input(db, session_s, tmp_path):
    result = through_pipe_written_later(db, tmp_path, "--from-response", b"")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sessionstats: --from-response: ")
    assert snapshot(db) == session_s
