"""Time fresh processes (wall clock and peak memory), and capture the SQL a command runs for its floor."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The floor: a fresh interpreter that imports duckdb, opens the file and runs the command's statements.
FLOOR_SCRIPT = (
    "import sys, datetime, duckdb\n"
    "from decimal import Decimal\n"
    "con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'read')\n"
    "for sql, params in eval(sys.argv[3]):\n"
    "    con.execute(sql, eval(params)).fetchall()\n"
    "con.close()\n"
)

# The floor opens the file itself: the product's attaching, switching to and detaching it (and its settings)
# are that open and close.
_SKIPPED_SQL = ("BEGIN", "COMMIT", "ROLLBACK", "CHECKPOINT", "ATTACH", "DETACH", "USE ", "SET ", "RESET ")
_BOOKKEEPING = ("schema_migrations", "information_schema", "duckdb_")


@dataclass
class Samples:
    """Wall seconds and peak RSS (bytes) of repeated runs of one command."""

    seconds: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # user + system: steadier than wall on a busy machine

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_seconds)

    @property
    def peak(self) -> int:
        return max(self.peak_rss)


@dataclass(frozen=True)
class Command:
    """A command line, its environment additions, and something to run untimed before each run."""

    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None


class CommandFailed(RuntimeError):
    pass


# Children are spawned by this small helper process, not by the benchmark itself: on exec, Linux counts
# the spawning process's peak memory into the child's ru_maxrss, and the benchmark grows large.
_LAUNCHER = r"""
import json, os, sys, tempfile, time
for line in sys.stdin:
    request = json.loads(line)
    with tempfile.TemporaryFile() as errors:
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_DUP2, errors.fileno(), 2)]
        started = time.perf_counter()
        pid = os.posix_spawn(request["argv"][0], request["argv"], request["env"], file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
        errors.seek(0)
        text = errors.read().decode(errors="replace")[-500:]
    print(json.dumps({"seconds": elapsed, "rss": usage.ru_maxrss * 1024, "cpu": usage.ru_utime + usage.ru_stime,
                      "code": os.waitstatus_to_exitcode(status), "stderr": text}), flush=True)
"""
_launcher: subprocess.Popen | None = None


def run_once(command: Command) -> tuple[float, int, float]:
    """Run the command as a fresh process; return (wall seconds, peak RSS bytes, CPU seconds)."""
    global _launcher
    if command.prepare is not None:
        command.prepare()
    if _launcher is None:
        _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
    request = {"argv": list(command.argv), "env": {**os.environ, **command.env}}
    _launcher.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
    _launcher.stdin.flush()  # type: ignore[union-attr]
    answer = json.loads(_launcher.stdout.readline())  # type: ignore[union-attr]
    if answer["code"] != 0:
        raise CommandFailed(f"{' '.join(command.argv[:4])} ... exited {answer['code']}: {answer['stderr'].strip()}")
    return answer["seconds"], answer["rss"], answer["cpu"]


def compare(product: Command, floor: Command | None, runs: int) -> tuple[Samples, Samples | None]:
    """One untimed warm-up each, then `runs` interleaved pairs (alternating which goes first)."""
    timed_product, timed_floor = Samples(), Samples() if floor else None
    run_once(product)
    if floor:
        run_once(floor)
    for turn in range(runs):
        order = [(product, timed_product), (floor, timed_floor)]
        for command, samples in order if turn % 2 == 0 else reversed(order):
            if command is None or samples is None:
                continue
            seconds, rss, cpu = run_once(command)
            samples.seconds.append(seconds)
            samples.peak_rss.append(rss)
            samples.cpu_seconds.append(cpu)
    return timed_product, timed_floor


def product_argv() -> list[str]:
    """The console script a user runs, from the same environment as this interpreter."""
    script = Path(sys.executable).with_name("sessionstats")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sessionstats"]


def floor_command(db: Path, statements: list[tuple[str, object]], *, read_only: bool) -> Command:
    """A `python -c` process running the statements on the same file, with nothing of sessionstats."""
    payload = repr([(sql, repr(params)) for sql, params in statements])
    return Command([sys.executable, "-c", FLOOR_SCRIPT, str(db), "read" if read_only else "write", payload])


class _RecordingConnection:
    """Passes everything to a DuckDB connection and notes each statement with its parameters."""

    def __init__(self, con, log: list[tuple[str, object]]) -> None:
        self._con = con
        self._log = log

    def execute(self, sql, parameters=None):
        self._log.append((sql, parameters))
        return self._con.execute(sql) if parameters is None else self._con.execute(sql, parameters)

    def executemany(self, sql, parameters=None):
        self._log.append((sql, parameters))
        return self._con.executemany(sql, parameters)

    def cursor(self):
        """The store works through a cursor of its connection (with the file attached): note its statements too."""
        return _RecordingConnection(self._con.cursor(), self._log)

    def __getattr__(self, name):
        return getattr(self._con, name)


def capture_statements(args: Sequence[str], env: dict[str, str]) -> list[tuple[str, object]]:
    """Run the command in this process and return the data statements it sent to DuckDB.

    Transaction control and schema bookkeeping are left out: the floor runs only the work itself.
    """
    import duckdb

    from sessionstats.cli import app

    log: list[tuple[str, object]] = []
    real_connect = duckdb.connect

    def recording_connect(*a, **k):
        return _RecordingConnection(real_connect(*a, **k), log)

    saved_env = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    duckdb.connect = recording_connect
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as errors:
            code = app(args=list(args), prog_name="sessionstats", standalone_mode=False)
        if code:
            raise CommandFailed(f"{' '.join(args[:3])} ... exited {code} in-process: {errors.getvalue().strip()}")
    finally:
        duckdb.connect = real_connect
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return [(sql, params) for sql, params in log if _is_data_statement(sql)]


def _is_data_statement(sql: str) -> bool:
    text = sql.strip()
    if text.upper().startswith(_SKIPPED_SQL):
        return False
    return not any(word in text for word in _BOOKKEEPING)


def copy_file(source: Path, target: Path) -> None:
    """A byte copy of a database (its WAL too, if one was left)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    target_wal = target.with_name(target.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target_wal)
    else:
        target_wal.unlink(missing_ok=True)


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def fmt_bytes(size: float | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:,.0f} MiB"


@dataclass
class Result:
    """One line of the main table."""

    measure: str
    size: str
    product: Samples | None
    floor: Samples | None
    target: str
    verdict: str = ""
    note: str = ""


@dataclass(frozen=True)
class Target:
    max_ratio: float | None = None
    max_seconds: float | None = None

    def describe(self) -> str:
        parts = []
        if self.max_ratio:
            parts.append(f"<= {self.max_ratio}x floor")
        if self.max_seconds:
            parts.append(f"< {self.max_seconds * 1000:.0f} ms")
        return ", ".join(parts)

    def judge(self, product: Samples, floor: Samples | None) -> str:
        ok = True
        if self.max_ratio and floor is not None:
            ok &= product.median / floor.median <= self.max_ratio
        if self.max_seconds:
            ok &= product.median < self.max_seconds
        return "ok" if ok else "MISSED"
