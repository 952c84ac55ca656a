"""`sessionstats serve` under load: capture over HTTP and OTLP against `record-tokens` processes.

    python benchmarks/bench_serve.py [--records 10000] [--clients 16] [--listeners 4] [--cli-records 160]
                                     [--only http,arrays,otlp,processes]

1. HTTP: `--clients` client processes post `--records` single token records in all (each with its own request
   id) to one `serve` process while `--listeners` pages hold /api/events open. Every record must be stored once;
   prints records per second and the p50/p99 latency of a request. Each client is its own process with one
   keep-alive connection (http.client, Nagle off), as separate generators are: 16 httpx threads in one process
   shared one GIL and spent ~0.5-1 ms of CPU a request that the server's 2 cores then lacked.
2. HTTP in arrays of `--batch` records (one request stores them all, in one transaction).
3. OTLP: the same with OTLP/HTTP JSON log exports, one Claude Code `api_request` event each.
4. The same number of clients running `record-tokens` processes (`--cli-records` in all: a process start per
   record is too slow for 10,000), for the records per second the server is measured against.
Target (issue 17): 1,000 records per second from many clients, none lost. The load average is printed before
and after each run, and the server's CPU seconds per record, which a busy machine disturbs less than the rate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx

_URL = re.compile(r"at (http://\S+/)")


@contextmanager
def server(db: Path, env: dict[str, str]) -> Iterator[str]:
    """A `serve` process on a free loopback port; its URL once it listens; always stopped."""
    process = subprocess.Popen([sys.executable, "-m", "sessionstats", "serve", "--port", "0"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stderr, selectors.EVENT_READ)
        seen = b""
        while b"\n" not in seen:
            if not selector.select(timeout=30):
                raise SystemExit(f"serve did not start: {seen!r}")
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                raise SystemExit(f"serve exited: {seen!r}")
            seen += chunk
        found = _URL.search(seen.decode())
        if found is None:
            raise SystemExit(f"serve said: {seen!r}")
        yield found.group(1)
        SERVER_CPU.append(_cpu_seconds(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=30)


SERVER_CPU: list[float] = []  # the last server's CPU seconds (user + system) when its load ended


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listen(url: str, stop: threading.Event, events: list[int]) -> None:
    """An open page: hold /api/events and count the updates pushed (until the server stops)."""
    try:
        with httpx.Client(timeout=None) as client, client.stream("GET", f"{url}api/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    events.append(1)
                if stop.is_set():
                    return
    except httpx.HTTPError:
        return  # the server stopped


Request = Callable[[int], tuple[str, bytes]]  # record number -> (path, JSON body)


def load(url: str, request: Request, records: int, clients: int) -> tuple[float, list[float]]:
    """POST `records` in all from `clients` processes, each on its own keep-alive connection; wall seconds
    (from the moment all are connected) and each request's latency (ms)."""
    context = multiprocessing.get_context("spawn")  # forking beside the pages' threads could copy a held lock
    ready, results = context.Barrier(clients + 1), context.Queue()
    workers = [context.Process(target=_client, args=(url, request, range(i, records, clients), ready, results))
               for i in range(clients)]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=60)
        started = time.perf_counter()
        parts = [results.get(timeout=600) for _ in workers]
        wall = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.join(timeout=30)
    if failed := [part for part in parts if isinstance(part, str)]:
        raise SystemExit(failed[0])
    return wall, [latency for part in parts for latency in part]


