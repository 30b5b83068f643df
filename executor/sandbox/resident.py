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
from executor.sandbox.reaper import kill_all_processes
from executor.sandbox.sampler import TreeSampler
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.spec import KillReason, RunSpec
from executor.sandbox.workdir import Workdir, remove_workdir

FRAME_HEADER = struct.Struct(">i")
SAMPLE_INTERVAL_S = 0.02
STDERR_KEPT_BYTES = 16384
# What is read ahead of the frame being read: past it the helper's stdout is no longer read
# until the next exchange (a frame itself is read whole, up to the exchange's cap).
READ_AHEAD_BYTES = 65536


class FrameTooLarge(Exception):
    """The helper announced a frame longer than the exchange allows (or of negative length)."""


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
    """One helper process (e.g. a warm compiler) in a box of its own, spawned like a run.

    Exchanges are one at a time: the caller serializes them. Each exchange has its own CPU, wall
    and memory budget; a helper over any of them is killed (its whole uid) and the exchange
    raises ResidentFailed. A killed helper is not restarted here: that is the owner's choice.
    ``stop`` ends it and removes its box.
    """

    def __init__(
        self, spec: RunSpec, *, plan: ChildPlan, helper: SpawnHelper, work: Workdir
    ) -> None:
        self.spec = spec
        self.plan = plan
        self.helper = helper
        self.work: Workdir | None = work
        self.identity = plan.identity
        self.proc: subprocess.Popen[bytes] | None = None
        self._sampler: TreeSampler | None = None
        self._reader: asyncio.StreamReader | None = None
        self._read_transport: asyncio.ReadTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stderr = bytearray()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self) -> None:
        """Spawn the helper. Raises SpawnError if it cannot start."""
        loop = asyncio.get_running_loop()
        self.proc = await self.helper.spawn(
            self.plan,
            self.spec.argv,
            cwd=self.spec.cwd,
            env=self.spec.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self._sampler = TreeSampler(self.proc.pid, identity=self.identity, scanner=None)
        self._reader = asyncio.StreamReader(limit=READ_AHEAD_BYTES)
        reader = self._reader
        self._read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self.proc.stdout
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, self.proc.stdin
        )
        self._writer = asyncio.StreamWriter(transport, protocol, None, loop)
        os.set_blocking(self.proc.stderr.fileno(), False)
        loop.add_reader(self.proc.stderr.fileno(), self._read_stderr)

    async def exchange(
        self,
        request: bytes | None,
        *,
        cpu_time_ms: int,
        wall_time_ms: int,
        memory_kb: int,
        max_response_bytes: int,
    ) -> Exchange:
        """Send ``request`` as one frame (None: send nothing, just wait for the next frame, e.g.
        the helper's "ready" frame) and return the frame it answers with.

        Raises ResidentFailed if the helper dies, closes its output, or passes a budget; an
        answer announced longer than ``max_response_bytes`` is never read: the helper is
        killed (``reason`` OUTPUT_LIMIT).
        """
        sampler = self._sampler
        if self._reader is None or self._writer is None or sampler is None:
            raise ResidentFailed("helper not started", reason=None, stderr="")
        sampler.sample()
        cpu_before = sampler.cpu_time_ms
        started = time.monotonic()
        if request is not None:
            self._writer.write(FRAME_HEADER.pack(len(request)) + request)
        answer = asyncio.ensure_future(self._read_frame(max_response_bytes))
        reason: KillReason | None = None
        peak_kb = 0
        try:
            if request is not None:
                await self._writer.drain()
            while True:
                done, _ = await asyncio.wait({answer}, timeout=SAMPLE_INTERVAL_S)
                if done:
                    break
                sampler.sample()
                peak_kb = max(peak_kb, sampler.rss_kb)
                if time.monotonic() - started > wall_time_ms / 1000:
                    reason = KillReason.WALL_TIME_LIMIT
                elif sampler.cpu_time_ms - cpu_before > cpu_time_ms:
                    reason = KillReason.CPU_TIME_LIMIT
                elif sampler.rss_kb > memory_kb:
                    reason = KillReason.MEMORY_LIMIT
                if reason is not None:
                    await self.stop()
                    break
            response = await answer
        except FrameTooLarge as exc:
            await self.stop()
            raise ResidentFailed(
                f"helper ended: {exc}", reason=KillReason.OUTPUT_LIMIT, stderr=self.stderr_text()
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            await self.stop()
            raise ResidentFailed(
                f"helper ended: {reason or exc}", reason=reason, stderr=self.stderr_text()
            ) from None
        finally:
            answer.cancel()
        sampler.sample()
        return Exchange(
            response=response,
            cpu_time_ms=sampler.cpu_time_ms - cpu_before,
            wall_time_ms=int((time.monotonic() - started) * 1000),
            memory_kb=max(peak_kb, sampler.rss_kb),
        )

    async def stop(self) -> None:
        """Kill the helper and everything of its uid, reap it, and remove its box."""
        if self.proc is not None:
            loop = asyncio.get_running_loop()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            if self._writer is not None:
                self._writer.close()
            if self._read_transport is not None:
                self._read_transport.close()
            if self.proc.stderr is not None:
                with contextlib.suppress(ValueError, OSError):
                    loop.remove_reader(self.proc.stderr.fileno())
                self.proc.stderr.close()
            await asyncio.to_thread(self.proc.wait)
            if self.identity is not None:
                await asyncio.to_thread(kill_all_processes, self.identity, helper=self.helper)
        if self.work is not None:
            work, self.work = self.work, None
            await asyncio.to_thread(remove_workdir, work)

    def stderr_text(self) -> str:
        """The last STDERR_KEPT_BYTES the helper wrote on stderr."""
        return bytes(self._stderr).decode(errors="replace")

    async def _read_frame(self, max_bytes: int) -> bytes:
        assert self._reader is not None
        header = await self._reader.readexactly(FRAME_HEADER.size)
        (length,) = FRAME_HEADER.unpack(header)
        if not 0 <= length <= max_bytes:
            raise FrameTooLarge(f"it announced a frame of {length} bytes, over {max_bytes}")
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
