"""Many processes at once: every acknowledged record lands exactly once, no command fails or waits too long.

The scenario of the issue is 16 writers x 100 calls plus 2 readers and a `show --watch`, each call its own
process. On the
2-core CI machine that is ~1,600 interpreter starts (~8 minutes), so CI runs it in two cheaper shapes:
16 writer processes x 12 commands, each command a full CLI run inside the writer (its own lock,
connection and close, exactly as a separate process would do them), and a few truly separate
`python -m sessionstats` processes through benchmarks/stress.py. The full scale is
`python benchmarks/stress.py` (and `--writers 64`). The watcher is a real `python -m sessionstats show s0
--watch` process (it re-opens the database for each refresh), stopped with SIGINT at the end.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from children import Child
from conftest import Database, db_argument, table_of

pytestmark = pytest.mark.slow  # hundreds of CLI runs in 20 processes at once

WRITERS = 16
CALLS = 12
LOCK_TIMEOUT = 10.0
USERS = ("alice", "bob")
SESSIONS = ("s0", "s1", "s2", "s3")
ROOT = Path(__file__).resolve().parent.parent

# The CLI runs of argv[1] (a JSON list of argument lists), in this process, one after another; a JSON line per run.
RUN_COMMANDS = """
import contextlib, io, json, sys, time
from typer.main import get_command
from sessionstats.cli import app
import sessionstats.store.runs
sessionstats.store.runs.RUN_ROWS = 10  # a file's rows are re-sorted in runs all through the test
command = get_command(app)
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    started, at = time.perf_counter(), time.time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = command.main(args, prog_name="sessionstats", standalone_mode=False)
    print(json.dumps({"args": args, "code": code, "out": out.getvalue(), "err": err.getvalue(),
                      "at": at, "seconds": time.perf_counter() - started}), flush=True)
