"""ExecutionService: the replica's one object (on ``app.state``): runtimes, admission, warm
servers and the pipeline over one sandbox. The request path: admit → submission → pipeline."""

import logging

from executor.admission import Admission
from executor.errors import ServiceUnavailable
from executor.judging.runner import JudgingRunner
from executor.languages.plan import expand_argv
from executor.languages.registry import all_plans
from executor.models import ExecuteRequest, ExecuteResponse, RuntimeInfo
from executor.pipeline import Pipeline
from executor.runners import RunnerPool
from executor.runtimes import Runtimes
from executor.sandbox import IsolationMode, Sandbox, SandboxConfig, Zygote
from executor.settings import Settings
from executor.submission import Judging, build_submission, compile_limits
from executor.warm_server import WarmServer

log = logging.getLogger("executor")


class ExecutionService:
    """Runs submissions on this replica. ``ready`` turns true once discovery found the
    runtimes; ``draining`` once shutdown began."""

    def __init__(self, settings: Settings, *, sandbox: Sandbox) -> None:
        self.settings = settings
        self.sandbox = sandbox
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

    @classmethod
    async def open(cls, settings: Settings) -> "ExecutionService":
        """Open the sandbox (helper, runs directory, isolation probes) and log its layers. The
        service is not ready yet: see ``discover``. Raises what Sandbox.open raises."""
        sandbox = await Sandbox.open(
            SandboxConfig(
                mode=settings.isolation,
                runs_dir=settings.resolved_runs_dir(),
                helper_dir=settings.helper_dir(),
                spawn_helper=settings.prebuilt_spawn_helper(),
                pool_size=settings.concurrency(),
                uid_base=settings.uid_base,
                # A judge program (interactor, output validator) runs beside a test's box, as a
                # uid of its own: one companion per run slot.
                companion_pool_size=settings.concurrency(),
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
        return cls(settings, sandbox=sandbox)

    async def discover(self) -> None:
        """Find the runtimes (ready once done), then start the warm servers and run the
        deferred self-tests. Logs each step."""
        for line in await self.runtimes.discover():
            log.info("runtime %s", line)
        self.ready = True
        log.info(
            "ready: %d runtimes, concurrency %d, queue %d",
            len(self.runtimes.registry.runtimes),
            self.admission.concurrency,
            self.admission.queue_size,
        )
        self.start_zygotes()
        self.start_runners()
        # Until a warm server is up, its language compiles with a fresh compiler process.
        await self.start_warm_servers()
        for line in await self.runtimes.verify_deferred():
            log.info("runtime %s", line)

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
                )
                self.warm_servers[runtime.language] = server
                await server.start()

    async def execute(self, request: ExecuteRequest) -> ExecuteResponse:
        """Validate, queue, run and judge one submission.

        Raises UnknownLanguage / VersionUnavailable (400), InvalidSubmission / LimitTooHigh
        (422), BodyTooLarge (413) for bad requests, ServiceBusy (429) when the queue is full and
        ServiceUnavailable (503) while starting or draining. A program that fails is not an
        error: its status says how it failed.
        """
        if not self.ready or self.draining:
            raise ServiceUnavailable("the service is starting or shutting down; retry shortly")
        registry = self.runtimes.registry
        runtime = registry.resolve(request.language, version=request.version)
        submission = build_submission(
            request, runtime, settings=self.settings, resolve=registry.resolve
        )
        if submission.judging is None:
            claim = self.runners.claim(submission) if self.runners is not None else None
            try:
                async with self.admission.slot(memory_kb=submission.limits.memory_kb, adopt=claim):
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
            return await self.judge.run(submission, parallel=parallel)

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

    def runtime_infos(self) -> list[RuntimeInfo]:
        """The runtimes offered here, for /runtimes."""
        return [
            RuntimeInfo(language=r.language, version=r.version, aliases=list(r.plan.aliases))
            for r in self.runtimes.registry.runtimes
        ]

    def load(self) -> dict[str, int]:
        """Run slots held, waiting submissions, cleanups under way, and the bounds."""
        return {**self.admission.load(), "cleaning": self.sandbox.cleaning}

    async def shutdown(self) -> None:
        """Stop admitting work; runs in flight end within their wall limit (uvicorn waits).
        Then stop the warm servers and finish the cleanups under way."""
        self.draining = True
        self.ready = False
        for server in self.warm_servers.values():
            await server.close()
        if self.runners is not None:
            await self.runners.close()
        for zygote in self.zygotes.values():
            zygote.stop()
        await self.sandbox.close()
