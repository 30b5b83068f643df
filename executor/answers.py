"""Answers on their way to clients: bounded in bytes, sent in chunks, and a client that stops
reading is disconnected, so that clients that never read cannot fill the replica's memory."""

import asyncio
import contextlib
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from executor.errors import AnswersBacklogged
from executor.responses import error_response

# Uvicorn pauses a send while the connection's buffer is above its high-water mark (64 KiB):
# in chunks of this size, an answer sits in that buffer only a chunk at a time, and the rest
# waits here, counted in the budget, until the client takes it.
CHUNK_BYTES = 64 * 1024
# Where the ExecutorApp puts the function that drops the request's connection (see app.py).
ABORT_KEY = "executor.abort"


class AnswerBudget:
    """Bytes of answers not yet taken by their clients, at most ``max_bytes``."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held_bytes = 0

    def take(self, size_bytes: int) -> bool:
        """Hold ``size_bytes`` if they fit; whether they did."""
        if self.held_bytes + size_bytes > self.max_bytes:
            return False
        self.held_bytes += size_bytes
        return True

    def give_back(self, size_bytes: int) -> None:
        self.held_bytes -= size_bytes


class AnswerSender:
    """ASGI middleware: an answer larger than a chunk is sent only if it fits in ``budget``
    (else the client gets a 503 with Retry-After instead), then in chunks, each of which the
    client must take within ``send_timeout_s``; a client that does not is disconnected (and
    ``on_drop`` called). Small answers go out as they are."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        budget: AnswerBudget,
        send_timeout_s: float,
        on_drop: Callable[[], None],
    ) -> None:
        self.app = app
        self.budget = budget
        self.send_timeout_s = send_timeout_s
        self.on_drop = on_drop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held_start: Message | None = None

        async def send_answer(message: Message) -> None:
            nonlocal held_start
            if message["type"] == "http.response.start":
                held_start = message  # sent once the body's size is known
                return
            if held_start is None or message["type"] != "http.response.body":
                await send(message)
                return
            start, held_start = held_start, None
            body: bytes = message.get("body", b"")
            if message.get("more_body", False) or len(body) <= CHUNK_BYTES:
                await send(start)
                await send(message)
                return
            await self._deliver(scope, receive, send, start, body)

        await self.app(scope, receive, send_answer)

    async def _deliver(
        self, scope: Scope, receive: Receive, send: Send, start: Message, body: bytes
    ) -> None:
        size = len(body)
        if not self.budget.take(size):
            busy = AnswersBacklogged(
                f"answers waiting for their clients hold {self.budget.held_bytes // 1024} KB "
                f"of the {self.budget.max_bytes // 1024} KB allowed; retry shortly (with a "
                "submission_id or Idempotency-Key the stored answer is given again)"
            )
            scope.setdefault("state", {})["answer"] = "backlogged"
            await error_response(busy)(scope, receive, send)
            return
        view = memoryview(body)
        try:
            async with asyncio.timeout(self.send_timeout_s):
                await send(start)
            for offset in range(0, size, CHUNK_BYTES):
                async with asyncio.timeout(self.send_timeout_s):
                    await send(
                        {
                            "type": "http.response.body",
                            "body": bytes(view[offset : offset + CHUNK_BYTES]),
                            "more_body": offset + CHUNK_BYTES < size,
                        }
                    )
        except TimeoutError:
            self.on_drop()
            scope.setdefault("state", {})["answer"] = "dropped_slow_reader"
            abort = scope.get(ABORT_KEY)
            if abort is None:
                raise
            abort()
            # Let the server see the connection lost before the request ends, so that it does
            # not report an incomplete answer.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0)
        finally:
            self.budget.give_back(size)
