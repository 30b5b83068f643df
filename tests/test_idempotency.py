"""The idempotency store: replays, waiting for the first, conflicts, time to live, bounds."""

import asyncio

import pytest

from executor.errors import IdempotencyConflict
from executor.idempotency import IdempotencyStore, StoredAnswer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def store(clock: Clock | None = None, **bounds: int) -> IdempotencyStore:
    settings = {"ttl_s": 600, "max_entries": 100, "max_bytes": 1 << 20, **bounds}
    return IdempotencyStore(**settings, clock=clock or Clock())


def answer(text: str) -> StoredAnswer:
    return StoredAnswer(body=text.encode(), verdict="ok")


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_repeat_gets_the_stored_answer_without_running_again() -> None:
    async def scenario() -> None:
        s = store()
        runs = []

        async def produce() -> StoredAnswer:
            runs.append(1)
            return answer(f"run {len(runs)}")

        first = await s.answer("k", fingerprint="f", produce=produce)
        again = await s.answer("k", fingerprint="f", produce=produce)
        assert first == (answer("run 1"), False)
        assert again == (answer("run 1"), True)
        assert len(runs) == 1

    run(scenario())


def test_a_repeat_while_the_first_runs_waits_for_its_answer() -> None:
    async def scenario() -> None:
        s = store()
        release = asyncio.Event()
        runs = []

        async def produce() -> StoredAnswer:
            runs.append(1)
            await release.wait()
            return answer("only")

        first = asyncio.create_task(s.answer("k", fingerprint="f", produce=produce))
        await asyncio.sleep(0)
        second = asyncio.create_task(s.answer("k", fingerprint="f", produce=produce))
        await asyncio.sleep(0)
        assert not second.done()
        release.set()
        assert await first == (answer("only"), False)
        assert await second == (answer("only"), True)
        assert len(runs) == 1

    run(scenario())


def test_when_the_first_gives_up_the_waiting_repeat_runs_itself() -> None:
    async def scenario() -> None:
        s = store()
        started = asyncio.Event()

        async def hang() -> StoredAnswer:
            started.set()
            await asyncio.Event().wait()
            raise AssertionError("never")

        async def produce() -> StoredAnswer:
            return answer("second ran")

        first = asyncio.create_task(s.answer("k", fingerprint="f", produce=hang))
        await started.wait()
        second = asyncio.create_task(s.answer("k", fingerprint="f", produce=produce))
        await asyncio.sleep(0)
        first.cancel()  # its client left
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await second == (answer("second ran"), False)

    run(scenario())


def test_the_same_key_with_another_request_is_a_conflict() -> None:
    async def scenario() -> None:
        s = store()

        async def produce() -> StoredAnswer:
            return answer("a")

        await s.answer("k", fingerprint="f", produce=produce)
        with pytest.raises(IdempotencyConflict) as conflict:
            await s.answer("k", fingerprint="g", produce=produce)
        assert conflict.value.http_status == 409

    run(scenario())


def test_answers_expire_after_their_time_to_live() -> None:
    async def scenario() -> None:
        clock = Clock()
        s = store(clock, ttl_s=600)
        count = iter(range(10))

        async def produce() -> StoredAnswer:
            return answer(f"run {next(count)}")

        await s.answer("k", fingerprint="f", produce=produce)
        clock.now_s += 599
        assert (await s.answer("k", fingerprint="f", produce=produce))[1] is True
        clock.now_s += 2
        assert await s.answer("k", fingerprint="f", produce=produce) == (answer("run 1"), False)

    run(scenario())


def test_the_oldest_answers_go_first_past_the_count_or_the_bytes() -> None:
    async def scenario() -> None:
        s = store(max_entries=3, max_bytes=10)

        async def keep(key: str, text: str) -> None:
            async def produce() -> StoredAnswer:
                return answer(text)

            await s.answer(key, fingerprint="f", produce=produce)

        for key in "abcd":
            await keep(key, "x")
        assert len(s) == 3 and s.held_bytes == 3  # "a" went: at most 3 answers
        await keep("e", "yyyyyyyyy")  # 9 bytes: "b" and "c" go to stay within 10 bytes
        assert len(s) == 2 and s.held_bytes == 10
        await keep("f", "z" * 11)  # larger than the whole store: not kept, nothing evicted
        assert len(s) == 2 and s.held_bytes == 10

    run(scenario())


def test_a_time_to_live_of_zero_turns_the_store_off() -> None:
    async def scenario() -> None:
        s = store(ttl_s=0)
        count = iter(range(10))

        async def produce() -> StoredAnswer:
            return answer(f"run {next(count)}")

        await s.answer("k", fingerprint="f", produce=produce)
        assert await s.answer("k", fingerprint="f", produce=produce) == (answer("run 1"), False)

    run(scenario())
