"""A runner: a program's interpreter started ahead in a box of its own (its uid, its fresh
directory, a run's limits and every step a cold run gets from the spawn helper), waiting on a
control pipe. A request adopts it: the service writes the files into its directory, fills its
stdin, sends the entry and the arguments through the pipe (never on a command line), and
supervises it from then on as any run.

The sandbox knows no language: the runner's program comes from a language plan. Its side of
the protocol: two descriptor numbers are appended to its argv, CONTROL (it reads) and STATUS (it
writes).
  - Once initialised, it writes b"r" on STATUS.
  - It blocks reading one frame on CONTROL: a 4-byte count, then that many items, each a 4-byte
    length and its bytes (big-endian): the entry (a file or class name), then the arguments.
    End of file instead means the service is gone: it exits.
  - It answers b"g" when it is about to run the program, or b"c" when it cannot run this one
    exactly as the cold command would (it has run nothing of it yet): the service then kills
    it and starts the run cold.
Its standard streams are made when it is spawned: stdin a memfd the service fills and seals at
the go signal (so the program reads a cold run's sealed file), stdout and stderr pipes the
service reads once the run starts (anything the interpreter wrote while starting is the run's,
as it would be cold).
"""

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import children_of, read_all_stats
from executor.sandbox.spec import ResourceLimits
from executor.sandbox.workdir import Workdir

log = logging.getLogger("executor.sandbox")

_INT = 4
READY = b"r"
GOING = b"g"
DECLINED = b"c"
# The seals a cold run's stdin has (supervise._memfd_with): read-only for good.
STDIN_SEALS = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
# clock_gettime's clock id for the CPU time of another process (all its threads, the ended
# ones included), as the kernel builds it (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)): in
# nanoseconds, where /proc/<pid>/stat counts clock ticks of 10 ms.
_CPUCLOCK_SCHED = 2


class RunnerState(StrEnum):
    """``starting``: spawned, initialising; ``idle``: waiting for a program; ``taken``: a
    request holds it and will adopt it; ``adopted``: in a box, its own or a run's; ``ended``:
    gone (killed, died, or handed over and run)."""

    STARTING = "starting"
    IDLE = "idle"
    TAKEN = "taken"
    ADOPTED = "adopted"
    ENDED = "ended"


@dataclass(frozen=True)
class Handover:
    """A runner turned into a run: its keeper (the spawn helper, its parent, which reports its
    peak memory on ``result_r``), the service's ends of its stdout and stderr, the CPU time
    it had spent before the go signal (not the program's), and when that signal was sent
    (monotonic: the run's wall time starts there, after any wait for the runner to be
    ready)."""

    proc: subprocess.Popen[bytes]
    stdout_r: int
    stderr_r: int
    result_r: int
    cpu_before_ns: int
    went_at: float


