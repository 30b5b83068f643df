"""Runners started ahead (#11): for each language whose plan has a runner, interpreters waiting
in idle uid slots of the sandbox, each holding the memory of a run in the admission's budget.
A submission with their limits adopts one and takes its hold over; one that cannot fit beside
them ends idle ones; one that finds none ready waits for one still starting, when that is
sooner than a cold start. After each run a new one starts in the background, only while no
submission waits and the runs leave a CPU free, and at the lowest CPU priority (as every
run). The uids left once each language has its share go to the language of the last
submission a runner could serve, so that back-to-back requests of one language find the next
runner started (and to none after one that runs cold: it needs a uid of its own)."""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from executor.admission import Admission
from executor.languages.plan import RunnerPlan, expand_argv, heap_mb_for
from executor.languages.registry import Runtime
from executor.sandbox import ResourceLimits, Runner, RunnerState, Sandbox, SpawnError, same_setup
from executor.settings import Settings, available_cpus
from executor.submission import Submission, resolve_limits
from executor.wire import Limits

log = logging.getLogger("executor")

# Runners kept per language: at most this many; and of all languages together, most_runners.
# Each language is owed an equal share of those; the rest go to the language of the last
# submission a runner could serve, so that while one runs from a runner the next one is
# already starting.
MOST_RUNNERS_PER_LANGUAGE = 2
# A runner is used only while the CPU time it spent before its go signal (start-up, and the
# interpreter's own background work while idle) is below this: the program's RLIMIT_CPU
# backstop, 1 to 2 s above its limit, comes that much sooner. An older one is replaced.
MOST_STARTUP_CPU_MS = 500
# How long a runner may take to become ready, at the lowest priority on a busy replica.
READY_TIMEOUT_S = 120.0
# After a runner fails to start, its language waits this long (doubling, up to the most).
FIRST_RETRY_S = 1.0
LAST_RETRY_S = 300.0
# How often idle runners are looked at when nothing else happens (their CPU time grows).
CHECK_INTERVAL_S = 60.0


@dataclass
class _Language:
    """One language's runners: how they start, under which limits, how many are wanted."""

    runtime: Runtime
    plan: RunnerPlan
    limits: ResourceLimits
    share: int  # runners it keeps (the language last served may keep more: _target)
    program: str = ""  # the plan's built runner program ({runner}), once built
    runners: list[Runner] = field(default_factory=list)
    failures: int = 0
    retry_at: float = 0.0
    # How long its runners take to be ready (s, smoothed; None until one was): a submission
    # that finds none ready waits for one still starting while it is on time.
    startup_s: float | None = None
    # Why it has no runner now, for /info (its program could not be built, or its last start
    # failed and it waits before the next); None while its runners start as they should.
    problem: str | None = None


class Claim:
    """A submission's claim on a runner of its language (an admission.Adoption): when the
    submission is let in, it takes over one that is ready, or else one still starting that
    should be ready sooner than a cold start would (it is part-way there), with that
    runner's hold. ``runner`` is then the one taken (the pipeline adopts it into its box;
    one still starting is waited for at the go signal); ``close`` when the submission is
    done gives back one taken but not adopted."""

    def __init__(self, pool: "RunnerPool", language: _Language) -> None:
        self._pool = pool
        self._language = language
        self.runner: Runner | None = None

    def held_kb(self) -> int:
        found = self._pool.usable(self._language) or self._pool.starting(self._language)
        return self._language.limits.memory_kb if found else 0

    def take(self) -> None:
        runner = self._pool.usable(self._language)
        if runner is not None:
            runner.take()
        else:
            runner = self._pool.starting(self._language)
            if runner is None:
                raise RuntimeError("no runner to take: held_kb() said there was one")
            runner.take(ready_by=self._pool.ready_by(self._language, runner))
        self._pool.taken(runner)
        self.runner = runner

    def close(self) -> None:
        if self.runner is not None and self.runner.state is RunnerState.TAKEN:
            self.runner.lose()  # let in, then failed before its box adopted the runner
        self._pool.wake()


def most_runners(concurrency: int) -> int:
    """Idle runners of all languages together: one fewer than the runs at once (with a
    concurrency of one, none)."""
    return concurrency - 1


