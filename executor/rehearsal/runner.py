"""Plays a list of submissions against a deployment (closed loop at a concurrency, or open loop at
an arrival rate after an initial burst) and records what happened to each, and when."""

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from executor.client import AsyncClient, ClientError, Execution, RetryPolicy
from executor.rehearsal.judge import verdict
from executor.rehearsal.workload import Submission


@dataclass(frozen=True)
class LoadShape:
    """How submissions arrive.

    concurrency   closed loop: this many submissions in flight, each answer frees a place for the
                  next (they all start together: the initial burst)
    rate_per_s    open loop: after ``burst`` submissions at once, arrivals at this mean rate
                  (Poisson), whether or not earlier ones were answered
    """

    concurrency: int | None = None
    rate_per_s: float | None = None
    burst: int = 0

    def __post_init__(self) -> None:
        if (self.concurrency is None) == (self.rate_per_s is None):
            raise ValueError("give exactly one of concurrency or rate_per_s")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rate_per_s is not None and self.rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        if self.burst < 0:
            raise ValueError("burst must not be negative")

    def describe(self) -> str:
        if self.concurrency is not None:
            return f"closed loop, {self.concurrency} in flight"
        return f"open loop, burst of {self.burst} then {self.rate_per_s:g}/s"


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission; times are seconds from the rehearsal's start."""

    submission: Submission
    submitted_s: float
    finished_s: float
    status: str | None
    verdict: str | None
    judged_by: str | None
    attempts: int
    retry_reasons: tuple[str, ...]
    may_have_run_twice: bool
    url: str | None
    wall_time_ms: int | None
    error: str | None
    # What the service measured and said, kept so that a wrong verdict explains itself in the
    # summary (a memory hog stopped at its CPU limit under load: how much CPU, how much memory).
    time_ms: int | None = None
    memory_kb: int | None = None
    message: str | None = None

    @property
    def latency_s(self) -> float:
        return self.finished_s - self.submitted_s

    @property
    def correct(self) -> bool:
        return self.verdict is not None and self.verdict in self.submission.expected_verdicts


@dataclass
class Rehearsal:
    """One rehearsal. ``run`` plays it; ``mark`` (callable from any thread) notes an event, such as
    a replica killed, for the chart."""

    submissions: Sequence[Submission]
    urls: Mapping[str, str | Sequence[str]]
    shape: LoadShape
    api_key: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    send_tests: bool = False
    seed: int = 0
    on_update: Callable[["Rehearsal"], None] | None = None

    outcomes: list[Outcome] = field(default_factory=list)
    in_flight: int = 0
    in_flight_timeline: list[tuple[float, int]] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float = 0.0

    def now_s(self) -> float:
        return time.monotonic() - self.started_at

    def mark(self, label: str) -> None:
        self.marks.append((self.now_s(), label))

    async def run(self) -> list[Outcome]:
        """Play every submission once; return the outcomes in the order they finished. A
        submission that got no answer by its deadline is an outcome with ``error`` set."""
        self.started_at = time.monotonic()
        self.in_flight_timeline.append((0.0, 0))
        connections = max(100, self.shape.concurrency or 0, self.shape.burst)
        async with AsyncClient(
            self.urls,
            api_key=self.api_key,
            retry=self.retry,
            max_connections=connections,
            seed=self.seed,
        ) as client:
            if self.shape.concurrency is not None:
                await self._closed_loop(client, self.shape.concurrency)
            else:
                await self._open_loop(client)
        self.ended_at = time.monotonic()
        return self.outcomes

    async def _closed_loop(self, client: AsyncClient, concurrency: int) -> None:
        queue: asyncio.Queue[Submission] = asyncio.Queue()
        for submission in self.submissions:
            queue.put_nowait(submission)

        async def worker() -> None:
            while not queue.empty():
                await self._play(client, queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(self.submissions)))))

    async def _open_loop(self, client: AsyncClient) -> None:
        rng = random.Random(self.seed)
        rate = self.shape.rate_per_s
        assert rate is not None  # checked by LoadShape
        tasks = []
        due_s = 0.0
        for index, submission in enumerate(self.submissions):
            if index >= self.shape.burst:
                due_s += rng.expovariate(rate)
                wait_s = due_s - self.now_s()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
            tasks.append(asyncio.create_task(self._play(client, submission)))
        await asyncio.gather(*tasks)

    async def _play(self, client: AsyncClient, submission: Submission) -> None:
        submitted_s = self._change_in_flight(+1)
        try:
            result = await client.execute(
                submission.language,
                idempotency_key=submission.submission_id,
                **submission.request_fields(send_tests=self.send_tests),
            )
        except ClientError as exc:
            outcome = self._failed(submission, submitted_s, exc)
        else:
            outcome = self._answered(submission, submitted_s, result)
        self._change_in_flight(-1)
        self.outcomes.append(outcome)
        if self.on_update is not None:
            self.on_update(self)

    def _answered(self, submission: Submission, submitted_s: float, result: Execution) -> Outcome:
        got, judged_by = verdict(result.body, expected_stdout=submission.expected_stdout)
        return Outcome(
            submission=submission,
            submitted_s=submitted_s,
            finished_s=self.now_s(),
            status=result.status,
            verdict=got,
            judged_by=judged_by,
            attempts=len(result.attempts),
            retry_reasons=tuple(_reason(a.status, a.error) for a in result.attempts[:-1]),
            may_have_run_twice=any(a.may_have_run for a in result.attempts[:-1]),
            url=result.url,
            wall_time_ms=_int_or_none(result.body.get("wall_time_ms")),
            error=None,
            time_ms=_int_or_none(result.body.get("time_ms")),
            memory_kb=_int_or_none(result.body.get("memory_kb")),
            message=_str_or_none(result.body.get("message")),
        )

    def _failed(self, submission: Submission, submitted_s: float, exc: ClientError) -> Outcome:
        return Outcome(
            submission=submission,
            submitted_s=submitted_s,
            finished_s=self.now_s(),
            status=None,
            verdict=None,
            judged_by=None,
            attempts=len(exc.attempts),
            retry_reasons=tuple(_reason(a.status, a.error) for a in exc.attempts[:-1]),
            may_have_run_twice=any(a.may_have_run for a in exc.attempts),
            url=None,
            wall_time_ms=None,
            error=f"{type(exc).__name__}: {exc}",
        )

    def _change_in_flight(self, delta: int) -> float:
        now = self.now_s()
        self.in_flight += delta
        self.in_flight_timeline.append((now, self.in_flight))
        return now


def _reason(status: int | None, error: str | None) -> str:
    return str(status) if status is not None else (error or "no answer")


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
