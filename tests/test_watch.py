"""show --watch in a real process: it redraws when a record lands, marks the change, and exits 0 on Ctrl-C."""

import json
import os
import random
import signal
import sys
import time

import pytest
from children import Child
from conftest import PgDatabase, db_argument, execute_in

from sessionstats.cli.watch import changed_figures
from sessionstats.reports.stats import SessionStats


class Watcher:
    """A `show --watch` process whose stdout is read line by line in the background."""

    def __init__(self, process: Child) -> None:
        self.process = process
        self.seen: list[str] = []

    def wait_for(self, wanted, timeout: float = 30) -> str:
        """Read lines until one satisfies `wanted`; fail after `timeout` seconds or when the output ends."""
        deadline = time.monotonic() + timeout
        while line := self.process.readline(timeout=max(0.0, deadline - time.monotonic())):
            self.seen.append(line)
            if wanted(line):
                return line
        pytest.fail(f"no such line within {timeout}s (exit {self.process.poll()}); "
                    f"saw: {''.join(self.seen)[-2000:]}; stderr: {self.process.stderr}")

    def interrupt(self) -> tuple[int | None, str]:
        self.process.send_signal(signal.SIGINT)
        _, stderr = self.process.finish(timeout=30)
        return self.process.returncode, stderr


def environment(db) -> dict[str, str]:
    return {**os.environ, "SESSIONSTATS_DB": db_argument(db), "SESSIONSTATS_USER": "alice"}


@pytest.fixture
def watched(cli, db, spawn):
    """Start `show w --watch` with more options; each watcher is stopped and reaped after the test."""
    cli.ok("new", "Watched", "--id", "w")
    cli.ok("record-tokens", "-s", "w", "--input", "100", "--output", "50", "--cost", "0.5")
    return lambda *args: Watcher(spawn(sys.executable, "-m", "sessionstats", "show", "w", "--watch",
                                       "--interval", "0.1", *args, env=environment(db)))


def test_watch_redraws_after_a_record_lands_and_exits_0_on_ctrl_c(cli, watched):
    watcher = watched("--format", "table")
    watcher.wait_for(lambda line: "first look" in line)
    watcher.wait_for(lambda line: line.startswith("Total tokens") and line.split()[-1] == "150")
    cli.ok("record-tokens", "-s", "w", "--input", "1000", "--output", "234", "--cost", "0.0089")  # not blocked
    heading = watcher.wait_for(lambda line: "since the last refresh" in line)
    assert "figures changed since the last refresh" in heading
    total = watcher.wait_for(lambda line: line.startswith("Total tokens"))
    assert total.split()[-2:] == ["1,384", "+1,234"]
    cost = watcher.wait_for(lambda line: line.startswith("Total cost"))
    assert cost.split()[-2:] == ["$0.5089", "+$0.0089"]
    stories = watcher.wait_for(lambda line: line.startswith("Tokens per story"))
    assert stories.split()[-1] == "-"  # unchanged figures carry no mark
    cli.ok("record-story", "-s", "w", "--title", "t", "--narrative", "three small words")
    watcher.wait_for(lambda line: line.startswith("Stories") and line.split()[-1] == "+1")
    code, stderr = watcher.interrupt()
    assert (code, stderr) == (0, "")


def test_watch_with_json_writes_one_line_per_change(cli, watched):
    watcher = watched("--format", "json", "--by", "model")
    first = json.loads(watcher.wait_for(lambda line: line.startswith("{")))
    assert (first["api_calls"], first["breakdown"]["rows"][0]["model"]) == (1, None)
    cli.ok("record-tokens", "-s", "w", "--input", "1", "--output", "1", "--model", "m")
    second = json.loads(watcher.wait_for(lambda line: line.startswith("{")))
    assert second["api_calls"] == 2
    assert [row["model"] for row in second["breakdown"]["rows"]] == ["m", None]
    assert watcher.interrupt() == (0, "")


