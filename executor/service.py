"""ExecutionService: the replica's one object (on ``app.state``): runtimes, admission, warm
servers and the pipeline over one sandbox. The request path: admit → submission → pipeline.
On SIGTERM it drains: no new work, the work in flight finishes or is stopped at a deadline.

Over 300 lines by a little: the drain's deadlines sit beside the admission they stop.
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from executor.admission import Admission
from executor.errors import ServiceBusy, ServiceDraining, ServiceUnavailable
from executor.judging.runner import JudgingRunner
from executor.languages.plan import expand_argv
from executor.languages.registry import Runtime, all_plans
from executor.metrics import Metrics
from executor.models import ExecuteRequest, ExecuteResponse, RuntimeInfo, Status, StreamFlags
from executor.pipeline import Pipeline
from executor.runners import RunnerPool, run_pool_size
from executor.runtimes import Runtimes
from executor.sandbox import IsolationMode, Sandbox, SandboxConfig, SpawnError, Zygote
from executor.settings import Settings
from executor.submission import Judging, Submission, build_submission, compile_limits
from executor.warm_server import WarmServer

log = logging.getLogger("executor")

# The longest a submission waits for a runner of its language that is starting: one takes
# 0.1-0.3 s at --cpus 0.5 (measured: Node, Java); one not ready by then is hung or starved.
RUNNER_WAIT_S = 2.0
# The longest the deferred self-tests wait for a quiet moment: no submission in flight, and
# none for DEFERRED_SELF_TEST_QUIET_S (counted from ready). A replica started by a scale-out has
# requests waiting for it: its first ones get the CPU to themselves.
DEFERRED_SELF_TEST_WAIT_S = 60.0
DEFERRED_SELF_TEST_QUIET_S = 1.0


@dataclass
class Progress:
    """How far one submission got, filled in by ``execute`` as it goes (for the request log
    and for telling a queued submission from a running one when its client leaves)."""

    queue_wait_s: float | None = None  # set once it was admitted


class ExecutionService:
    """Runs submissions on this replica. ``ready`` turns true once discovery found the
    runtimes; ``draining`` once SIGTERM came (see ``drain``)."""

    def __init__(self, settings: Settings, *, sandbox: Sandbox, metrics: Metrics) -> None:
        self.settings = settings
        self.sandbox = sandbox
        self.metrics = metrics
        self.admission = Admission(
            concurrency=settings.concurrency(),
            queue_size=settings.queue_size(),
            memory_budget_kb=settings.memory_budget_mb() * 1024,
        )
        # Filled by start_warm_servers and start_zygotes; until then the pipeline compiles with a
        # fresh compiler and starts every run cold.
        self.warm_servers: dict[str, WarmServer] = {}
        self.zygotes: dict[str, Zygote] = {}
        self.pipeline = Pipeline(
            sandbox, settings=settings, warm_servers=self.warm_servers, zygotes=self.zygotes
        )
        self.judge = JudgingRunner(self.pipeline)
        wanted = settings.offered_languages()
        plans = [p for p in all_plans() if wanted is None or p.name in wanted]
        self.runtimes = Runtimes(plans, settings=settings, run=self.pipeline.run)
        # Made once the runtimes are known (start_runners).
        self.runners: RunnerPool | None = None
        self.ready = False
        self.draining = False
        # Submissions between admission's door and their answer, queued or running.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._all_done = asyncio.Event()
        self._all_done.set()
        self._idle_since = time.monotonic()  # when the last submission in flight ended
        # Set at the drain deadline: a submission cancelled then is answered internal_error.
        self._stopping = False

    @classmethod
    async def open(cls, settings: Settings, *, metrics: Metrics) -> "ExecutionService":
        """Open the sandbox (helper, runs directory, isolation probes) and log its layers; clean
        what a service that died on the same runs directory left. The service is not ready
        yet: see ``discover``. Raises what Sandbox.open raises."""
        sandbox = await Sandbox.open(
            SandboxConfig(
                mode=settings.isolation,
                runs_dir=settings.resolved_runs_dir(),
                helper_dir=settings.helper_dir(),
                spawn_helper=settings.prebuilt_spawn_helper(),
                pool_size=run_pool_size(settings.concurrency()),
                uid_base=settings.uid_base,
                # A judge program (interactor, output validator) runs beside a test's box, as a
                # uid of its own: one companion per run slot.
                companion_pool_size=settings.concurrency(),
                # Node's and Java's runners load their scripts from the helper's directory.
                read_by_runs=(settings.helper_dir(),),
            )
        )
        if sandbox.isolation.mode is IsolationMode.NONE:
            log.warning(
                "EXECUTOR_ISOLATION=none: submitted code runs as this service's user. "
                "Never use this with untrusted code."
            )
        log.info("spawn: native helper %s", sandbox.helper.path)
        for layer in sandbox.isolation.layers:
            state = "active" if layer.active else "inactive"
            log.info("isolation layer %s: %s (%s)", layer.name, state, layer.detail)
        return cls(settings, sandbox=sandbox, metrics=metrics)

    async def discover(self) -> None:
        """Find the runtimes (ready once done), then start the zygotes, the runners and the
        warm servers, and run the deferred self-tests once no submission is in flight. Logs
        each step."""
        for line in await self.runtimes.discover():
            log.info("runtime %s", line)
        self.ready = True
        self._idle_since = time.monotonic()
        log.info(
            "ready: %d runtimes, concurrency %d, queue %d",
            len(self.runtimes.registry.runtimes),
            self.admission.concurrency,
            self.admission.queue_size,
        )
        # After ready, not before: measured in executor-python at --cpus 0.5, starting the
        # zygote first put 12-35 ms between the runtime found and ready (the fork and exec, and
        # the zygote's start sharing the half CPU) against 1-5 ms, for a zygote no further in
        # its start when the first request comes. A run launched meanwhile waits for it.
        self.start_zygotes()
        self.start_runners()
        # Until a warm server is up, its language compiles with a fresh compiler process.
        await self.start_warm_servers()
        # The deferred self-tests (Java: a compile and a cold JVM, 0.1-0.2 s of CPU; Node: a
        # cold node, about 45 ms; Python: a cold python3, 15-20 ms) wait for a quiet moment:
        # submissions sent right after /readyz must not share the CPU with them. Under a load
        # that never ends they run anyway, and a broken toolchain is withdrawn.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._until_quiet(), DEFERRED_SELF_TEST_WAIT_S)
        for line in await self.runtimes.verify_deferred():
            log.info("runtime %s", line)

    async def _until_quiet(self) -> None:
        """Return once no submission is in flight and none was for DEFERRED_SELF_TEST_QUIET_S."""
        while True:
            await self._all_done.wait()
            left = self._idle_since + DEFERRED_SELF_TEST_QUIET_S - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(left)  # a submission meanwhile moves _idle_since: look again

    def start_zygotes(self) -> None:
        """Start a zygote for each offered language whose plan has one (EXECUTOR_PREWARM)."""
        if not self.settings.prewarm:
            return
        for runtime in self.runtimes.registry.runtimes:
            plan = runtime.plan
            if plan.zygote is None:
                continue
            argv = (
                *expand_argv(plan.zygote.argv, toolchain=runtime.toolchain),
                plan.zygote.script(),
            )
            try:
                self.zygotes[runtime.language] = self.sandbox.start_zygote(argv)
            except OSError as exc:
                log.warning("%s: no zygote (%s); its runs start cold", runtime.language, exc)

    def start_runners(self) -> None:
        """Keep runners started ahead for each offered language whose plan has them
        (EXECUTOR_PREWARM), in the background."""
        if not self.settings.prewarm:
            return
        self.runners = RunnerPool(
            self.sandbox,
            self.admission,
            settings=self.settings,
            runtimes=self.runtimes.registry.runtimes,
        )
        self.runners.start()

    async def start_warm_servers(self) -> None:
        """Start a warm server for each offered language whose plan has one."""
        if not self.settings.warm_compiler:
            return
        for runtime in self.runtimes.registry.runtimes:
            plan = runtime.plan
            if plan.warm_server is not None:
                server = WarmServer(
                    plan.warm_server,
                    runtime.toolchain,
                    sandbox=self.sandbox,
                    limits=compile_limits(plan, settings=self.settings),
                    # Its warm-ups wait for no submission in flight: also one waiting for this
                    # server to start (see _admit_and_run), not yet admitted.
                    idle=self._all_done,
                )
                self.warm_servers[runtime.language] = server
                await server.start()

    async def execute(
        self, request: ExecuteRequest, *, progress: Progress | None = None
    ) -> ExecuteResponse:
        """Validate, queue, run and judge one submission.

        Raises UnknownLanguage / VersionUnavailable (400), InvalidSubmission / LimitTooHigh
        (422), BodyTooLarge (413) for bad requests, ServiceBusy (429) when the queue is full and
        ServiceUnavailable (503) while starting or draining. A program that fails is not an
        error: its status says how it failed. Cancelled (its client left), it leaves the queue
        or its processes are killed; cancelled at the drain deadline, it answers
        ``internal_error`` saying so.
        """
        if self.draining:
            self.metrics.rejections.labels("draining").inc()
            raise ServiceDraining("this replica is shutting down; send the submission again")
        if not self.ready:
            raise ServiceUnavailable("the service is starting; retry shortly")
        registry = self.runtimes.registry
        runtime = registry.resolve(request.language, version=request.version)
        submission = build_submission(
            request, runtime, settings=self.settings, resolve=registry.resolve
        )
        progress = progress if progress is not None else Progress()
        task = asyncio.current_task()
        if task is None:  # always run in a task by the event loop
            raise RuntimeError("execute must run in a task")
        self._in_flight.add(task)
        self._all_done.clear()
        arrived = time.monotonic()
        try:
            result = await self._admit_and_run(submission, progress=progress, arrived=arrived)
        except ServiceBusy:
            self.metrics.rejections.labels("busy").inc()
            raise
        except SpawnError:
            self.metrics.sandbox_failures.inc()
            raise
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task.uncancel()
            result = _stopped_at_drain_deadline(
                runtime, ran=progress.queue_wait_s is not None, drain_s=self.settings.drain_seconds
            )
        finally:
            self._in_flight.discard(task)
            if not self._in_flight:
                self._all_done.set()
                self._idle_since = time.monotonic()
        self._count(result, seconds=time.monotonic() - arrived - (progress.queue_wait_s or 0))
        return result

    async def _admit_and_run(
        self, submission: Submission, *, progress: Progress, arrived: float
    ) -> ExecuteResponse:
        """Wait for admission, then run (or judge) the submission."""
        await self._until_prewarmed(submission)
        if submission.judging is None:
            claim = self.runners.claim(submission) if self.runners is not None else None
            try:
                async with self.admission.slot(memory_kb=submission.limits.memory_kb, adopt=claim):
                    self._admitted(progress, arrived=arrived)
                    return await self.pipeline.run(
                        submission, runner=claim.runner if claim is not None else None
                    )
            finally:
                if claim is not None:
                    claim.close()
        # A submission running k tests at once holds k run slots and k tests' memory.
        parallel = self.tests_at_once(submission.judging)
        memory_kb = parallel * submission.judging.memory_per_test_kb()
        async with self.admission.slot(memory_kb=memory_kb, slots=parallel):
            self._admitted(progress, arrived=arrived)
            return await self.judge.run(submission, parallel=parallel)

    async def _until_prewarmed(self, submission: Submission) -> None:
        """Wait, before admission, for what this submission's language is starting: its warm
        compiler (the compile would wait for it anyway, and a runner started meanwhile is then
        idle when the submission is let in), then a runner that is starting when none is idle
        (a cold run would cost the same CPU beside it, on a replica of half a CPU). The first
        is bounded by the compile's wall limit (as the compile's own wait), the second by
        RUNNER_WAIT_S; after them the submission runs as it finds things."""
        runtime = submission.runtime
        server = self.warm_servers.get(runtime.language)
        if server is not None:
            limits = compile_limits(runtime.plan, settings=self.settings)
            await server.until_settled(timeout_s=limits.wall_time_ms / 1000)
        if self.runners is not None and submission.judging is None:
            await self.runners.until_one_ready(submission, timeout_s=RUNNER_WAIT_S)

    def _admitted(self, progress: Progress, *, arrived: float) -> None:
        progress.queue_wait_s = time.monotonic() - arrived
        self.metrics.queue_wait_seconds.observe(progress.queue_wait_s)

    def tests_at_once(self, judging: Judging) -> int:
        """How many of a submission's tests run at once: EXECUTOR_TESTS_PARALLEL, no more than
        it has tests, the replica has run slots, or its memory budget holds."""
        per_test_kb = judging.memory_per_test_kb()
        by_memory = max(1, self.admission.memory_budget_kb // max(1, per_test_kb))
        return max(
            1,
            min(
                self.settings.tests_parallel,
                len(judging.tests),
                self.admission.concurrency,
                by_memory,
            ),
        )

    async def drain(self, *, deadline: float) -> None:
        """Take no new submission (``draining``: /readyz and /execute answer 503); let those
        queued and running finish until ``deadline`` (``time.monotonic()``); then cancel the
        rest, which answer ``internal_error``, and wait for their answers."""
        self.draining = True
        at_signal = len(self._in_flight)
        log.info(
            "draining: %d submissions in flight, %.1f s until the rest are stopped",
            at_signal,
            max(0.0, deadline - time.monotonic()),
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_done.wait(), max(0.0, deadline - time.monotonic()))
        left = list(self._in_flight)
        self.metrics.drained.labels("finished").inc(at_signal - len(left))
        if left:
            log.warning("drain deadline: stopping %d submissions still in flight", len(left))
            self.metrics.drained.labels("killed").inc(len(left))
            self._stopping = True
            for task in left:
                task.cancel()
            await asyncio.wait(left)
        log.info("drained")

    def runtime_infos(self) -> list[RuntimeInfo]:
        """The runtimes offered here, for /runtimes."""
        return [
            RuntimeInfo(language=r.language, version=r.version, aliases=list(r.plan.aliases))
            for r in self.runtimes.registry.runtimes
        ]

    def prewarm_restarts(self) -> dict[str, int]:
        """Times each language's prewarmed processes were started again after one died: the
        zygote's restarts, and the runners that ended on their own (crashed, or hung while
        starting) before serving a run. A runner ended on purpose (after its run, for a uid or
        memory a submission needed, aged) is no restart."""
        restarts = {language: max(0, z.starts - 1) for language, z in self.zygotes.items()}
        if self.runners is not None:
            restarts.update(self.runners.restarts)
        return restarts

    def load(self) -> dict[str, int]:
        """Running and queued submissions, cleanups under way, and the bounds."""
        load = self.admission.load()
        return {
            "running": load["running"],
            "queued": load["waiting"],
            **load,
            "cleaning": self.sandbox.cleaning,
        }

    async def shutdown(self) -> None:
        """Stop admitting work, stop what is still in flight (a drain normally left nothing),
        stop the warm servers and finish the cleanups under way."""
        self.draining = True
        if self._in_flight:
            await self.drain(deadline=time.monotonic())
        self.ready = False
        for server in self.warm_servers.values():
            await server.close()
        if self.runners is not None:
            await self.runners.close()
        for zygote in self.zygotes.values():
            zygote.stop()
        await self.sandbox.close()

    def _count(self, result: ExecuteResponse, *, seconds: float) -> None:
        language = result.language
        self.metrics.executions.labels(language, result.status.value).inc()
        self.metrics.execution_seconds.labels(language).observe(seconds)
        if result.compile is not None:
            self.metrics.compile_seconds.labels(language).observe(
                result.compile.wall_time_ms / 1000
            )


def _stopped_at_drain_deadline(runtime: Runtime, *, ran: bool, drain_s: int) -> ExecuteResponse:
    """The answer of a submission stopped because the replica shut down: not the program's
    doing, so ``internal_error``, with a message saying what happened."""
    what = "its processes were killed" if ran else "it had not started"
    return ExecuteResponse(
        status=Status.INTERNAL_ERROR,
        message=(
            f"the replica shut down (SIGTERM) and the submission did not finish within "
            f"EXECUTOR_DRAIN_SECONDS={drain_s}: {what}; send it again"
        ),
        stdout="",
        stderr="",
        exit_code=None,
        signal=None,
        time_ms=0,
        wall_time_ms=0,
        memory_kb=0,
        truncated=StreamFlags(stdout=False, stderr=False),
        invalid_utf8=StreamFlags(stdout=False, stderr=False),
        compile=None,
        language=runtime.language,
        version=runtime.version,
    )
