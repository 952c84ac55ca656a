"""Deadlines a slow client cannot stretch: uvicorn times out only an idle keep-alive connection, so a client
that connected and sent nothing, or sent its headers a byte at a time, held its connection (and a file
descriptor) for ever; a few hundred such clients leave `serve` unable to accept the panel's own requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 10  # from connecting (or the last answer) to a request's last header line
BODY_SECONDS = 60  # for a whole body: 16 MiB at 280 KiB/s; an exporter's batch takes milliseconds


class DeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose next request's headers take over HEADER_SECONDS."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._awaited_after: object = None  # the request cycle before the one whose headers are awaited

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._stop_when_headers_came()

    def on_response_complete(self) -> None:
        self._await_headers()  # first: the answer may start a pipelined request at once
        super().on_response_complete()
        self._stop_when_headers_came()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_awaiting()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._stop_awaiting()
        self._awaited_after = self.cycle
        self._header_deadline = self.loop.call_later(HEADER_SECONDS, self._too_slow)

    def _stop_when_headers_came(self) -> None:
        if self._header_deadline is not None and self.cycle is not self._awaited_after:
            self._stop_awaiting()  # a new request cycle began: its headers are all in

    def _stop_awaiting(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