class Runner:
    """One runner process (see the module docstring) in the box ``work`` as ``identity``,
    started under ``limits``. Made by Sandbox.start_runner; ``on_lost`` is called once if it
    ends before a request adopts it (it died, or the sandbox took its uid back)."""

    def __init__(
        self,
        *,
        work: Workdir,
        identity: RunIdentity | None,
        limits: ResourceLimits,
        argv: tuple[str, ...],
        on_lost: Callable[["Runner"], None],
    ) -> None:
        self.work = work
        self.identity = identity
        self.limits = limits
        self.argv = argv
        self.state = RunnerState.STARTING
        self.proc: subprocess.Popen[bytes] | None = None  # the helper's keeper
        self.pid = 0  # the runner program itself, the keeper's child
        self.started_at = time.monotonic()
        self.ready_at: float | None = None
        # Taken while still starting: how long (monotonic) go() waits for it to be ready
        # before it gives up and the run starts cold.
        self.ready_by: float | None = None
        self._on_lost = on_lost
        # The service's ends: filled in by spawned().
        self.stdin_fd = -1
        self.stdout_r = -1
        self.stderr_r = -1
        self.result_r = -1
        self.control_w = -1
        self.status_r = -1
        self._watching = False
        self._ready: asyncio.Future[bool] | None = None
        # Whether it ended on its own before a run adopted it (not killed by the service).
        self.died = False

    @property
    def ready(self) -> bool:
        return self.state is RunnerState.IDLE

    @property
    def uid(self) -> int | None:
        return self.identity.uid if self.identity is not None else None

    def spawned(
        self,
        proc: subprocess.Popen[bytes],
        *,
        stdin_fd: int,
        stdout_r: int,
        stderr_r: int,
        result_r: int,
        control_w: int,
        status_r: int,
    ) -> None:
        """Take the spawned keeper and the service's ends of the runner's descriptors, and
        watch its STATUS pipe (readiness, then its end)."""
        self.proc = proc
        self.pid = _only_child(proc.pid)
        self.stdin_fd, self.stdout_r, self.stderr_r = stdin_fd, stdout_r, stderr_r
        self.result_r, self.control_w, self.status_r = result_r, control_w, status_r
        os.set_blocking(status_r, False)
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        loop.add_reader(status_r, self._on_status)
        self._watching = True

    async def wait_ready(self, *, timeout_s: float) -> bool:
        """Whether it became ready within ``timeout_s`` (False: it ended, or is still starting)."""
        if self._ready is None:
            return False
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        return False

    def cpu_time_ns(self) -> int | None:
        """The runner's CPU time so far, every thread's (None when it is gone)."""
        if self.pid <= 0:
            return None
        try:
            return time.clock_gettime_ns((~self.pid << 3) | _CPUCLOCK_SCHED)
        except OSError:
            return None

    def take(self, *, ready_by: float | None = None) -> None:
        """Reserve it for one request (it is no longer idle; the sandbox will not take its uid
        back). A runner still starting may be taken with ``ready_by`` (monotonic): go() waits
        until then for it to be ready. Raises ValueError unless it is idle, or starting with
        ``ready_by``."""
        if self.state is RunnerState.STARTING and ready_by is not None:
            self.ready_by = ready_by
        elif self.state is not RunnerState.IDLE:
            raise ValueError(f"a runner can be taken only when idle, not {self.state}")
        self.state = RunnerState.TAKEN

    def release(self) -> None:
        """Give a taken runner back to the idle ones (the request did not adopt it)."""
        if self.state is RunnerState.TAKEN:
            self.state = RunnerState.IDLE

    def adopt(self) -> None:
        """A box takes it over: from now on its end is the box's (no ``on_lost``)."""
        if self.state not in (RunnerState.IDLE, RunnerState.TAKEN):
            raise ValueError(f"a runner can be adopted only when idle or taken, not {self.state}")
        self.state = RunnerState.ADOPTED

    async def go(
        self, entry: str, args: tuple[str, ...], *, stdin: bytes, deadline: float
    ) -> Handover | None:
        """Hand over the program: fill and seal stdin, send the frame, and wait for the
        answer until ``deadline`` (monotonic; past it the program counts as started, and its
        wall limit is what ends it). Returns what the run needs when it is going; None when
        it declined or ended first: it is then killed and reaped (its keeper waited for), and
        the run starts cold in the same box. A runner taken while starting is waited for
        first, until its ``ready_by`` (not ready by then: killed, and the run starts cold);
        ``deadline`` moves on by that wait."""
        if self.ready_at is None:
            called_at = time.monotonic()
            ready_by = self.ready_by if self.ready_by is not None else called_at
            if not await self.wait_ready(timeout_s=max(0.0, ready_by - called_at)):
                log.info("runner %d not ready in time; starting cold", self.pid)
                self.kill()
                await asyncio.to_thread(self.reap)
                return None
            waited_s = time.monotonic() - called_at
            log.debug("runner %d: waited %.0f ms for it to be ready", self.pid, waited_s * 1000)
            deadline += waited_s
        self._stop_watching()
        try:
            _fill_sealed(self.stdin_fd, stdin)
        except OSError as exc:
            log.warning("runner %d: cannot fill its stdin (%s); starting cold", self.pid, exc)
            self.kill()
            return None
        cpu_before_ns = self.cpu_time_ns()
        went_at = time.monotonic()
        try:
            answer = await asyncio.wait_for(
                _exchange(self.control_w, _frame([entry, *args]), self.status_r),
                max(0.0, deadline - time.monotonic()),
            )
        except TimeoutError:
            answer = GOING  # a runner at the lowest priority on a busy replica: it is the run's
        os.close(self.control_w)
        self.control_w = -1
        os.close(self.status_r)
        self.status_r = -1
        os.close(self.stdin_fd)  # the program holds its own: a cold run's sealed stdin
        self.stdin_fd = -1
        if answer != GOING or cpu_before_ns is None or self.proc is None:
            if answer != DECLINED:
                log.warning(
                    "runner %d answered %r to its go signal; starting cold", self.pid, answer
                )
            self.kill()
            await asyncio.to_thread(self.reap)
            return None
        self.state = RunnerState.ENDED  # from now on it is the run
        handover = Handover(
            proc=self.proc,
            stdout_r=self.stdout_r,
            stderr_r=self.stderr_r,
            result_r=self.result_r,
            cpu_before_ns=cpu_before_ns,
            went_at=went_at,
        )
        self.stdout_r = self.stderr_r = self.result_r = -1  # the run's now
        return handover

    def kill(self) -> None:
        """SIGKILL the runner, as root (its keeper reaps it and ends); close the service's
        ends. The caller still reaps the keeper (``reap``) and cleans the box. Nothing once it
        was handed over to a run (the run's supervisor ends it)."""
        self._stop_watching()
        if (
            self.proc is not None
            and self.proc.returncode is None
            and self.state is not (RunnerState.ENDED)
        ):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if self.pid > 0:
                    os.kill(self.pid, signal.SIGKILL)
                else:
                    os.killpg(self.proc.pid, signal.SIGKILL)
        self.close_descriptors()
        self.state = RunnerState.ENDED

    def reap(self) -> None:
        """Wait for the keeper of a killed runner (blocking: call it off the event loop)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.wait()

    def close_descriptors(self) -> None:
        """Close every end of the runner's descriptors the service still holds."""
        for name in ("stdin_fd", "stdout_r", "stderr_r", "result_r", "control_w", "status_r"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)

    def lose(self) -> None:
        """It ended before a request adopted it: kill it and tell its owner (once)."""
        if self.state in (RunnerState.ADOPTED, RunnerState.ENDED):
            return
        self.kill()
        self._on_lost(self)

    def _stop_watching(self) -> None:
        if self._watching:
            asyncio.get_running_loop().remove_reader(self.status_r)
            self._watching = False
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(False)

    def _on_status(self) -> None:
        """The STATUS pipe is readable: b"r" once it is ready; anything else (its end of
        file) means it ended."""
        try:
            data = os.read(self.status_r, 1)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data == READY and self.ready_at is None:
            # Ready: idle, or (taken while starting) awaited by go().
            if self.state is RunnerState.STARTING:
                self.state = RunnerState.IDLE
            self.ready_at = time.monotonic()
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(True)
            return
        if data:
            log.warning("runner %d wrote %r while waiting; killing it", self.pid, data)
        elif self.state is RunnerState.STARTING:
            log.warning("runner %d ended while starting: %s", self.pid, self._stderr_so_far())
        else:
            log.warning("runner %d ended while waiting", self.pid)
        self.died = True
        # No more watching (an adopted runner is not killed by lose()), and a go() waiting
        # for it to be ready (taken while starting) learns it never will be.
        self._stop_watching()
        self.lose()

    def _stderr_so_far(self) -> str:
        """What it wrote on stderr (for the log, when it failed to start)."""
        os.set_blocking(self.stderr_r, False)
        try:
            return os.read(self.stderr_r, 2000).decode(errors="replace").strip() or "nothing"
        except OSError:
            return "nothing"


