"""`sessionstats serve` as a process: where it listens, what it says, and the token it then insists on."""

from __future__ import annotations

import httpx
import pytest
from serve_helpers import serving

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.file_only


def test_serve_binds_to_loopback_by_default_and_says_so(db, run_process):
    with serving(str(db)) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}api/sessions", timeout=10).json() == []


def test_a_host_other_machines_reach_is_refused_without_a_token(run_process, db):
    done = run_process("serve", "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--token" in done.stderr
    assert not db.exists()


def test_a_short_token_is_refused(run_process):
    done = run_process("serve", "--host", "0.0.0.0", "--port", "0", "--token", "short")
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "at least 16" in done.stderr


def test_with_a_token_the_server_refuses_requests_without_it(db):
    token = "a-long-enough-secret-token"
    with serving(str(db), "alice", "--token", token) as url:
        base = url.split("?")[0]
        assert httpx.get(f"{base}api/sessions", timeout=10).status_code == 401
        assert httpx.get(f"{base}api/sessions", headers={"Authorization": f"Bearer {token}"},
                         timeout=10).status_code == 200


@pytest.mark.slow
def test_an_open_event_stream_gets_a_record_made_by_another_process(db, run_process):
    import json
    import threading

    session = run_process("new", "Watched").stdout.strip()
    with serving(str(db)) as url, httpx.Client(timeout=httpx.Timeout(10, read=10)) as client, \
            client.stream("GET", f"{url}api/events") as stream:
        lines = stream.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
        assert [s["total_tokens"] for s in first["sessions"]] == [0]
        recorder = threading.Thread(target=run_process, args=(
            "record-tokens", "--session", session, "--input", "1234567", "--output", "1", "--cost", "0.000000075"))
        recorder.start()
        try:
            update = json.loads(next(line for line in lines if line.startswith("data:"))[5:])  # read timeout: 10 s
        finally:
            recorder.join(timeout=60)  # run_process's own timeout ends the child
    assert update["changed"] == [session]
    assert (update["sessions"][0]["total_tokens"], update["sessions"][0]["total_cost"]) == (1234568, "0.000000075")


def test_connections_the_server_accepts_send_small_answers_at_once():
    """Nagle left on made each keep-alive request wait ~40 ms for the client's delayed ACK (uvicorn issue 3149):
    asyncio turns it off only on sockets whose protocol says TCP, which the listener's accepted sockets inherit."""
    import asyncio
    import socket

    from sessionstats.cli.serve_commands import listening_socket

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening_socket("127.0.0.1", 0))
        async with server:
            port = server.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await asyncio.wait_for(seen, timeout=10)
            finally:
                writer.close()

    assert asyncio.run(accepted_nodelay()) != 0
