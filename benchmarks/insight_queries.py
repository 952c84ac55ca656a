"""How long the insight queries take on a large database: show (with filters), breakdowns, timeline, compare.

Run: python benchmarks/insight_queries.py [--tokens 2000000] [--sessions 2000]
Builds a throw-away database (records clustered by session, as time-ordered ids make them), then prints
the median of 5 runs of each query, in milliseconds, for one session of average size.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tabulate import tabulate

from sessionstats.reports.breakdowns import Dimension, breakdown
from sessionstats.reports.scope import Scope
from sessionstats.reports.stats import compare_stats, list_stats, session_stats
from sessionstats.reports.timeline import timeline
from sessionstats.store import Store, open_store
from sessionstats.times import utc_now

USER = "bench"


def build(store: Store, sessions: int, tokens: int) -> None:
    """`sessions` sessions, one story per two token records, spread over the last 30 days."""
    per_session = tokens // sessions
    store.execute("""
        INSERT INTO sessions SELECT $user, 'sess' || lpad(i::VARCHAR, 7, '0'), 'bench', '{}', 'ended',
               $now - INTERVAL 30 DAY, NULL, NULL FROM range($n) r(i)""",
                  {"user": USER, "n": sessions, "now": utc_now()})
    store.execute("""
        INSERT INTO story_history SELECT 'st' || i, $user, 'sess' || lpad((i * 2 // $per)::VARCHAR, 7, '0'),
               't', NULL, ['calm', 'urgent', 'warm'][i % 3 + 1], ['high', 'normal'][i % 2 + 1], 100, 30.0,
               $now - to_seconds(2592000 - (i * 2 * 2592000 // $total)) FROM range($total // 2) r(i)""",
                  {"user": USER, "per": per_session, "total": tokens, "now": utc_now()})
    store.execute("""
        INSERT INTO token_usage SELECT 'tu' || i, $user, 'sess' || lpad((i // $per)::VARCHAR, 7, '0'),
               CASE WHEN i % 5 = 0 THEN NULL ELSE 'st' || (i // 2) END,
               ['claude-sonnet-4-5', 'claude-haiku-4-5'][i % 2 + 1], 1000, 200, 500, 0, 1700, 0.0105, 'given', NULL,
               $now - to_seconds(2592000 - (i * 2592000 // $total)) FROM range($total) r(i)""",
                  {"user": USER, "per": per_session, "total": tokens, "now": utc_now()})


def median_ms(run: Callable[[], object], times: int = 5) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2_000_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        with open_store(db, write=True) as store:
            build(store, args.sessions, args.tokens)
        middle = f"sess{args.sessions // 2:07d}"
        other = f"sess{args.sessions // 3:07d}"
        with open_store(db) as store:
            stats = session_stats(store, middle, user=USER)
            cases: list[tuple[str, Callable[[], object]]] = [
                ("show", lambda: session_stats(store, middle, user=USER)),
                ("show --tone calm", lambda: session_stats(store, middle, user=USER, scope=Scope(tone="calm"))),
                ("show --model claude-haiku-4-5",
                 lambda: session_stats(store, middle, user=USER, scope=Scope(model="claude-haiku-4-5"))),
                ("show --by model", lambda: breakdown(store, stats, [Dimension.model], user=USER)),
                ("show --by tone --by day",
                 lambda: breakdown(store, stats, [Dimension.tone, Dimension.day], user=USER, zone="Europe/Paris")),
                ("timeline --every 15m", lambda: timeline(store, middle, timedelta(minutes=15), user=USER)),
                ("compare (2 sessions)", lambda: compare_stats(store, [middle, other], user=USER)),
                ("list --limit 10", lambda: list_stats(store, user=USER, limit=10)),
            ]
            rows = [(name, f"{median_ms(run):.1f}") for name, run in cases]
    print(f"{args.tokens:,} token records, {args.tokens // 2:,} stories, {args.sessions:,} sessions")
    print(tabulate(rows, headers=["query (core call, database open)", "median ms"], colalign=("left", "right")))


if __name__ == "__main__":
    main()