"""

# Reads until the stop file appears: show and list, and the figures must always be whole.
READ_LOOP = """
import contextlib, io, json, os, sys, time
from typer.main import get_command
from sessionstats.cli import app
command = get_command(app)
db, user, stop = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.monotonic() + 300
while not os.path.exists(stop) and time.monotonic() < deadline:
    for args in (["show", "s0"], ["list"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = command.main([*args, "--format", "json", "--db", db, "--user", user],
                                prog_name="sessionstats", standalone_mode=False)
        print(json.dumps({"args": args, "code": code, "out": out.getvalue(), "err": err.getvalue()}), flush=True)
"""


def writer_commands(writer: int, db: Database) -> list[list[str]]:
    """Tokens on even calls, a story on odd ones, into one of four sessions of one of two users."""
    user = USERS[writer % 2]
    session = SESSIONS[writer // 2 % len(SESSIONS)]
    common = ["-s", session, "--db", db_argument(db, user), "--user", user]
    return [
        ["record-tokens", *common, "--input", "1", "--output", "2", "--cost", "0.001", "--request-id", f"w{writer}c{i}"]
        if i % 2 == 0 else
        ["record-story", *common, "--title", f"w{writer}c{i}", "--narrative", "one two three"]
        for i in range(CALLS)
    ]


def environment() -> dict[str, str]:
    return {**os.environ, "SESSIONSTATS_LOCK_TIMEOUT": str(LOCK_TIMEOUT)}


def start(spawn, script: str, *args: str) -> Child:
    """`python -c SCRIPT ARGS` through the `spawn` fixture, so it is reaped whatever the test does."""
    return spawn(sys.executable, "-c", script, *args, env=environment())


def start_writer(spawn, plan: list[list[str]]) -> Child:
    """A process running the plan's commands as soon as it starts, beside every other writer."""
    return start(spawn, RUN_COMMANDS, json.dumps(plan))


def results_of(process: Child) -> list[dict]:
    out, err = process.finish(timeout=300)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def results_of_all(writers: list[Child], readers: list[Child], stop: Path) -> tuple[list[dict], list[list[dict]]]:
    """Every writer's runs, then each reader's (stopped once the writers are done)."""
    runs_by_writer = [results_of(process) for process in writers]
    stop.touch()
    reads_by_reader = [results_of(process) for process in readers]
    assert most_at_once(runs_by_writer) >= len(writers) // 2  # the writers really wrote at the same time
    return [run for runs in runs_by_writer for run in runs], reads_by_reader


def most_at_once(runs_by_process: list[list[dict]]) -> int:
    """The most processes that were between their first run's start and their last run's end at one instant."""
    spans = [(runs[0]["at"], runs[-1]["at"] + runs[-1]["seconds"]) for runs in runs_by_process]
    return max(sum(start <= moment <= end for start, end in spans) for moment, _ in spans)


class Watcher:
    """`show s0 --watch --format json` as Alice in its own process; its JSON lines are read in the background."""

    def __init__(self, spawn, db: Database) -> None:
        self.process: Child = spawn(
            sys.executable, "-m", "sessionstats", "show", "s0", "--watch", "--interval", "0.05", "--format", "json",
            "--db", db_argument(db, "alice"), "--user", "alice", env=environment())
        self.seen: list[dict] = []

    def wait_for(self, records: int, timeout: float = 60) -> None:
        """Collect lines until one shows `records` records in s0 (stories plus token records)."""
        deadline = time.monotonic() + timeout
        while not self.seen or self.seen[-1]["api_calls"] + self.seen[-1]["story_count"] != records:
            line = self.process.readline(timeout=max(0.0, deadline - time.monotonic()))
            assert line, (f"the watcher never showed {records} records: {self.seen[-1:]} "
                          f"(exit {self.process.poll()}) {self.process.stderr}")
            self.seen.append(json.loads(line, parse_float=Decimal))

    def interrupt(self) -> tuple[int | None, str]:
        """Ctrl-C: the exit code and everything it wrote on stderr."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.finish(timeout=30)
        return self.process.returncode, err


def check_whole(stats: dict) -> None:
    """Every token record is 1+2 tokens at $0.001 and every story three words: a torn read breaks these."""
    assert stats["total_tokens"] == 3 * stats["api_calls"] == stats["input_tokens"] * 3
    assert Decimal(str(stats["total_cost"])) == Decimal("0.001") * stats["api_calls"]
    assert stats["word_count"] == 3 * stats["story_count"]


def test_sixteen_writers_and_two_readers_lose_nothing_and_fail_nothing(cli, db, tmp_path, spawn):
    for user in USERS:
        for session in SESSIONS:
            cli.as_user(user).ok("new", "--id", session)
    stop = tmp_path / "stop"
    watcher = Watcher(spawn, db)
    watcher.wait_for(0)  # it is watching before the first write
    readers = [start(spawn, READ_LOOP, db_argument(db, user), user, str(stop)) for user in USERS]
    plans = [writer_commands(w, db) for w in range(WRITERS)]
    runs, reads_by_reader = results_of_all([start_writer(spawn, plan) for plan in plans], readers, stop)
    reads = [run for runs_of_one in reads_by_reader for run in runs_of_one]

    # No command waited too long: one that waits past LOCK_TIMEOUT for the lock fails (exit 4, a line on stderr).
    failed = [run for run in runs + reads if run["code"] != 0 or run["err"]]
    assert failed == []
    assert len(runs) == WRITERS * CALLS
    printed = Counter(run["out"].strip() for run in runs)
    assert len(printed) == WRITERS * CALLS and all(len(i) == 36 for i in printed)
    stored = Counter(row[0] for row in table_of(db, "SELECT id FROM token_usage UNION ALL "
                                                    "SELECT id FROM story_history"))
    assert stored == printed  # each acknowledged id exactly once, and nothing else

    assert len(reads) >= 4  # the readers really read while the writers wrote
    for read in reads:
        figures = json.loads(read["out"], parse_float=Decimal)
        for stats in figures if isinstance(figures, list) else [figures]:
            check_whole(stats)
    for runs_of_one in reads_by_reader:  # one reader's view of its s0 only ever grows
        counts = [json.loads(r["out"])["api_calls"] + json.loads(r["out"])["story_count"]
                  for r in runs_of_one if r["args"][0] == "show"]
        assert counts == sorted(counts)
    final = {s["session_id"]: s for s in cli.json("list")}
    assert sum(s["api_calls"] + s["story_count"] for s in final.values()) == WRITERS * CALLS // 2

    s0 = final["s0"]["api_calls"] + final["s0"]["story_count"]
    watcher.wait_for(s0)  # it kept refreshing through the load and caught up with the last write
    assert watcher.interrupt() == (0, "")  # never failed, never reported the database busy
    counts = [stats["api_calls"] + stats["story_count"] for stats in watcher.seen]
    assert counts == sorted(counts) and len(counts) >= 3  # it saw the session grow, never shrink
    for stats in watcher.seen:
        check_whole(stats)


def test_separate_processes_through_the_stress_script(tmp_path):
    """Each call its own `python -m sessionstats`: the script prints one line and exits 0 only if all landed."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stress.py"), "--writers", "6", "--calls", "2",
                           "--readers", "2", "--sequential-calls", "0"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("\n") == 1
    assert "records expected 12, found 12, extra 0, failures 0" in done.stdout

