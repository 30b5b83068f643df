"""Admission: a submission runs only when its run slots are free (one, or one per test it runs
at once) and its memory fits in what the replica has left for runs; at most ``queue_size``
wait, first come first served."""

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator

from executor.errors import LimitTooHigh, ServiceBusy


class Admission:
    """A bounded queue in front of the run slots and the replica's memory for runs.

    ``memory_budget_kb`` is what the replica has for runs once the service has its share: the
    memory limits of the submissions running at once never add up to more, so runs within
    their limits never meet the replica's own limit (and its out-of-memory killer). ``idle`` is
    set while no submission runs or waits: background work waits on it so as not to compete
    with submissions for the CPU.
    """

    def __init__(self, *, concurrency: int, queue_size: int, memory_budget_kb: int) -> None:
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.memory_budget_kb = memory_budget_kb
        self.running = 0
        self.reserved_kb = 0
        self.idle = asyncio.Event()
        self.idle.set()
        # (slots, memory_kb, turn) of each waiting submission, in arrival order.
        self._queue: collections.deque[tuple[int, int, asyncio.Future[None]]] = collections.deque()

    @property
    def waiting(self) -> int:
        """Submissions in the queue."""
        return len(self._queue)

    def check_fits(self, memory_kb: int) -> None:
        """Raise LimitTooHigh (422) for a memory limit that could never fit on this replica."""
        if memory_kb > self.memory_budget_kb:
            budget_mb = self.memory_budget_kb // 1024
            raise LimitTooHigh(
                f"limits.memory_mb={memory_kb // 1024} can never fit on this replica: it has "
                f"{budget_mb} MB for runs",
                limit="memory_mb",
                maximum=budget_mb,
            )

    @contextlib.asynccontextmanager
    async def slot(self, *, memory_kb: int, slots: int = 1) -> AsyncIterator[None]:
        """Hold ``slots`` run slots (a submission running that many tests at once) and
        ``memory_kb`` of the budget (all of them together) for the body, waiting in line for
        them; all are taken at once, so a submission never holds some while waiting for more.
        Raises ServiceBusy (429) at once when the line is full, LimitTooHigh (422) when
        ``memory_kb`` could never fit, and ValueError for ``slots`` outside [1, concurrency]."""
        if not 1 <= slots <= self.concurrency:
            raise ValueError(f"slots must be in [1, {self.concurrency}], got {slots}")
        self.check_fits(memory_kb)
        if self._queue or not self._fits(slots, memory_kb):
            if len(self._queue) >= self.queue_size:
                raise ServiceBusy(
                    f"{self.running} submissions running and {self.waiting} waiting; retry later",
                    retry_after_s=1,
                )
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (slots, memory_kb, turn)
            self._queue.append(entry)
            try:
                await turn
            except BaseException:
                if turn.done() and not turn.cancelled():
                    self._release(slots, memory_kb)  # granted as we were cancelled: give back
                else:
                    self._queue.remove(entry)
                    self._dispatch()
                raise
        else:
            self._take(slots, memory_kb)
        try:
            yield
        finally:
            self._release(slots, memory_kb)

    def load(self) -> dict[str, int]:
        """Run slots held and submissions waiting, the memory they hold, and the bounds."""
        return {
            "running": self.running,
            "waiting": self.waiting,
            "concurrency": self.concurrency,
            "queue_size": self.queue_size,
            "memory_reserved_mb": self.reserved_kb // 1024,
            "memory_budget_mb": self.memory_budget_kb // 1024,
        }

    def _fits(self, slots: int, memory_kb: int) -> bool:
        return (
            self.running + slots <= self.concurrency
            and self.reserved_kb + memory_kb <= self.memory_budget_kb
        )

    def _take(self, slots: int, memory_kb: int) -> None:
        self.running += slots
        self.reserved_kb += memory_kb
        self.idle.clear()

    def _release(self, slots: int, memory_kb: int) -> None:
        self.running -= slots
        self.reserved_kb -= memory_kb
        self._dispatch()
        if self.running == 0 and not self._queue:
            self.idle.set()

    def _dispatch(self) -> None:
        """Let in the submissions at the head of the line while they fit (first come, first
        served: a large one is not overtaken by smaller ones behind it)."""
        while self._queue and self._fits(self._queue[0][0], self._queue[0][1]):
            slots, memory_kb, turn = self._queue.popleft()
            self._take(slots, memory_kb)
            turn.set_result(None)
