"""Idempotent submissions: the answer to a submission id is kept for a while and given again
to a repeat, and a repeat that comes while the first still runs waits for it."""

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from executor.errors import IdempotencyConflict


@dataclass(frozen=True)
class StoredAnswer:
    """An encoded 200 answer and its verdict (for the request log)."""

    body: bytes
    verdict: str


@dataclass
class _Running:
    fingerprint: str
    # The first request's answer, or None when it ended without one (refused, cancelled,
    # failed): a repeat then runs the submission itself.
    done: asyncio.Future[StoredAnswer | None]


@dataclass(frozen=True)
class _Kept:
    fingerprint: str
    answer: StoredAnswer
    expires_at: float


class IdempotencyStore:
    """Answers by key, kept ``ttl_s`` seconds, at most ``max_entries`` of them and
    ``max_bytes`` in all (the oldest evicted first; an answer larger than ``max_bytes`` is not
    kept). ``ttl_s`` 0 turns the store off: every request runs."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self._clock = clock
        self._running: dict[str, _Running] = {}
        # Oldest first: the order answers were kept in (all have the same time to live).
        self._kept: collections.OrderedDict[str, _Kept] = collections.OrderedDict()

    @property
    def enabled(self) -> bool:
        """Whether answers are kept at all."""
        return self.ttl_s > 0

    def __len__(self) -> int:
        return len(self._kept)

    async def answer(
        self, key: str, *, fingerprint: str, produce: Callable[[], Awaitable[StoredAnswer]]
    ) -> tuple[StoredAnswer, bool]:
        """The answer for ``key`` and whether it was replayed: the stored one, the one a
        request with the same key now running produces, or a new one from ``produce``.

        Raises IdempotencyConflict (409) when ``key`` came before with another
        ``fingerprint``, and what ``produce`` raises (then nothing is stored)."""
        if not self.enabled:
            return await produce(), False
        while True:
            self._expire()
            kept = self._kept.get(key)
            if kept is not None:
                _check(kept.fingerprint, fingerprint)
                return kept.answer, True
            running = self._running.get(key)
            if running is None:
                break
            _check(running.fingerprint, fingerprint)
            # Shielded: a repeat whose client leaves must not cancel the first request's wait.
            stored = await asyncio.shield(running.done)
            if stored is not None:
                return stored, True
            # The first request gave up without an answer: run the submission here.
        running = _Running(fingerprint, asyncio.get_running_loop().create_future())
        self._running[key] = running
        try:
            stored = await produce()
        except BaseException:
            running.done.set_result(None)
            raise
        else:
            running.done.set_result(stored)
            self._keep(key, fingerprint, stored)
        finally:
            del self._running[key]
        return stored, False

    def _keep(self, key: str, fingerprint: str, stored: StoredAnswer) -> None:
        if len(stored.body) > self.max_bytes:
            return
        self._kept[key] = _Kept(fingerprint, stored, self._clock() + self.ttl_s)
        self.held_bytes += len(stored.body)
        while len(self._kept) > self.max_entries or self.held_bytes > self.max_bytes:
            self._forget_oldest()

    def _expire(self) -> None:
        now = self._clock()
        while self._kept and next(iter(self._kept.values())).expires_at <= now:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        _, kept = self._kept.popitem(last=False)
        self.held_bytes -= len(kept.answer.body)


def _check(first: str, now: str) -> None:
    if first != now:
        raise IdempotencyConflict(
            "this submission id was used before with a different request; use a new id for a "
            "new submission"
        )
