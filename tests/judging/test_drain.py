"""PipeDrain: what an interactor writes to a submission that has ended is taken, up to a bound."""

import asyncio
import os
import threading

from executor.judging.drain import DRAIN_LIMIT_BYTES, PipeDrain


def _writer(fd: int, total: int, outcome: list[str]) -> threading.Thread:
    def write() -> None:
        written = 0
        try:
            while written < total:
                written += os.write(fd, b"x" * min(1 << 16, total - written))
            outcome.append(f"wrote {written}")
        except BrokenPipeError:
            outcome.append(f"EPIPE after {written}")
        finally:
            os.close(fd)

    return threading.Thread(target=write)


async def _drain(total: int) -> tuple[PipeDrain, list[str]]:
    read_end, write_end = os.pipe()
    drain = PipeDrain(os.dup(read_end))
    os.close(read_end)  # the submission's read end: it has exited
    outcome: list[str] = []
    writer = _writer(write_end, total, outcome)
    drain.start()
    writer.start()
    while writer.is_alive():
        await asyncio.sleep(0.01)
    drain.close()
    return drain, outcome


def test_a_reply_after_the_submission_ended_is_taken() -> None:
    """1. 100 KB written into a pipe whose only other read end is the drain's. Expected: all
    written (no EPIPE), all taken."""
    drain, outcome = asyncio.run(_drain(100_000))
    assert outcome == ["wrote 100000"] and drain.taken == 100_000


def test_a_writer_that_goes_on_gets_epipe_past_the_bound() -> None:
    """1. 4 MB written the same way. Expected: the drain closes past DRAIN_LIMIT_BYTES and the
    writer gets EPIPE, having written little more than the bound."""
    drain, outcome = asyncio.run(_drain(4 << 20))
    assert outcome[0].startswith("EPIPE after"), outcome
    written = int(outcome[0].split()[-1])
    assert DRAIN_LIMIT_BYTES < written < DRAIN_LIMIT_BYTES + (1 << 18)
    assert drain.fd is None
