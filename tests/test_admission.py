"""Admission: run slots and the replica's memory for runs, first come first served."""

import asyncio

import pytest

from executor.admission import Admission
from executor.errors import LimitTooHigh, ServiceBusy

MB = 1024


def test_memory_limits_never_add_up_past_the_budget() -> None:
    """1. Budget 768 MB, four slots. 2. Three submissions of 300 MB arrive together.
    Expected: two run at once (600 MB), the third waits until one ends."""

    async def scenario() -> list[str]:
        admission = Admission(concurrency=4, queue_size=8, memory_budget_kb=768 * MB)
        events: list[str] = []
        release = {name: asyncio.Event() for name in "abc"}

        async def submission(name: str) -> None:
            async with admission.slot(memory_kb=300 * MB):
                events.append(f"start {name} {admission.reserved_kb // MB}")
                await release[name].wait()
                events.append(f"end {name}")

        tasks = [asyncio.create_task(submission(n)) for n in "abc"]
        await asyncio.sleep(0.01)
        assert admission.waiting == 1 and admission.running == 2
        for name in "abc":
            release[name].set()
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        return events

    events = asyncio.run(scenario())
    assert events[:2] == ["start a 300", "start b 600"]
    assert events[2] == "end a" and events[3] == "start c 600"


def test_a_large_submission_is_not_overtaken() -> None:
    async def scenario() -> list[str]:
        admission = Admission(concurrency=4, queue_size=8, memory_budget_kb=500 * MB)
        order: list[str] = []
        first_done = asyncio.Event()

        async def submission(name: str, mb: int, wait: asyncio.Event | None) -> None:
            async with admission.slot(memory_kb=mb * MB):
                order.append(name)
                if wait is not None:
                    await wait.wait()

        first = asyncio.create_task(submission("small-running", 200, first_done))
        await asyncio.sleep(0)
        big = asyncio.create_task(submission("big", 400, None))
        await asyncio.sleep(0)
        small = asyncio.create_task(submission("small-later", 100, None))
        await asyncio.sleep(0.01)
        assert order == ["small-running"]  # the small one would fit, but the big one is first
        first_done.set()
        await asyncio.gather(first, big, small)
        return order

    assert asyncio.run(scenario()) == ["small-running", "big", "small-later"]


def test_a_full_line_is_a_429_and_a_limit_that_can_never_fit_a_422() -> None:
    async def scenario() -> None:
        admission = Admission(concurrency=1, queue_size=1, memory_budget_kb=512 * MB)
        hold = asyncio.Event()

        async def holder() -> None:
            async with admission.slot(memory_kb=10 * MB):
                await hold.wait()

        tasks = [asyncio.create_task(holder()) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(ServiceBusy):
            async with admission.slot(memory_kb=10 * MB):
                pass
        with pytest.raises(LimitTooHigh, match="can never fit"):
            async with admission.slot(memory_kb=600 * MB):
                pass
        hold.set()
        await asyncio.gather(*tasks)
        assert (admission.running, admission.reserved_kb, admission.waiting) == (0, 0, 0)

    asyncio.run(scenario())


def test_a_cancelled_waiter_leaves_the_line_and_gives_back_what_it_was_given() -> None:
    async def scenario() -> None:
        admission = Admission(concurrency=1, queue_size=4, memory_budget_kb=512 * MB)
        hold = asyncio.Event()

        async def holder() -> None:
            async with admission.slot(memory_kb=10 * MB):
                await hold.wait()

        running = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(holder())
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0)
        assert admission.waiting == 0
        hold.set()
        await running
        assert (admission.running, admission.reserved_kb) == (0, 0)

    asyncio.run(scenario())


def test_idle_is_set_only_while_no_submission_runs_or_waits() -> None:
    """1. One slot. 2. A submission runs, a second waits behind it. 3. Both end.
    Expected: ``idle`` is clear from the first start until the last end, then set again."""

    async def scenario() -> list[bool]:
        admission = Admission(concurrency=1, queue_size=4, memory_budget_kb=512 * MB)
        seen = [admission.idle.is_set()]
        release = {name: asyncio.Event() for name in "ab"}

        async def submission(name: str) -> None:
            async with admission.slot(memory_kb=100 * MB):
                await release[name].wait()

        tasks = [asyncio.create_task(submission(n)) for n in "ab"]
        await asyncio.sleep(0.01)
        seen.append(admission.idle.is_set())
        release["a"].set()
        await asyncio.sleep(0.01)
        assert admission.running == 1 and admission.waiting == 0
        seen.append(admission.idle.is_set())
        release["b"].set()
        await asyncio.gather(*tasks)
        seen.append(admission.idle.is_set())
        return seen

    assert asyncio.run(scenario()) == [True, False, False, True]
