"""Uvicorn's server with a drain on SIGTERM: the app keeps answering (/readyz 503, new
submissions 503) while its work in flight ends, and the server stops only after that."""

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn

Drain = Callable[[], Awaitable[None]]
# The kernel's send buffer of each connection (it doubles the value for its bookkeeping). Left
# to grow by itself it reaches 4 MB per connection, charged to the container's memory, while a
# client that does not read holds its answer there; capped, a stalled answer stays in the
# service, where answers.py bounds it and drops the client.
SEND_BUFFER_BYTES = 256 * 1024


def bind_listener(config: uvicorn.Config) -> socket.socket:
    """The listening socket for ``config``'s host and port, whose connections get a send buffer
    of SEND_BUFFER_BYTES (accepted sockets inherit it from the listener)."""
    sock = config.bind_socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    return sock


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM or SIGINT runs ``drain`` (the app's; bounded in
    time by the app) and then stops as uvicorn does: closes the listening socket, waits up to
    the config's graceful timeout for the answers being written, runs the lifespan's shutdown.
    The process then exits 0. A second signal stops at once, as uvicorn's does."""

    def __init__(self, config: uvicorn.Config, *, drain: Drain) -> None:
        super().__init__(config)
        self._drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_requested = False
        self._draining: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Called as a signal handler: only flags, and a hand-over to the event loop. The signal
        # is not recorded for uvicorn to raise again at exit: a drained replica exits 0.
        if sig not in (signal.SIGTERM, signal.SIGINT):
            super().handle_exit(sig, frame)
            return
        if self._drain_requested or self._loop is None or not self.started:
            if self._drain_requested:
                self.force_exit = True
            self.should_exit = True
            return
        self._drain_requested = True
        self._loop.call_soon_threadsafe(self._start_draining)

    def _start_draining(self) -> None:
        self._draining = asyncio.create_task(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        try:
            await self._drain()
        finally:
            self.should_exit = True
