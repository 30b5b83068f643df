"""Runtime discovery: find each language's toolchain, offer it once it answers its version probe,
and withdraw it if its self-test through the real sandbox fails (DMOJ's run_self_test, Piston's
test files)."""

import asyncio
from collections.abc import Awaitable, Callable

from executor.languages.plan import LanguagePlan
from executor.languages.registry import Runtime, RuntimeRegistry
from executor.models import ExecuteResponse, Limits, Status
from executor.settings import Settings
from executor.submission import Submission, resolve_limits

# Runs a submission through the pipeline (Pipeline.run), without admission.
RunSubmission = Callable[[Submission], Awaitable[ExecuteResponse]]


class Runtimes:
    """The runtimes offered on this replica: empty until ``discover`` ends."""

    def __init__(
        self, plans: list[LanguagePlan], *, settings: Settings, run: RunSubmission
    ) -> None:
        self.plans = plans
        self.settings = settings
        self.run = run
        self.registry = RuntimeRegistry([])

    async def discover(self) -> list[str]:
        """Find each language's toolchains and keep, per language, the first that answers its
        version probe, all languages side by side; their self-tests run later, in
        verify_deferred. Returns a line per language for the log."""
        results = await asyncio.gather(*(self._first_working(plan) for plan in self.plans))
        self.registry = RuntimeRegistry([runtime for runtime, _ in results if runtime is not None])
        return [line for _, line in results]

    async def verify_deferred(self) -> list[str]:
        """Run the self-test of every runtime offered on its version probe (a hello world; for
        Java a compile and run, through the warm server once it is up). A runtime that fails
        is withdrawn. Returns a line per runtime for the log."""
        lines = []
        for runtime in list(self.registry.runtimes):
            problem = await self.self_test(runtime)
            if problem is None:
                lines.append(f"{runtime.language}: full self-test passed")
                continue
            lines.append(f"{runtime.language}: withdrawn, full self-test failed: {problem}")
            self.registry = RuntimeRegistry([r for r in self.registry.runtimes if r != runtime])
        return lines

    async def self_test(self, runtime: Runtime) -> str | None:
        """Run the plan's hello world in the sandbox. Returns the problem, None if it printed
        what it should."""
        plan = runtime.plan
        main = plan.entry_name(plan.self_test_source)
        submission = Submission(
            runtime=runtime,
            files={main: plan.self_test_source.encode()},
            main=main,
            stdin=b"",
            args=(),
            limits=resolve_limits(Limits(), plan=plan, settings=self.settings),
        )
        try:
            response = await self.run(submission)
        except Exception as exc:  # a broken toolchain must not stop the service
            return f"{type(exc).__name__}: {exc}"
        if response.status != Status.OK or response.stdout != plan.self_test_stdout:
            detail = (response.compile.stderr if response.compile else "") + response.stderr
            problem = (
                f"status {response.status}, stdout {response.stdout!r}, {detail.strip()[:300]}"
            )
            return problem
        return None

    async def _first_working(self, plan: LanguagePlan) -> tuple[Runtime | None, str]:
        binaries = await asyncio.to_thread(plan.find_binaries)
        if not binaries:
            return None, f"{plan.name}: not offered (no toolchain found)"
        problems = []
        for binary in binaries:
            toolchain = await asyncio.to_thread(plan.probe_toolchain, binary)
            if toolchain is None:
                problems.append(f"{binary}: no answer to the version probe")
                continue
            runtime = Runtime(plan=plan, toolchain=toolchain)
            return runtime, f"{plan.name} {toolchain.version}: {toolchain.interpreter}"
        return None, f"{plan.name}: not offered ({'; '.join(problems)})"
