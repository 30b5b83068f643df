"""Keeps a warm javac (a long-lived JVM, sandboxed as its own uid) ready and compiles through it."""

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass

from executor.languages.java import JVM_FLAGS
from executor.languages.javac_protocol import (
    ProtocolError,
    decode_response,
    encode_request,
    server_source,
)
from executor.languages.plan import Toolchain, heap_mb_for
from executor.sandbox.child import plan_child
from executor.sandbox.identity import RunIdentity
from executor.sandbox.launch import Launcher, SpawnError
from executor.sandbox.layers import Isolation
from executor.sandbox.resident import Resident, ResidentFailed
from executor.sandbox.spec import KillReason, ResourceLimits, RunSpec
from executor.sandbox.workdir import Workdir, create_workdir, remove_workdir

log = logging.getLogger("executor")

# Compiles done at start so the JIT has compiled javac before the first submission arrives.
WARM_UP_COMPILES = 10
# Starting the JVM, compiling the server and warming up take a few seconds of CPU at most; the
# budget is generous for a 0.5-CPU replica.
START_BUDGET_MS = 60_000
SERVER_FILE = "CompileServer.java"
# The server lives for many compiles, so RLIMIT_CPU (per process, cumulative) must not end it;
# each compile's CPU is budgeted by sampling instead (Resident.exchange).
SERVER_LIFETIME_CPU_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class WarmCompile:
    """What a compile through the warm server gave: javac's exit code and diagnostics, the class
    files, and the cost of the exchange. ``killed_for`` is set when the compile passed a limit
    (the server was then killed and is being restarted)."""

    exit_code: int | None
    diagnostics: str
    classes: dict[str, bytes]
    cpu_time_ms: int
    wall_time_ms: int
    memory_kb: int
    killed_for: KillReason | None = None


