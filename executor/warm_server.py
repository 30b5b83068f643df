"""Keeps a language's compiler warm (a long-lived server in a box of its own, as its plan's
WarmServerPlan describes) and compiles through it. Knows no language.

Over 300 lines: the server's start, restarts, warm-ups and compiles share one lock and one
state, and their order (a start before compiles, compiles before warm-ups) reads best together.
"""

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass

from executor.languages.plan import (
    CompileBudget,
    Toolchain,
    WarmServerPlan,
    expand_argv,
    heap_mb_for,
)
from executor.sandbox import (
    KillReason,
    Resident,
    ResidentFailed,
    ResourceLimits,
    Sandbox,
    SpawnError,
)

log = logging.getLogger("executor")

# Starting the server and warming it up take a few seconds of CPU at most (a JVM); the budget is
# generous for a 0.5-CPU replica.
START_BUDGET_MS = 60_000
# The server lives for many compiles, so RLIMIT_CPU (per process, cumulative) must not end it;
# each compile's CPU is budgeted by sampling instead (Resident.exchange).
SERVER_LIFETIME_CPU_MS = 7 * 24 * 3600 * 1000
# The most the server may hand over in files for one compile. Its answer is read into the
# service's memory (twice, while decoded), which the service's reserve must cover; a compile
# that writes more is done by a fresh compiler, writing as the run's uid under its disk limits.
ARTIFACTS_MAX_KB = 16 * 1024


@dataclass(frozen=True)
class WarmCompile:
    """What a compile through the warm server gave: the compiler's exit code and diagnostics,
    the files it produced, and the cost of the exchange. ``killed_for`` is set when the compile
    passed a limit: its CPU, wall time or memory (the server was then killed and is being
    restarted, its messages lost), or its output (the server stopped the compile at the cap,
    its messages kept up to it)."""

    exit_code: int | None
    diagnostics: str
    artifacts: dict[str, bytes]
    cpu_time_ms: int
    wall_time_ms: int
    memory_kb: int
    killed_for: KillReason | None = None