def _client(url: str, request: Request, numbers: range, ready: object, results: object) -> None:
    """One client process: connect, wait for the others, post its records one after another."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies: list[float] = []
    ready.wait(timeout=60)  # type: ignore[attr-defined]
    for n in numbers:
        path, body = request(n)
        started = time.perf_counter()
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        latencies.append((time.perf_counter() - started) * 1000)
        if answer.status not in (200, 201):
            results.put(f"record {n}: HTTP {answer.status}")  # type: ignore[attr-defined]
            return
    results.put(latencies)  # type: ignore[attr-defined]


def token_record(session: str, n: int) -> tuple[str, bytes]:
    return f"/api/sessions/{session}/tokens", json.dumps({
        "input_tokens": 10, "output_tokens": 5, "cost": "0.0001", "request_id": f"req-{n}"}).encode()


def token_array(session: str, size: int, n: int) -> tuple[str, bytes]:
    batch = [{"input_tokens": 10, "output_tokens": 5, "cost": "0.0001", "request_id": f"req-{n}-{i}"}
             for i in range(size)]
    return f"/api/sessions/{session}/tokens", json.dumps(batch).encode()


def otlp_export(n: int) -> tuple[str, bytes]:
    return "/v1/logs", json.dumps(claude_code_export("otlp-load", n)).encode()


def claude_code_export(session: str, n: int) -> dict:
    attributes = {"event.name": "api_request", "event.timestamp": "2026-05-01T10:00:00.000Z",
                  "event.sequence": n, "session.id": session, "model": "claude-sonnet-4-5",
                  "input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 0, "cache_creation_tokens": 0}
    values = [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
              for k, v in attributes.items()]
    return {"resourceLogs": [{"resource": {"attributes": []}, "scopeLogs": [{"logRecords": [
        {"timeUnixNano": str(time.time_ns()), "body": {"stringValue": "claude_code.api_request"},
         "attributes": values}]}]}]}


def stored_calls(env: dict[str, str], session: str) -> int:
    shown = subprocess.run([sys.executable, "-m", "sessionstats", "show", session, "--format", "json"], env=env,
                           capture_output=True, text=True, check=True)
    return json.loads(shown.stdout)["api_calls"]


def report(what: str, records: int, wall: float, latencies: list[float], stored: int) -> None:
    cut = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    print(f"{what}: {records:,} records in {wall:.1f} s = {records / wall:,.0f}/s; latency p50 {cut[49]:.1f} ms, "
          f"p99 {cut[98]:.1f} ms; stored {stored:,} ({'every record once' if stored == records else 'MISMATCH'})")
    if SERVER_CPU:
        print(f"  server CPU {SERVER_CPU.pop() * 1000 / records:.2f} ms per record; load average {_load()}")


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def run_pages(url: str, listeners: int) -> tuple[threading.Event, list[int], list[threading.Thread]]:
    stop, events = threading.Event(), []
    threads = [threading.Thread(target=listen, args=(url, stop, events), daemon=True) for _ in range(listeners)]
    for thread in threads:
        thread.start()
    return stop, events, threads


def bench_http(env: dict[str, str], args: argparse.Namespace) -> None:
    session = subprocess.run([sys.executable, "-m", "sessionstats", "new", "http-load"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    with server(Path(env["SESSIONSTATS_DB"]), env) as url:
        stop, events, _ = run_pages(url, args.listeners)

        wall, latencies = load(url, partial(token_record, session), args.records, args.clients)
        time.sleep(1.5)  # the pages' last update
        stop.set()
    report("HTTP capture", args.records, wall, latencies, stored_calls(env, session))
    print(f"  {args.listeners} open pages received {len(events):,} updates")


def bench_http_batches(env: dict[str, str], args: argparse.Namespace) -> None:
    session = subprocess.run([sys.executable, "-m", "sessionstats", "new", "batch-load"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    size = args.batch
    with server(Path(env["SESSIONSTATS_DB"]), env) as url:
        stop, events, _ = run_pages(url, args.listeners)

        wall, latencies = load(url, partial(token_array, session, size), args.records // size, args.clients)
        time.sleep(1.5)
        stop.set()
    report(f"HTTP capture in arrays of {size} (latency per array)", args.records // size * size, wall, latencies,
           stored_calls(env, session))
    print(f"  {args.listeners} open pages received {len(events):,} updates")


def bench_otlp(env: dict[str, str], args: argparse.Namespace) -> None:
    with server(Path(env["SESSIONSTATS_DB"]), env) as url:
        stop, events, _ = run_pages(url, args.listeners)

        wall, latencies = load(url, otlp_export, args.records, args.clients)
        time.sleep(1.5)
        stop.set()
    report("OTLP capture", args.records, wall, latencies, stored_calls(env, "otlp-load"))
    print(f"  {args.listeners} open pages received {len(events):,} updates")


def bench_processes(env: dict[str, str], args: argparse.Namespace) -> None:
    session = subprocess.run([sys.executable, "-m", "sessionstats", "new", "cli-load"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    latencies: list[float] = []

    def one(n: int) -> None:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sessionstats", "record-tokens", "--session", session, "--input", "10",
                        "--output", "5", "--cost", "0.0001", "--request-id", f"req-{n}"], env=env, check=True,
                       capture_output=True)
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(one, range(args.cli_records)))
    report("record-tokens processes", args.cli_records, time.perf_counter() - started, latencies,
           stored_calls(env, session))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--listeners", type=int, default=4)
    parser.add_argument("--cli-records", type=int, default=160)
    parser.add_argument("--batch", type=int, default=100, help="records per array in the batch run")
    parser.add_argument("--only", default="http,arrays,otlp,processes", help="the runs to make, comma-separated")
    args = parser.parse_args()
    runs = {"http": bench_http, "arrays": bench_http_batches, "otlp": bench_otlp, "processes": bench_processes}
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(chosen) - runs.keys():
        parser.error(f"--only: no run {sorted(unknown)[0]!r} (runs: {', '.join(runs)})")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        env = {**os.environ, "SESSIONSTATS_DB": str(Path(folder) / "bench.duckdb"), "SESSIONSTATS_USER": "bench"}
        print(f"{args.clients} clients, {args.listeners} open pages, {os.cpu_count()} CPUs, load average {_load()}")
        for name in chosen:
            if name != "processes" or args.cli_records:
                runs[name](env, args)


if __name__ == "__main__":
    main()
