"""Admission: at most ``concurrency`` submissions run at once, at most ``queue_size`` wait."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from executor.errors import ServiceBusy


class Admission:
    """A bounded queue in front of the run slots. State lives here, on the service's object."""

    def __init__(self, *, concurrency: int, queue_size: int) -> None:
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.running = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(concurrency)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a run slot for the body, waiting in the queue for one. Raises ServiceBusy (429)
        at once when every slot is taken and the queue is full."""
        if self._slots.locked() and self.waiting >= self.queue_size:
            raise ServiceBusy(
                f"{self.running} submissions running and {self.waiting} waiting; retry later",
                retry_after_s=1,
            )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()

    def load(self) -> dict[str, int]:
        """Running and waiting submissions, and the bounds."""
        return {
            "running": self.running,
            "waiting": self.waiting,
            "concurrency": self.concurrency,
            "queue_size": self.queue_size,
        }