def test_watch_without_changes_does_not_redraw(cli, watched):
    watcher = watched("--format", "csv")
    watcher.wait_for(lambda line: line.startswith("session_id,"))
    watcher.wait_for(lambda line: line.startswith("w,"))
    time.sleep(1)  # ten refreshes with nothing new
    cli.ok("rename", "w", "Renamed")
    row = watcher.wait_for(lambda line: line.startswith("w,"))
    assert row.startswith("w,Renamed,")
    assert sum(line.startswith("session_id,") for line in watcher.seen) == 1
    assert sum(line.startswith("w,") for line in watcher.seen) == 2
    assert watcher.interrupt() == (0, "")


def test_changed_figures_says_by_how_much():
    before = _stats(story_count=1, total_tokens=100, total_cost="0.5", tokens_per_story=100.0, name="a")
    after = _stats(story_count=3, total_tokens=90, total_cost="0.25", tokens_per_story=30.0, name="b")
    assert changed_figures(before, after) == {"story_count": "+2", "total_tokens": "-10", "total_cost": "-$0.2500",
                                              "tokens_per_story": "-70.0", "name": "changed"}


def _stats(**figures) -> SessionStats:
    from dataclasses import fields
    from decimal import Decimal

    base = {f.name: None for f in fields(SessionStats)}
    base.update(figures)
    base["total_cost"] = Decimal(base["total_cost"])
    return SessionStats(**base)


@pytest.mark.slow
def test_ctrl_c_ends_the_watch_cleanly_even_in_the_middle_of_a_query(cli, spawn):
    """With 3M records and refreshes 50 ms apart, Ctrl-C mostly lands inside DuckDB's query.

    It used to surface as `RuntimeError: Query interrupted` (a traceback) or be swallowed for good.
    """
    cli.ok("new", "--id", "w")
    # enough rows that each refresh spends most of its time querying (the server sends them to DuckDB)
    rows = "generate_series(1, 300000) AS t(i)" if isinstance(cli.db, PgDatabase) else "range(3000000) AS t(i)"
    execute_in(cli.db, f"""INSERT INTO token_usage (id, user_id, session_id, input_tokens, output_tokens,
                   total_tokens, cost_source, created_at)
                   SELECT i::TEXT, 'alice', 'w', 1, 1, 2, 'unknown', TIMESTAMP '2026-01-01' FROM {rows}""")
    for delay in (0.0, 0.013, 0.029, 0.041, 0.057, 0.071):
        process = spawn(sys.executable, "-m", "sessionstats", "show", "w", "--watch", "--interval", "0.05",
                        "--format", "json", env=environment(cli.db))
        assert process.readline(timeout=120), process.stderr  # it is watching
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.finish(timeout=20)
        assert (process.returncode, err) == (0, "")


_WATCH_FOREVER = """
import sys
from dataclasses import fields
from sessionstats.cli.watch import watch
from sessionstats.reports.stats import SessionStats

stats = SessionStats(**{field.name: None for field in fields(SessionStats)})
for _ in range(int(sys.argv[1])):
    watch(lambda: (stats, None), lambda snapshot, changes: "watching\\n", 0.0005, clear_screen=False)
"""


@pytest.mark.slow
def test_ctrl_c_at_any_instant_ends_the_watch(spawn):
    """A thousand Ctrl-Cs at random instants of the refresh loop each end their watch.

    The handler used to set a threading.Event; about one press in 200 landed while the Event's own lock
    was held, and the watch hung for good.
    """
    presses = 1000
    process = spawn(sys.executable, "-c", _WATCH_FOREVER, str(presses))
    random_delays = random.Random(6)
    for press in range(presses):
        line = process.readline(timeout=10)
        assert line, f"watch {press} never ended: Ctrl-C was lost or hung the loop; {process.stderr}"
        assert line == "watching\n"
        time.sleep(random_delays.random() * 0.002)
        process.send_signal(signal.SIGINT)
    _, err = process.finish(timeout=10)
    assert (process.returncode, err) == (0, "")