def run_pool_size(concurrency: int) -> int:
    """The uids of the run pool: one per run at once, as many again so that a run never waits
    for the cleanup of the last one to end, and one per idle runner. Runners held uids of the
    runs' own before: with three idle runners in a pool of four, runs of a third language
    (Python's) got one uid, and each second one at once waited for a cleanup or ended a
    runner, which started again after it."""
    return 2 * concurrency + most_runners(concurrency)


class RunnerPool:
    """The runners of this replica (see the module docstring). ``start`` builds each
    language's runner program and keeps the runners topped up until ``close``."""

    def __init__(
        self,
        sandbox: Sandbox,
        admission: Admission,
        *,
        settings: Settings,
        runtimes: list[Runtime],
    ) -> None:
        self.sandbox = sandbox
        self.admission = admission
        self.settings = settings
        with_runners = [r for r in runtimes if r.plan.runner is not None]
        most = most_runners(admission.concurrency)
        share = max(1, min(MOST_RUNNERS_PER_LANGUAGE, most // max(1, len(with_runners))))
        # All languages' runners together (their uids are the pool's beyond the runs': see
        # run_pool_size).
        self._most = most
        # A runner starts beside runs only while they leave a CPU free (else it would slow
        # them down: on a replica of half a CPU, it waits for the run to end).
        self._cpus = available_cpus()
        self._languages: dict[str, _Language] = {}
        for runtime in with_runners:
            assert runtime.plan.runner is not None
            self._languages[runtime.language] = _Language(
                runtime=runtime,
                plan=runtime.plan.runner,
                limits=_default_limits(runtime, settings=settings),
                share=share,
            )
        # The runners whose admission hold is still the pool's (not taken over by a run).
        self._holding: dict[Runner, _Language] = {}
        self._of: dict[Runner, _Language] = {}
        # The language of the last submission a runner could serve (None when the last one
        # could not): the uids beyond the shares are its.
        self._last_asked: _Language | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Task[None]] = set()  # runners' readiness, watched
        # Set once the first round of runners was started (their programs built first).
        self._first_round = asyncio.Event()
        self._closing = False
        # Runners of each language that died (or hung starting) before serving a run.
        self.restarts: dict[str, int] = dict.fromkeys(self._languages, 0)
        admission.set_reclaimer(self._reclaim)
        sandbox.uid_listeners.append(self.wake)

    def start(self) -> None:
        """Build the runner programs and keep the runners topped up, in the background."""
        if self._languages and self._task is None:
            self._task = asyncio.create_task(self._keep_up())

    async def close(self) -> None:
        """Stop starting runners (the sandbox ends those left when it closes)."""
        self._closing = True
        for task in [*self._waiting, *([self._task] if self._task is not None else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look again whether a runner should start (a uid came back, a run ended)."""
        self._wake.set()

    def claim(self, submission: Submission) -> Claim | None:
        """A claim for ``submission`` if a runner could run it exactly as the cold command:
        its language has runners, it is not judged, its entry file is the one the runners
        were started for (if they need one), and its limits give the runners' setup. (The
        spare uids follow the submissions: to its language, or to none when it runs cold,
        since it then needs a uid of its own.)"""
        language = self._languages.get(submission.runtime.language)
        fits = (
            language is not None
            and bool(language.program)
            and submission.judging is None
            and (language.plan.main is None or submission.main == language.plan.main)
            and same_setup(language.limits, submission.limits)
        )
        asked = language if fits else None
        if self._last_asked is not asked:
            self._last_asked = asked
            self.wake()
        return Claim(self, language) if fits and language is not None else None

    async def until_one_ready(self, submission: Submission, *, timeout_s: float) -> None:
        """Wait, at most ``timeout_s``, while ``submission`` could take a runner (``claim``)
        and none of its language is idle but one is starting (or the first round is still to
        start): that runner's start costs what a cold start of the run would, and the two would
        share the CPU."""
        language = self._languages.get(submission.runtime.language)
        if language is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._first_round.wait()
                if self.claim(submission) is None:
                    return
                if any(r.state is RunnerState.IDLE for r in language.runners):
                    return
                starting = [
                    asyncio.ensure_future(r.wait_ready(timeout_s=timeout_s))
                    for r in language.runners
                    if r.state is RunnerState.STARTING
                ]
                if not starting:
                    return
                try:
                    await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in starting:
                        waiting.cancel()

    def usable(self, language: _Language) -> Runner | None:
        """An idle runner of ``language`` fit to take a run now (one that spent too much CPU
        time while waiting is ended on the way)."""
        for runner in list(language.runners):
            if runner.state is not RunnerState.IDLE:
                continue
            spent_ns = runner.cpu_time_ns()
            if spent_ns is not None and spent_ns <= MOST_STARTUP_CPU_MS * 1_000_000:
                return runner
            log.info("%s runner %d spent %s ns waiting: replacing it", language.runtime.language,
                     runner.pid, spent_ns)  # fmt: skip
            runner.lose()
        return None

    def starting(self, language: _Language) -> Runner | None:
        """The runner of ``language`` started first among those still starting, if it is
        on time (started less than twice its language's usual start-up ago)."""
        if language.startup_s is None:
            return None
        late_at = time.monotonic() - 2 * language.startup_s
        for runner in sorted(language.runners, key=lambda r: r.started_at):
            if runner.state is RunnerState.STARTING and runner.started_at > late_at:
                return runner
        return None

    def ready_by(self, language: _Language, runner: Runner) -> float:
        """Until when a submission waits for ``runner``, still starting, to be ready: twice
        its language's usual start-up from its start, and at least one start-up from now
        (what a cold start would take)."""
        startup_s = language.startup_s or 0.0
        return max(runner.started_at + 2 * startup_s, time.monotonic() + startup_s)

    def taken(self, runner: Runner) -> None:
        """A submission took ``runner`` over, with its hold: it is no longer the pool's (its
        replacement starts once the run is over: Claim.close)."""
        self._holding.pop(runner, None)
        language = self._of.pop(runner, None)
        if language is not None:
            language.runners.remove(runner)

    def describe(self) -> list[dict[str, object]]:
        """Each runner not yet adopted, for /info: language, uid, pid, state."""
        return [
            {
                "language": language.runtime.language,
                "uid": runner.uid,
                "pid": runner.pid,
                "state": runner.state.value,
            }
            for language in self._languages.values()
            for runner in language.runners
        ]

    def problems(self) -> dict[str, str]:
        """For /info: each language whose runs start cold for want of runners, and why."""
        return {
            name: language.problem
            for name, language in self._languages.items()
            if language.problem is not None
        }

    async def _keep_up(self) -> None:
        for name, language in self._languages.items():
            try:
                language.program = await asyncio.to_thread(
                    language.plan.build, language.runtime.toolchain, self.settings.helper_dir()
                )
            except OSError as exc:
                language.problem = f"its runner program could not be built: {exc}"
                log.warning("%s: no runners (%s); its runs start cold", name, exc)
        while not self._closing:
            self._wake.clear()
            for language in self._languages.values():
                while language.program and self._wants(language):
                    if not await self._start_one(language):
                        break
            self._first_round.set()
            self._replace_old_ones()
            retries = [lang.retry_at for lang in self._languages.values() if lang.failures]
            timeout = min([CHECK_INTERVAL_S, *(t - time.monotonic() for t in retries)])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.01, timeout))

    def _target(self, language: _Language) -> int:
        """How many runners ``language`` keeps: its share, or, for the language of the last
        submission a runner could serve, what the other languages' shares leave (at most
        MOST_RUNNERS_PER_LANGUAGE)."""
        if language is not self._last_asked:
            return language.share
        others = sum(lang.share for lang in self._languages.values() if lang is not language)
        return max(language.share, min(MOST_RUNNERS_PER_LANGUAGE, self._most - others))

    def _wants(self, language: _Language) -> bool:
        """Whether one more runner of ``language`` should start now: it has fewer than it
        keeps (and all languages fewer than the pool's uids less one), no submission waits,
        the runs leave a CPU free, a uid is free, and it is not waiting after a failure."""
        pool = self.sandbox.pool
        return (
            len(language.runners) < self._target(language)
            and len(self._of) < self._most
            and self.admission.waiting == 0
            and self.admission.running < self._cpus
            and (pool is None or pool.free > 0)
            and time.monotonic() >= language.retry_at
            and not self._closing
        )

    async def _start_one(self, language: _Language) -> bool:
        """Start one runner of ``language``, holding its memory; False when it cannot now."""
        limits = language.limits
        if not self.admission.hold_idle(limits.memory_kb):
            return False
        runtime = language.runtime
        try:
            runner = await self.sandbox.start_runner(
                lambda tmp_dir: expand_argv(
                    language.plan.argv,
                    toolchain=runtime.toolchain,
                    main=language.plan.main or runtime.plan.default_main,
                    heap_mb=heap_mb_for(limits.memory_kb),
                    tmp_dir=tmp_dir,
                    runner=language.program,
                ),
                limits=limits,
                env=runtime.plan.env,
                on_lost=self._lost,
            )
        except SpawnError as exc:
            self.admission.release_idle(limits.memory_kb)
            self._failed(language, f"cannot start: {exc}")
            return False
        if runner is None:
            self.admission.release_idle(limits.memory_kb)
            return False
        log.debug("%s runner %d starting", runtime.language, runner.pid)
        language.runners.append(runner)
        self._of[runner] = language
        self._holding[runner] = language
        waiting = asyncio.create_task(self._until_ready(runner, language))
        self._waiting.add(waiting)
        waiting.add_done_callback(self._waiting.discard)
        return True

    async def _until_ready(self, runner: Runner, language: _Language) -> None:
        if await runner.wait_ready(timeout_s=READY_TIMEOUT_S):
            # (Taken while starting, it may be running its program by now: not measured.)
            spent_ns = runner.cpu_time_ns() if runner.state is RunnerState.IDLE else None
            if spent_ns is not None and spent_ns > MOST_STARTUP_CPU_MS * 1_000_000:
                # Never usable: starting more at once would only burn CPU; back off instead.
                runner.lose()
                self._failed(language, f"its start-up took {spent_ns // 1_000_000} ms of CPU")
                return
            language.failures = 0
            language.problem = None
            if runner.ready_at is not None:
                took_s = runner.ready_at - runner.started_at
                last_s = language.startup_s
                language.startup_s = took_s if last_s is None else (last_s + took_s) / 2
            return
        if runner.state is RunnerState.STARTING:
            runner.died = True  # hung while starting: as good as dead
            runner.lose()
            self._failed(language, f"not ready within {READY_TIMEOUT_S:.0f} s")

    def _lost(self, runner: Runner) -> None:
        """A runner ended before a run adopted it: give its hold back, start another."""
        language = self._of.pop(runner, None)
        if language is None:
            return
        log.debug("%s runner %d ended unused (%s)", language.runtime.language, runner.pid,
                  runner.state.value if runner.ready_at is None else "ready")  # fmt: skip
        with contextlib.suppress(ValueError):
            language.runners.remove(runner)
        if runner.died and not self._closing:
            self.restarts[language.runtime.language] += 1
        if self._holding.pop(runner, None) is not None:
            self.admission.release_idle(language.limits.memory_kb)
        if runner.ready_at is None and not self._closing:
            self._failed(language, "it ended while starting")
        self.wake()

    def _failed(self, language: _Language, why: str) -> None:
        language.failures += 1
        delay = min(LAST_RETRY_S, FIRST_RETRY_S * 2 ** (language.failures - 1))
        language.retry_at = time.monotonic() + delay
        language.problem = f"its last runner failed ({why}); the next is tried {delay:.0f} s later"
        log.warning("%s runner: %s; trying again in %.0f s", language.runtime.language, why, delay)

    def _reclaim(self, memory_kb: int) -> int:
        """End idle (or starting) runners, youngest first, until their holds reach
        ``memory_kb``; return what they held (the admission drops it)."""
        freed = 0
        candidates = sorted(
            (r for r in self._holding if r.state in (RunnerState.STARTING, RunnerState.IDLE)),
            key=lambda r: r.started_at,
            reverse=True,
        )
        for runner in candidates:
            if freed >= memory_kb:
                break
            freed += self._holding.pop(runner).limits.memory_kb
            runner.lose()
        return freed

    def _replace_old_ones(self) -> None:
        """End idle runners that spent too much CPU time waiting (usable() says which)."""
        for language in self._languages.values():
            for runner in list(language.runners):
                if runner.state is RunnerState.IDLE:
                    spent_ns = runner.cpu_time_ns()
                    if spent_ns is None or spent_ns > MOST_STARTUP_CPU_MS * 1_000_000:
                        runner.lose()


def _default_limits(runtime: Runtime, *, settings: Settings) -> ResourceLimits:
    """The limits a request that sets none gets (the operator's defaults): a runner's."""
    return resolve_limits(Limits(), plan=runtime.plan, settings=settings)