def _only_child(keeper: int) -> int:
    """The keeper's one child: the runner program (exec'd by the time spawn returned)."""
    try:
        children = children_of(keeper)
    except FileNotFoundError:  # no children files in this kernel: scan every process
        children = [st.pid for st in read_all_stats().values() if st.ppid == keeper]
    return children[0] if children else 0


def _fill_sealed(fd: int, data: bytes) -> None:
    """Write ``data`` at the start of the memfd ``fd`` (its offset, shared with the runner's
    stdin, stays at 0) and seal it read-only for good."""
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, STDIN_SEALS)


def _frame(items: list[str]) -> bytes:
    parts = [len(items).to_bytes(_INT, "big")]
    for item in items:
        raw = os.fsencode(item)
        parts += [len(raw).to_bytes(_INT, "big"), raw]
    return b"".join(parts)


async def _exchange(control_w: int, frame: bytes, status_r: int) -> bytes:
    """Write ``frame`` to the runner's CONTROL pipe (without blocking the loop: the arguments
    may pass a pipe's buffer, and the runner reads at the lowest priority), then return its
    one-byte answer on STATUS, or b"" when it ends (or closes a pipe) first."""
    os.set_blocking(control_w, False)
    view = memoryview(frame)
    try:
        while view:
            try:
                view = view[os.write(control_w, view) :]
            except BlockingIOError:
                await _ready(control_w, write=True)
    except OSError:  # EPIPE: it is gone
        return b""
    while True:
        try:
            return os.read(status_r, 1)
        except BlockingIOError:
            await _ready(status_r, write=False)
        except OSError:
            return b""


async def _ready(fd: int, *, write: bool) -> None:
    """Return once ``fd`` can be written (``write``) or read, or has reached its end."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def resolve() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fd, resolve)
    try:
        await ready
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)
