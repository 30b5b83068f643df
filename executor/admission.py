"""Admission: a submission runs only when its run slots are free (one, or one per test it runs
at once) and its memory fits in what the replica has left for runs; at most ``queue_size``
wait, first come first served. Processes started ahead (idle runners) hold memory too, and
give it up to a submission that adopts them or that cannot fit otherwise."""

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from executor.errors import LimitTooHigh, ServiceBusy


class Adoption(Protocol):
    """An idle process's hold on the memory budget that a submission may take over when it is
    let in (runners.py: a runner started ahead with the submission's limits)."""

    def held_kb(self) -> int:
        """The memory of the hold it would take over now; 0 when there is none."""
        ...

    def take(self) -> None:
        """Take that hold over (called once, as the submission is let in, when held_kb() was
        not 0): its memory is the submission's from now on."""
        ...


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
        # Held by processes started ahead (hold_idle): part of the budget, given up on demand.
        self.idle_kb = 0
        self._reclaim: Callable[[int], int] | None = None
        # (slots, memory_kb, adoption, turn) of each waiting submission, in arrival order.
        self._queue: collections.deque[tuple[int, int, Adoption | None, asyncio.Future[None]]] = (
            collections.deque()
        )

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

    def set_reclaimer(self, reclaim: Callable[[int], int]) -> None:
        """``reclaim(kb)`` ends idle processes holding at least ``kb`` together (or all of
        them) and returns what their holds were: called when a submission fits only without
        them. Their holds are dropped here, not through release_idle."""
        self._reclaim = reclaim

    def hold_idle(self, memory_kb: int) -> bool:
        """Hold ``memory_kb`` for a process started ahead, if nobody waits and it fits beside
        what runs and what is already held; False otherwise. Give it back with release_idle,
        or let a submission take it over (``slot``'s ``adopt``)."""
        if self._queue or self.reserved_kb + self.idle_kb + memory_kb > self.memory_budget_kb:
            return False
        self.idle_kb += memory_kb
        return True

    def release_idle(self, memory_kb: int) -> None:
        """Give back a hold of hold_idle (its process ended)."""
        self.idle_kb -= memory_kb
        self._dispatch()

    @contextlib.asynccontextmanager
    async def slot(
        self, *, memory_kb: int, slots: int = 1, adopt: Adoption | None = None
    ) -> AsyncIterator[None]:
        """Hold ``slots`` run slots (a submission running that many tests at once) and
        ``memory_kb`` of the budget (all of them together) for the body, waiting in line for
        them; all are taken at once, so a submission never holds some while waiting for more.
        When it is let in, it takes over ``adopt``'s idle hold if there is one (that memory is
        already held), and idle holds that keep it out are reclaimed. Raises ServiceBusy (429)
        at once when the line is full, LimitTooHigh (422) when ``memory_kb`` could never fit,
        and ValueError for ``slots`` outside [1, concurrency]."""
        if not 1 <= slots <= self.concurrency:
            raise ValueError(f"slots must be in [1, {self.concurrency}], got {slots}")
        self.check_fits(memory_kb)
        if self._queue or not self._admit(slots, memory_kb, adopt):
            if len(self._queue) >= self.queue_size:
                raise ServiceBusy(
                    f"{self.running} submissions running and {self.waiting} waiting; retry later",
                    retry_after_s=1,
                )
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (slots, memory_kb, adopt, turn)
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
            "memory_idle_mb": self.idle_kb // 1024,
            "memory_budget_mb": self.memory_budget_kb // 1024,
        }

    def _admit(self, slots: int, memory_kb: int, adopt: Adoption | None) -> bool:
        """Let a submission in if it fits now (taking over its adoption's hold, or reclaiming
        idle holds that keep it out); False, with nothing taken, when it must wait."""
        if self.running + slots > self.concurrency:
            return False
        held_kb = adopt.held_kb() if adopt is not None else 0
        excess_kb = self.reserved_kb + self.idle_kb - held_kb + memory_kb - self.memory_budget_kb
        # Only when ending idle processes lets it in (else it waits for runs to end).
        reclaim = self._reclaim
        if excess_kb > 0 and held_kb == 0 and reclaim is not None and self.idle_kb >= excess_kb:
            self.idle_kb -= reclaim(excess_kb)
            excess_kb = self.reserved_kb + self.idle_kb + memory_kb - self.memory_budget_kb
        if excess_kb > 0:
            return False
        if held_kb and adopt is not None:
            adopt.take()
            self.idle_kb -= held_kb
        self.running += slots
        self.reserved_kb += memory_kb
        self.idle.clear()
        return True

    def _release(self, slots: int, memory_kb: int) -> None:
        self.running -= slots
        self.reserved_kb -= memory_kb
        self._dispatch()
        if self.running == 0 and not self._queue:
            self.idle.set()

    def _dispatch(self) -> None:
        """Let in the submissions at the head of the line while they fit (first come, first
        served: a large one is not overtaken by smaller ones behind it)."""
        while self._queue and self._admit(*self._queue[0][:3]):
            self._queue.popleft()[3].set_result(None)
