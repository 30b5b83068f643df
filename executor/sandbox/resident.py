"""A long-lived sandboxed helper process that answers length-prefixed requests on its stdio."""

import asyncio
import contextlib
import os
import signal
import struct
import subprocess
import time
from dataclasses import dataclass

from executor.sandbox.child import ChildPlan
from executor.sandbox.janitor import kill_all_processes
from executor.sandbox.launch import Launcher
from executor.sandbox.procfs import read_all_stats, read_stat, tree_usage
from executor.sandbox.spec import KillReason, RunSpec

FRAME_HEADER = struct.Struct(">i")
SAMPLE_INTERVAL_S = 0.02
STDERR_KEPT_BYTES = 16384


class ResidentFailed(RuntimeError):
    """The helper died, or was killed at a limit (``reason`` says which), mid-exchange."""

    def __init__(self, message: str, *, reason: KillReason | None, stderr: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.stderr = stderr


@dataclass(frozen=True)
class Exchange:
    """One answer and what it cost the helper: CPU and wall time of the exchange, its RSS."""

    response: bytes
    cpu_time_ms: int
    wall_time_ms: int
    memory_kb: int


class Resident:
    """One helper process (e.g. a warm compiler), spawned in the sandbox like a run.

    Exchanges are one at a time: the caller serializes them. Each exchange has its own CPU, wall
    and memory budget; a helper over any of them is killed (its whole uid) and the exchange
    raises ResidentFailed. A killed helper is not restarted here: that is the owner's choice.
    """

    def __init__(self, spec: RunSpec, *, plan: ChildPlan, launcher: Launcher) -> None:
        self.spec = spec
        self.plan = plan
        self.launcher = launcher
        self.identity = plan.identity
        self.proc: subprocess.Popen[bytes] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stderr = bytearray()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self) -> None:
        """Spawn the helper. Raises SpawnError if it cannot start."""
        loop = asyncio.get_running_loop()
        self.proc = await self.launcher.spawn(
            self.plan,
            self.spec.argv,
            cwd=self.spec.cwd,
            env=self.spec.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self._reader = asyncio.StreamReader(limit=2**26)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(self._reader), self.proc.stdout
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, self.proc.stdin
        )
        self._writer = asyncio.StreamWriter(transport, protocol, None, loop)
        os.set_blocking(self.proc.stderr.fileno(), False)
        loop.add_reader(self.proc.stderr.fileno(), self._read_stderr)

    async def exchange(
        self, request: bytes | None, *, cpu_time_ms: int, wall_time_ms: int, memory_kb: int
    ) -> Exchange:
        """Send ``request`` as one frame (None: send nothing, just wait for the next frame, e.g.
        the helper's "ready" frame) and return the frame it answers with.

        Raises ResidentFailed if the helper dies, closes its output, or passes a budget.
        """
        if self.proc is None or self._reader is None or self._writer is None:
            raise ResidentFailed("helper not started", reason=None, stderr="")
        pid = self.proc.pid
        cpu_before = self._cpu_ms()
        started = time.monotonic()
        if request is not None:
            self._writer.write(FRAME_HEADER.pack(len(request)) + request)
        answer = asyncio.ensure_future(self._read_frame())
        reason: KillReason | None = None
        peak_kb = 0
        try:
            if request is not None:
                await self._writer.drain()
            while True:
                done, _ = await asyncio.wait({answer}, timeout=SAMPLE_INTERVAL_S)
                if done:
                    break
                usage = tree_usage(read_all_stats(), [pid])
                peak_kb = max(peak_kb, usage.rss_kb)
                if time.monotonic() - started > wall_time_ms / 1000:
                    reason = KillReason.WALL_TIME_LIMIT
                elif usage.cpu_time_ms - cpu_before > cpu_time_ms:
                    reason = KillReason.CPU_TIME_LIMIT
                elif usage.rss_kb > memory_kb:
                    reason = KillReason.MEMORY_LIMIT
                if reason is not None:
                    await self.stop()
                    break
            response = await answer
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            await self.stop()
            raise ResidentFailed(
                f"helper ended: {reason or exc}", reason=reason, stderr=self.stderr_text()
            ) from None
        finally:
            answer.cancel()
        stat = read_stat(pid)
        return Exchange(
            response=response,
            cpu_time_ms=self._cpu_ms() - cpu_before,
            wall_time_ms=int((time.monotonic() - started) * 1000),
            memory_kb=max(
                peak_kb, (stat.rss_pages if stat else 0) * os.sysconf("SC_PAGE_SIZE") // 1024
            ),
        )

    async def stop(self) -> None:
        """Kill the helper and everything of its uid, and reap it."""
        if self.proc is None:
            return
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self._writer is not None:
            self._writer.close()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(self.proc.stderr.fileno())  # type: ignore[union-attr]
        await asyncio.to_thread(self.proc.wait)
        if self.identity is not None:
            await asyncio.to_thread(kill_all_processes, self.identity, helper=self.launcher.helper)

    def stderr_text(self) -> str:
        return bytes(self._stderr).decode(errors="replace")

    async def _read_frame(self) -> bytes:
        assert self._reader is not None
        header = await self._reader.readexactly(FRAME_HEADER.size)
        (length,) = FRAME_HEADER.unpack(header)
        return await self._reader.readexactly(length)

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        try:
            data = os.read(self.proc.stderr.fileno(), 65536)
        except BlockingIOError:
            return
        if not data:
            asyncio.get_running_loop().remove_reader(self.proc.stderr.fileno())
            return
        self._stderr += data
        del self._stderr[:-STDERR_KEPT_BYTES]

    def _cpu_ms(self) -> int:
        stat = read_stat(self.proc.pid) if self.proc else None
        return stat.cpu_ticks * 1000 // os.sysconf("SC_CLK_TCK") if stat else 0
