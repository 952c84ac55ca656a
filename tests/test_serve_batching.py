"""Many clients at once against a real `sessionstats serve` process: every request gets its own status, every
good record lands once, and a locked database loses nothing (the journal).

Threads post to a server started on a free loopback port (serve_helpers.serving); the stored rows are read
back with `show --format json` as a separate process.
"""

from __future__ import annotations

import fcntl
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from conftest import db_argument

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

from serve_helpers import serving  # noqa: E402

pytestmark = pytest.mark.slow


def shown(run_process, session: str) -> dict:
    return json.loads(run_process("show", session, "--format", "json").stdout, parse_float=Decimal)


def test_concurrent_requests_each_get_their_own_status_and_only_the_good_records_land_once(db, run_process):
    session = run_process("new", "Crowded").stdout.strip()

    def record(n: int) -> dict:
        if n % 10 == 9:
            return {"input_tokens": -n, "output_tokens": 1}  # bad: refused alone, naming its field
        return {"input_tokens": 1, "output_tokens": 1, "cost": "0.001", "request_id": f"r{n % 60}"}

    with serving(db_argument(db)) as url, httpx.Client(timeout=60) as http:
        def post(n: int) -> tuple[int, dict]:
            answer = http.post(f"{url}api/sessions/{session}/tokens", json=record(n))
            return answer.status_code, answer.json()

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(post, range(240)))
    bad = [body for status, body in answers if status == 400]
    assert len(bad) == 24 and {body["field"] for body in bad} == {"input_tokens"}
    # 216 good posts over 54 request ids (r9, r19, ... only ever come bad): one 201 per id, whoever came first;
    # the other 162 are 409s pointing at it.
    created = {body["id"] for status, body in answers if status == 201}
    repeated = [body for status, body in answers if status == 409]
    assert (len(created), len(repeated)) == (54, 162)
    assert {body["id"] for body in repeated} <= created and not any(body["created"] for body in repeated)
    stats = shown(run_process, session)
    assert (stats["api_calls"], stats["total_cost"]) == (54, Decimal("0.054"))


def test_concurrent_stories_with_one_id_are_stored_once_and_records_of_two_sessions_both_land(db, run_process):
    sessions = [run_process("new", name).stdout.strip() for name in ("One", "Two")]
    with serving(db_argument(db)) as url, httpx.Client(timeout=60) as http:
        def post(n: int) -> int:
            session = sessions[n % 2]
            if n < 8:
                return http.post(f"{url}api/sessions/{sessions[0]}/stories",
                                 json={"title": "Opening", "id": "opening", "narrative": "one two"}).status_code
            return http.post(f"{url}api/sessions/{session}/tokens",
                             json={"input_tokens": n, "output_tokens": 0, "cost": "0.01"}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(48)))
    assert statuses[:8].count(201) == 1 and statuses[:8].count(409) == 7
    assert statuses[8:] == [201] * 40
    one, two = (shown(run_process, session) for session in sessions)
    assert (one["story_count"], one["api_calls"], one["input_tokens"]) == (1, 20, sum(range(8, 48, 2)))
    assert (two["story_count"], two["api_calls"], two["input_tokens"]) == (0, 20, sum(range(9, 48, 2)))


