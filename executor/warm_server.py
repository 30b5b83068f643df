"""Keeps a language's compiler warm (a long-lived server in a box of its own, as its plan's
WarmServerPlan describes) and compiles through it. Knows no language."""

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass

from executor.languages.plan import Toolchain, WarmServerPlan, expand_argv, heap_mb_for
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


@dataclass(frozen=True)
class WarmCompile:
    """What a compile through the warm server gave: the compiler's exit code and diagnostics,
    the files it produced, and the cost of the exchange. ``killed_for`` is set when the compile
    passed a limit (the server was then killed and is being restarted)."""

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
    started, failed to start, crashed): the caller then compiles with a fresh compiler process.
    Once ready, the server gets its plan's warm-up compiles in the background, each when
    ``idle`` is set (no submission in the service, when given) and no compile waits for it
    (``warm_ups_left`` counts them down). ``compiles`` counts the compiles it answered, warm-ups
    aside."""

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
        if self.ready and self.plan.warm_up_compiles > 0:
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

    async def compile(
        self, sources: dict[str, bytes], *, limits: ResourceLimits
    ) -> WarmCompile | None:
        """Compile ``sources`` in the server under ``limits`` (CPU, wall, memory of this
        exchange). While the server starts, waits for it at most the wall limit. Returns None
        if the server is not available."""
        if not self._settled.is_set():
            try:
                await asyncio.wait_for(self._settled.wait(), timeout=limits.wall_time_ms / 1000)
            except TimeoutError:
                return None
        if not self.ready or self._resident is None:
            return None
        async with self._lock:
            resident = self._resident
            if not self.ready or resident is None:
                return None
            try:
                exchange = await resident.exchange(
                    self.plan.encode_request(sources),
                    cpu_time_ms=limits.cpu_time_ms,
                    wall_time_ms=limits.wall_time_ms,
                    memory_kb=limits.memory_kb,
                )
                answer = self.plan.decode_response(exchange.response)
            except ResidentFailed as failure:
                self._restart()
                if failure.reason is None:
                    log.warning("warm compiler died: %s", failure.stderr[-500:])
                    return None
                return WarmCompile(
                    exit_code=None,
                    diagnostics=_limit_message(failure.reason, limits),
                    artifacts={},
                    cpu_time_ms=0,
                    wall_time_ms=0,
                    memory_kb=0,
                    killed_for=failure.reason,
                )
            except ValueError:
                self._restart()
                return None
            self.compiles += 1
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
        request = self.plan.encode_request(dict(self.plan.warm_up_sources))
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
                    )
                    answer = self.plan.decode_response(exchange.response)
                except (ResidentFailed, ValueError) as exc:
                    log.warning("warm compiler failed a warm-up compile (%s); restarting", exc)
                    self._restart()
                    return
            if answer.exit_code != 0:
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
        # Compiles from now on wait for the new server rather than start a fresh compiler.
        self._settled.clear()

        async def restart() -> None:
            try:
                await self._stop()
                await self.start()
            finally:
                self._settled.set()

        self._restarting = asyncio.create_task(restart())


def _limit_message(reason: KillReason, limits: ResourceLimits) -> str:
    what = {
        KillReason.CPU_TIME_LIMIT: f"used more than {limits.cpu_time_ms} ms of CPU time",
        KillReason.WALL_TIME_LIMIT: f"took more than {limits.wall_time_ms} ms",
        KillReason.MEMORY_LIMIT: f"used more than {limits.memory_kb // 1024} MB of memory",
    }.get(reason, "was stopped")
    return f"error: the compiler {what}; compilation was stopped\n"