class WarmJavac:
    """One warm javac server. ``compile`` returns None whenever the server cannot answer (not
    started yet, crashed, restarting): the caller then compiles with a fresh ``javac``."""

    def __init__(
        self,
        toolchain: Toolchain,
        *,
        limits: ResourceLimits,
        isolation: Isolation,
        launcher: Launcher,
        identity: RunIdentity | None,
        run_root: str,
    ) -> None:
        self.toolchain = toolchain
        self.launcher = launcher
        self.limits = limits
        self.isolation = isolation
        self.identity = identity
        self.run_root = run_root
        self.ready = False
        self._resident: Resident | None = None
        self._workdir: Workdir | None = None
        self._lock = asyncio.Lock()
        self._restarting: asyncio.Task[None] | None = None
        self.starts = 0

    async def start(self) -> None:
        """Spawn the server and wait until it has warmed up. Logs and leaves ``ready`` false if
        it cannot start: compilation then falls back to fresh javac."""
        self.starts += 1
        try:
            self._workdir = await asyncio.to_thread(
                create_workdir,
                self.run_root,
                files={SERVER_FILE: server_source()},
                identity=self.identity,
            )
            work = self._workdir
            argv = (
                self.toolchain.interpreter,
                *JVM_FLAGS,
                # C1 only: measured on 40 compiles after warm-up, C2 spent 70-90 ms of CPU per
                # compile for the first 15 or so (JIT work) and 30 ms after; C1 alone 20 ms from
                # the first one, and the server's start costs 1.0 s of CPU instead of 1.8 s.
                "-XX:TieredStopAtLevel=1",
                *self.toolchain.compiler_jvm_flags,
                f"-Xmx{heap_mb_for(self.limits.memory_kb)}m",
                SERVER_FILE,
                str(WARM_UP_COMPILES),
            )
            lifetime = dataclasses.replace(self.limits, cpu_time_ms=SERVER_LIFETIME_CPU_MS)
            spec = RunSpec(
                argv=argv,
                cwd=work.box,
                env={
                    "PATH": "/usr/bin:/bin",
                    "HOME": work.home,
                    "TMPDIR": work.tmp,
                    "LANG": "C.UTF-8",
                },
                limits=lifetime,
            )
            child = plan_child(
                lifetime,
                identity=self.identity,
                seccomp=self.isolation.seccomp,
                namespaces=self.isolation.namespaces,
                private_tmp=work.tmp,
            )
            self._resident = Resident(spec, plan=child, launcher=self.launcher)
            await self._resident.start()
            first = await self._resident.exchange(
                None,
                cpu_time_ms=START_BUDGET_MS,
                wall_time_ms=START_BUDGET_MS,
                memory_kb=self.limits.memory_kb,
            )
            if decode_response(first.response).exit_code != 0:
                raise ProtocolError("the warm-up compile failed")
        except (OSError, ValueError, SpawnError, ResidentFailed, ProtocolError) as exc:
            detail = self._resident.stderr_text()[-500:] if self._resident else ""
            log.warning("warm javac did not start (%s) %s; using fresh javac", exc, detail)
            await self.stop()
            return
        self.ready = True
        log.info("warm javac ready (start %d, %d ms CPU)", self.starts, first.cpu_time_ms)

    async def compile(
        self, sources: dict[str, bytes], *, limits: ResourceLimits
    ) -> WarmCompile | None:
        """Compile ``sources`` in memory. Returns None if the server is not available."""
        if not self.ready or self._resident is None:
            return None
        async with self._lock:
            resident = self._resident
            if not self.ready or resident is None:
                return None
            try:
                exchange = await resident.exchange(
                    encode_request(sources),
                    cpu_time_ms=limits.cpu_time_ms,
                    wall_time_ms=limits.wall_time_ms,
                    memory_kb=limits.memory_kb,
                )
                answer = decode_response(exchange.response)
            except ResidentFailed as failure:
                self._restart()
                if failure.reason is None:
                    log.warning("warm javac died: %s", failure.stderr[-500:])
                    return None
                return WarmCompile(
                    exit_code=None,
                    diagnostics=_limit_message(failure.reason, limits),
                    classes={},
                    cpu_time_ms=0,
                    wall_time_ms=0,
                    memory_kb=0,
                    killed_for=failure.reason,
                )
            except ProtocolError:
                self._restart()
                return None
        return WarmCompile(
            exit_code=answer.exit_code,
            diagnostics=answer.diagnostics,
            classes=answer.classes,
            cpu_time_ms=exchange.cpu_time_ms,
            wall_time_ms=exchange.wall_time_ms,
            memory_kb=exchange.memory_kb,
        )

    async def stop(self) -> None:
        self.ready = False
        if self._resident is not None:
            await self._resident.stop()
            self._resident = None
        if self._workdir is not None:
            await asyncio.to_thread(remove_workdir, self._workdir)
            self._workdir = None

    async def close(self) -> None:
        if self._restarting is not None:
            self._restarting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restarting
        await self.stop()

    def _restart(self) -> None:
        self.ready = False

        async def restart() -> None:
            await self.stop()
            await self.start()

        self._restarting = asyncio.create_task(restart())


def _limit_message(reason: KillReason, limits: ResourceLimits) -> str:
    what = {
        KillReason.CPU_TIME_LIMIT: f"used more than {limits.cpu_time_ms} ms of CPU time",
        KillReason.WALL_TIME_LIMIT: f"took more than {limits.wall_time_ms} ms",
        KillReason.MEMORY_LIMIT: f"used more than {limits.memory_kb // 1024} MB of memory",
    }.get(reason, "was stopped")
    return f"error: the compiler {what}; compilation was stopped\n"


def compiler_identity(base_uid: int, pool_size: int) -> RunIdentity:
    """The warm compiler's own uid: the one after the run pool, so no run ever shares it."""
    return RunIdentity(uid=base_uid + pool_size, gid=base_uid + pool_size)