@pytest.mark.file_only
def test_records_posted_while_another_process_holds_the_database_are_journaled_and_none_is_lost(db, run_process):
    session = run_process("new", "Locked").stdout.strip()
    with serving(str(db), env={"SESSIONSTATS_LOCK_TIMEOUT": "0.3"}) as url, httpx.Client(timeout=60) as http:
        def post(n: int) -> tuple[int, dict]:
            answer = http.post(f"{url}api/sessions/{session}/tokens",
                               json={"input_tokens": n, "output_tokens": 0, "cost": "0.5", "request_id": f"r{n}"})
            return answer.status_code, answer.json()

        with open(f"{db}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # as a long import in another process would
            with ThreadPoolExecutor(8) as pool:
                held = list(pool.map(post, range(24)))
        assert all(status == 201 and "journal" in body["warning"] for status, body in held)
        after = [post(n) for n in (3, 100)]  # the first write after folds the journal, then sees r3 stored
    assert [status for status, _ in after] == [409, 201]
    stats = shown(run_process, session)
    assert (stats["api_calls"], stats["input_tokens"], stats["total_cost"]) == (
        25, sum(range(24)) + 100, Decimal("12.5"))


def test_the_writer_takes_everything_queued_during_a_write_and_a_smaller_gather_still_ends():
    from contextlib import contextmanager
    from threading import Event

    from sessionstats.serve.batching import Batcher

    batches: list[list[int]] = []
    first_written, go_on = Event(), Event()

    def write(items: list[int]) -> list[int]:
        batches.append(items)
        first_written.set()
        go_on.wait(timeout=30)
        return [item * 10 for item in items]

    @contextmanager
    def open_writer():
        yield write

    batcher: Batcher[int, int] = Batcher(open_writer, "test-writer")
    try:
        first = batcher.queue(0)
        assert first_written.wait(timeout=30)
        burst = [batcher.queue(n) for n in range(1, 17)]  # queued while the first batch is being written
        go_on.set()
        assert first.result(timeout=30) == 0 and [done.result(timeout=30) for done in burst] == list(range(10, 170, 10))
        fewer = [batcher.queue(n) for n in range(17, 20)]  # fewer than the last batch held: the gather still ends
        assert [done.result(timeout=30) for done in fewer] == [170, 180, 190]
    finally:
        go_on.set()
        batcher.close()
    assert batches[:2] == [[0], list(range(1, 17))]
    assert sorted(n for batch in batches[2:] for n in batch) == [17, 18, 19]


def test_clients_in_lockstep_rounds_repeating_each_others_request_ids_get_one_201_and_one_409_each(db, run_process):
    session = run_process("new", "Rounds").stdout.strip()
    with serving(db_argument(db)) as url, httpx.Client(timeout=60) as http:
        def post(n: int) -> tuple[int, str]:
            answer = http.post(f"{url}api/sessions/{session}/tokens",
                               json={"input_tokens": 1, "output_tokens": 1, "cost": "0.01", "request_id": f"r{n // 2}"})
            return answer.status_code, answer.json()["id"]

        answers = []
        with ThreadPoolExecutor(16) as pool:
            for round_start in range(0, 160, 16):  # 16 at once, each request id twice in its round
                answers += pool.map(post, range(round_start, round_start + 16))
    for pair in zip(answers[::2], answers[1::2], strict=True):
        assert sorted(status for status, _ in pair) == [201, 409] and pair[0][1] == pair[1][1]
    stats = shown(run_process, session)
    assert (stats["api_calls"], stats["total_cost"]) == (80, Decimal("0.80"))


@pytest.mark.file_only
def test_a_cli_record_and_a_show_get_their_turn_while_clients_keep_the_server_writing(db, run_process):
    import threading

    session = run_process("new", "Under load").stdout.strip()
    stop, statuses = threading.Event(), []
    with serving(db_argument(db)) as url, httpx.Client(timeout=60) as http:
        def keep_posting(client: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                answer = http.post(f"{url}api/sessions/{session}/tokens", json={
                    "input_tokens": 1, "output_tokens": 1, "cost": "0.001", "request_id": f"c{client}-{n}"})
                statuses.append(answer.status_code)

        with ThreadPoolExecutor(8) as pool:
            posting = [pool.submit(keep_posting, client) for client in range(8)]
            try:
                while len(statuses) < 50:  # the server is writing batch after batch
                    stop.wait(0.05)
                recorded = run_process("record-tokens", "--session", session, "--input", "7", "--output", "3",
                                       "--cost", "0.5", "--request-id", "from-the-cli")
                seen = run_process("show", session, "--format", "json")
            finally:
                stop.set()
            for done in posting:
                done.result(timeout=60)
    assert (recorded.returncode, recorded.stderr) == (0, "")
    assert seen.returncode == 0 and json.loads(seen.stdout)["api_calls"] >= 50
    assert set(statuses) == {201}
    stats = shown(run_process, session)
    assert (stats["api_calls"], stats["input_tokens"]) == (len(statuses) + 1, len(statuses) + 7)