class WarmServer:
    """One warm compile server. ``compile`` waits for a start under way (a fresh compiler would
    only compete with it for the CPU), and returns None whenever the server cannot answer (never
    started, failed to start, crashed, or an answer it may not give: more files than its
    budget): the caller then compiles with a fresh compiler process. Once ready, the server gets
    its plan's warm-up compiles in the background, each when ``idle`` is set (no submission in
    the service, when given) and no compile waits for it (``warm_ups_left`` counts them down).
    ``compiles`` counts the compiles it answered, warm-ups aside."""

    def __init__(
        self,
        plan: WarmServerPlan,
        toolchain: Toolchain,
        *,
        sandbox: Sandbox,
        limits: ResourceLimits,
        idle: asyncio.Event | None = None,
    ) -> None:
        self.plan = plan
        self.toolchain = toolchain
        self.sandbox = sandbox
        self.limits = limits
        self.idle = idle
        self.ready = False
        self.starts = 0
        self.compiles = 0
        self.warm_ups_left = 0
        self._resident: Resident | None = None
        self._lock = asyncio.Lock()
        self._restarting: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        # Set while no start is under way or due; compiles wait on it.
        self._settled = asyncio.Event()
        self._settled.set()
        self._closed = False
        # Compiles under way, kept here while their callers may have gone (see compile).
        self._compiles: set[asyncio.Future[WarmCompile | None]] = set()

    async def start(self) -> None:
        """Start the server and wait for its ready frame, then begin its warm-up compiles in the
        background. Logs and leaves ``ready`` false if it cannot start: compilation then falls
        back to a fresh compiler."""
        self._settled.clear()
        try:
            await self._start()
        finally:
            # Compiles waiting for this start go first, before the warm-ups.
            self._settled.set()
        if self.ready and not self._closed and self.plan.warm_up_compiles > 0:
            self.warm_ups_left = self.plan.warm_up_compiles
            self._warming = asyncio.create_task(self._warm_up())

    async def _start(self) -> None:
        self.starts += 1
        argv = expand_argv(
            self.plan.argv, toolchain=self.toolchain, heap_mb=heap_mb_for(self.limits.memory_kb)
        )
        lifetime = dataclasses.replace(self.limits, cpu_time_ms=SERVER_LIFETIME_CPU_MS)
        try:
            self._resident = await self.sandbox.start_resident(
                argv, files=self.plan.files(), limits=lifetime, env={}
            )
            first = await self._resident.exchange(
                None,
                cpu_time_ms=START_BUDGET_MS,
                wall_time_ms=START_BUDGET_MS,
                memory_kb=self.limits.memory_kb,
                max_response_bytes=compile_budget(self.limits).response_bytes,
            )
            if self.plan.decode_response(first.response).exit_code != 0:
                raise ValueError("the warm-up compile failed")
        except (OSError, ValueError, SpawnError, ResidentFailed) as exc:
            detail = self._resident.stderr_text()[-500:] if self._resident else ""
            log.warning("warm compiler did not start (%s) %s; using fresh ones", exc, detail)
            await self._stop()
            return
        self.ready = True
        log.info("warm compiler ready (start %d, %d ms CPU)", self.starts, first.cpu_time_ms)

    async def until_settled(self, *, timeout_s: float) -> None:
        """Wait, at most ``timeout_s``, until no start (or restart) of the server is under way."""
        if not self._settled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), timeout=timeout_s)

    async def compile(
        self, sources: dict[str, bytes], *, limits: ResourceLimits
    ) -> WarmCompile | None:
        """Compile ``sources`` in the server under ``limits``: the CPU, wall and memory of this
        exchange; the compiler's messages cut at ``output_kb`` (the compile then stopped, as an
        output-limit kill); its files within ``disk_kb``, ``disk_files`` (less what ``sources``
        take) and ``file_size_kb`` each, and ARTIFACTS_MAX_KB. While the server starts or
        restarts, waits for it at most the wall limit. Returns None if the server is not
        available, or its files would pass that budget.

        Cancelling the caller (its client left, or the drain's deadline came) does not cut the
        exchange short: the server's answer would stay unread and the next compile, another
        submission's, would read it. The compile ends under the lock, within its limits, and
        its answer is dropped."""
        if not self._settled.is_set():
            try:
                await asyncio.wait_for(self._settled.wait(), timeout=limits.wall_time_ms / 1000)
            except TimeoutError:
                return None
        if not self.ready or self._resident is None:
            return None
        compiling = asyncio.ensure_future(self._compile(sources, limits=limits))
        self._compiles.add(compiling)
        compiling.add_done_callback(self._compiles.discard)
        return await asyncio.shield(compiling)

    async def _compile(
        self, sources: dict[str, bytes], *, limits: ResourceLimits
    ) -> WarmCompile | None:
        budget = compile_budget(limits, sources=sources)
        async with self._lock:
            resident = self._resident
            if not self.ready or resident is None:
                return None
            try:
                exchange = await resident.exchange(
                    self.plan.encode_request(sources, budget),
                    cpu_time_ms=limits.cpu_time_ms,
                    wall_time_ms=limits.wall_time_ms,
                    memory_kb=limits.memory_kb,
                    max_response_bytes=budget.response_bytes,
                )
                answer = self.plan.decode_response(exchange.response)
            except ResidentFailed as failure:
                self._restart()
                if failure.reason in (None, KillReason.OUTPUT_LIMIT):
                    # Died, or answered past its budget: either way not an answer to trust.
                    log.warning("warm compiler failed: %s %s", failure, failure.stderr[-500:])
                    return None
                return WarmCompile(
                    exit_code=None,
                    diagnostics="",
                    artifacts={},
                    cpu_time_ms=0,
                    wall_time_ms=0,
                    memory_kb=0,
                    killed_for=failure.reason,
                )
            except ValueError:
                self._restart()
                return None
        if answer.failed:
            log.warning("warm compiler could not compile: %s", answer.diagnostics[-500:])
            return None
        if answer.over_budget:
            log.info(
                "warm compiler output over %d KB; compiling afresh", budget.artifact_bytes // 1024
            )
            return None
        self.compiles += 1
        if answer.diagnostics_cut:
            return WarmCompile(
                exit_code=None,
                diagnostics=answer.diagnostics,
                artifacts={},
                cpu_time_ms=exchange.cpu_time_ms,
                wall_time_ms=exchange.wall_time_ms,
                memory_kb=exchange.memory_kb,
                killed_for=KillReason.OUTPUT_LIMIT,
            )
        return WarmCompile(
            exit_code=answer.exit_code,
            diagnostics=answer.diagnostics,
            artifacts=answer.artifacts,
            cpu_time_ms=exchange.cpu_time_ms,
            wall_time_ms=exchange.wall_time_ms,
            memory_kb=exchange.memory_kb,
        )

    async def close(self) -> None:
        """Stop the server (and a restart or warm-up under way) for good."""
        self._closed = True
        for task in (self._restarting, self._warming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._stop()

    async def _warm_up(self) -> None:
        """Send the plan's warm-up compiles one by one, each once the service is idle: a
        warm-up beside a running program would take half its CPU on a small replica. Each takes
        the lock like a compile; a compile waiting for the lock gets it before the next warm-up
        does (asyncio's lock wakes its waiters in order), so a submission that arrives during
        one waits for that one at most."""
        sources = dict(self.plan.warm_up_sources)
        budget = compile_budget(self.limits, sources=sources)
        request = self.plan.encode_request(sources, budget)
        while self.warm_ups_left > 0:
            if self.idle is not None:
                await self.idle.wait()
            async with self._lock:
                resident = self._resident
                if not self.ready or resident is None:
                    return
                try:
                    exchange = await resident.exchange(
                        request,
                        cpu_time_ms=self.limits.cpu_time_ms,
                        wall_time_ms=self.limits.wall_time_ms,
                        memory_kb=self.limits.memory_kb,
                        max_response_bytes=budget.response_bytes,
                    )
                    answer = self.plan.decode_response(exchange.response)
                except (ResidentFailed, ValueError) as exc:
                    log.warning("warm compiler failed a warm-up compile (%s); restarting", exc)
                    self._restart()
                    return
            if answer.exit_code != 0 or answer.failed or answer.over_budget:
                log.warning("warm-up compile failed: %s", answer.diagnostics[-500:])
                self.warm_ups_left = 0
                return
            self.warm_ups_left -= 1
        log.info("warm compiler warmed up (%d compiles)", self.plan.warm_up_compiles)

    async def _stop(self) -> None:
        self.ready = False
        self.warm_ups_left = 0
        if self._resident is not None:
            resident, self._resident = self._resident, None
            await resident.stop()

    def _restart(self) -> None:
        self.ready = False
        if self._closed:
            return
        # Compiles from now on wait for the new server rather than start a fresh compiler.
        self._settled.clear()

        async def restart() -> None:
            try:
                await self._stop()
                await self.start()
            finally:
                self._settled.set()

        self._restarting = asyncio.create_task(restart())


def compile_budget(
    limits: ResourceLimits, *, sources: dict[str, bytes] | None = None
) -> CompileBudget:
    """What a compile under ``limits`` may answer with: ``output_kb`` of messages, and files
    within the disk limits (less what ``sources`` already take) and ARTIFACTS_MAX_KB."""
    held = sources or {}
    disk_bytes = limits.disk_kb * 1024 - sum(len(content) for content in held.values())
    return CompileBudget(
        diagnostics_bytes=limits.output_kb * 1024,
        artifact_bytes=max(0, min(disk_bytes, ARTIFACTS_MAX_KB * 1024)),
        artifact_files=max(0, limits.disk_files - len(held)),
        artifact_file_bytes=limits.file_size_kb * 1024,
    )
