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


def test_a_submission_running_tests_at_once_holds_a_slot_for_each() -> None:
    """1. Four slots. 2. A submission takes three (three tests at once), then one takes one,
    then one asks for two. Expected: the last waits until the three are given back; all taken
    at once, never some while waiting for the rest."""

    async def scenario() -> list[str]:
        admission = Admission(concurrency=4, queue_size=8, memory_budget_kb=4096 * MB)
        events: list[str] = []
        release = asyncio.Event()

        async def submission(name: str, slots: int, wait: asyncio.Event | None) -> None:
            async with admission.slot(memory_kb=slots * 100 * MB, slots=slots):
                events.append(f"start {name} running={admission.running}")
                if wait is not None:
                    await wait.wait()

        three = asyncio.create_task(submission("three", 3, release))
        one = asyncio.create_task(submission("one", 1, release))
        await asyncio.sleep(0.01)
        two = asyncio.create_task(submission("two", 2, None))
        await asyncio.sleep(0.01)
        assert (admission.running, admission.waiting) == (4, 1)
        release.set()
        await asyncio.gather(three, one, two)
        assert (admission.running, admission.reserved_kb) == (0, 0)
        return events

    events = asyncio.run(scenario())
    assert events[:2] == ["start three running=3", "start one running=4"]
    assert events[2].startswith("start two")


def test_more_slots_than_the_replica_has_is_a_bug() -> None:
    async def scenario() -> None:
        admission = Admission(concurrency=2, queue_size=8, memory_budget_kb=512 * MB)
        async with admission.slot(memory_kb=MB, slots=3):
            pass

    with pytest.raises(ValueError, match="slots must be in"):
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
