"""Spawns one RunSpec, reads its output under a cap, enforces its limits, and measures it.

Over 300 lines because spawning, reading output under its cap, sampling against the limits and
the final measurement share one run's state and its order of events (a kill comes before the
read of its output ends); split, each part would reach into the others.
"""

import asyncio
import contextlib
import fcntl
import logging
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field

from executor.sandbox.child import CLONE_NEWIPC, ChildPlan
from executor.sandbox.procfs import memory_event_files
from executor.sandbox.reaper import kill_all_processes
from executor.sandbox.runner import Runner
from executor.sandbox.sampler import TreeSampler
from executor.sandbox.spawn import SpawnError, SpawnHelper, read_peak_rss_kb
from executor.sandbox.spec import KillReason, Outcome, RunSpec
from executor.sandbox.usage import UsageScanner
from executor.sandbox.zygote import Zygote

log = logging.getLogger("executor.sandbox")

READ_CHUNK_BYTES = 65536
# Sampling starts fast, so short runs get a reading, and slows down so long runs cost little.
FIRST_SAMPLE_INTERVAL_S = 0.005
SAMPLE_INTERVAL_S = 0.02
# After the main process ends and the tree is killed, pipes close at once; this only bounds a
# descriptor held open by something the sandbox could not kill.
DRAIN_TIMEOUT_S = 0.5
# While a tree's resident sizes add up past its limit, its proportional set size (pages shared
# between its processes counted once) decides, measured at most this often (it costs a spawn).
PSS_INTERVAL_S = 0.1
# A run that reaches its CPU limit while its memory is this close to its limit and still growing
# is racing for both: it gets up to CPU_GRACE_FRACTION of its CPU limit more (at most
# CPU_GRACE_MAX_MS; RLIMIT_CPU's backstop is a second above the limit), and the limit it
# reaches first names the verdict. Why: a page fault's CPU time moves with the machine's load.
# A Python program that fills 16 MB chunks until 128 MB needs about 100 ms of CPU on a quiet
# machine; on the stand-in's loaded one (9 replicas on 2 CPUs) one took 1027 ms and was
# killed for CPU at 130,744 of its 131,072 KB (CI at 2c35609, 2 of 2 fresh clones that day).
MEMORY_RACE_FRACTION = 0.9
CPU_GRACE_FRACTION = 0.25
CPU_GRACE_MAX_MS = 500


@dataclass(frozen=True)
class RunnerRun:
    """Run the program through the runner waiting in the box: ``entry`` (the file or class it
    loads) with ``args``, with the semantics of the cold command."""

    entry: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Prewarmed:
    """A runner adopted by the box, and what it is to run."""

    runner: Runner
    entry: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class _Started:
    """A program running: its pid (the keeper's, when the spawn helper stays its parent), its
    Popen when we spawned it, the service's ends of its stdout (None when connected to another
    run) and stderr and of the keeper's report, when its wall time started, and the CPU time
    its process spent before that (a runner's start-up)."""

    pid: int
    proc: subprocess.Popen[bytes] | None
    out_r: int | None
    err_r: int
    result_r: int
    started_at: float
    cpu_before_ns: int = 0


@dataclass(frozen=True)
class ZygoteRun:
    """Start a run from ``zygote``: its program ``main`` with ``args`` (in-process, with the
    semantics of the cold command)."""

    zygote: Zygote
    main: str
    args: tuple[str, ...]


async def run(
    spec: RunSpec,
    *,
    plan: ChildPlan,
    helper: SpawnHelper,
    scanner: UsageScanner | None = None,
    stdin_fd: int | None = None,
    stdout_fd: int | None = None,
    zygote: ZygoteRun | None = None,
    prewarmed: Prewarmed | None = None,
) -> Outcome:
    """Run ``spec`` to completion and report what happened.

    The child starts in a new session with ``plan`` applied (see child.plan_child). The run
    ends when the main process exits or when a limit is hit: stdout + stderr over
    ``limits.output_kb`` (kept bytes are returned), tree RSS over ``limits.memory_kb``, tree CPU
    over ``limits.cpu_time_ms``, wall time over ``limits.wall_time_ms``, or, with ``scanner``
    (which must watch the run's uid), its files past ``limits.disk_kb`` or
    ``limits.disk_files``. A limit kill ends
    every process of the run (the whole uid when the plan has one, else the session) before
    this returns; otherwise what the main process left behind is the caller's to end. Raises
    SpawnError if the command cannot start.

    ``stdin_fd`` and ``stdout_fd`` replace ``spec.stdin`` and the captured stdout: to connect
    two runs to each other (an interactive problem). They are handed over: closed here as soon
    as the child holds its copies (or when it cannot start), so that when one of two connected
    runs ends, the other reads end-of-file or gets EPIPE instead of waiting on a descriptor the
    service still holds. A stdout so connected is not captured (the Outcome's is empty) and not
    counted in the output limit. With ``zygote``, the program is forked from that zygote
    (``spec.argv`` is what would run cold) while it is up, and started cold otherwise. With
    ``prewarmed``, its runner (started ahead with ``spec``'s setup) runs the program, and the
    wall time starts at the go signal; ``cpu_time_ms`` (and the CPU limit) leave out what the
    runner spent before it. A runner that declines is killed and the program starts cold.
    """
    supervisor = _Supervisor(
        spec, plan=plan, helper=helper, scanner=scanner, zygote=zygote, prewarmed=prewarmed
    )
    return await supervisor.run(stdin_fd=stdin_fd, stdout_fd=stdout_fd)


@dataclass
class _Stream:
    fd: int
    chunks: list[bytes] = field(default_factory=list)
    truncated: bool = False
    closed: asyncio.Future[None] | None = None


class _Supervisor:
    def __init__(
        self,
        spec: RunSpec,
        *,
        plan: ChildPlan,
        helper: SpawnHelper,
        scanner: UsageScanner | None,
        zygote: ZygoteRun | None,
        prewarmed: Prewarmed | None,
    ) -> None:
        self.spec = spec
        self.prewarmed = prewarmed
        self.plan = plan
        self.helper = helper
        self.scanner = scanner
        self.zygote = zygote
        self.identity = plan.identity
        self.limits = spec.limits
        self.output_left = spec.limits.output_kb * 1024
        self.killed_for: KillReason | None = None
        # When the supervisor first killed the run: its wall time ends there, not once the
        # uid's stragglers are gone (an interactive judge tells which side ended first by it).
        self.killed_at: float | None = None
        self.pid = 0
        self.sampler: TreeSampler | None = None
        # The last proportional-set-size reading: (effective KB, rss_kb then, when).
        self.pss: tuple[int, int, float] | None = None
        self.peak_effective_kb = 0
        # A runner's CPU time before the go signal (0 for a run started cold).
        self.cpu_before_ms = 0.0
        # The memory the last sample found, and the CPU time (ms) up to which a run racing for
        # both limits may go on (None until it reached its CPU limit that way).
        self.last_memory_kb = 0
        self.cpu_grace_until_ms: float | None = None

    async def run(self, *, stdin_fd: int | None, stdout_fd: int | None) -> Outcome:
        oom_kills_before = _oom_kills()
        started = None
        if self.prewarmed is not None:
            if stdin_fd is None and stdout_fd is None:
                started = await self._start_prewarmed(self.prewarmed)
            else:
                self.prewarmed.runner.kill()  # connected to another run: cold (box reaps it)
        if started is None:
            started = await self._start_cold(stdin_fd=stdin_fd, stdout_fd=stdout_fd)
        return await self._supervise(started, oom_kills_before=oom_kills_before)

    async def _start_prewarmed(self, prewarmed: "Prewarmed") -> "_Started | None":
        """Hand the program to the runner waiting in the box; its wall time starts at the go
        signal (after any wait for a runner taken while starting). None when it declined or
        was not ready in time (killed and reaped): start it cold."""
        started_at = time.monotonic()
        handover = await prewarmed.runner.go(
            prewarmed.entry,
            prewarmed.args,
            stdin=self.spec.stdin,
            deadline=started_at + self.limits.wall_time_ms / 1000,
        )
        if handover is None:
            return None
        return _Started(
            pid=handover.proc.pid,
            proc=handover.proc,
            out_r=handover.stdout_r,
            err_r=handover.stderr_r,
            result_r=handover.result_r,
            started_at=handover.went_at,
            cpu_before_ns=handover.cpu_before_ns,
        )

    async def _start_cold(self, *, stdin_fd: int | None, stdout_fd: int | None) -> "_Started":
        # The child's descriptors (made here, or handed over by the caller): closed once it
        # started. Taken before the first await, so a handed-over one is never left open.
        ours = [fd for fd in (stdin_fd, stdout_fd) if fd is not None]
        if stdin_fd is None:
            stdin_fd = _memfd_with(self.spec.stdin)
            ours.append(stdin_fd)
        out_r = None
        if stdout_fd is None:
            out_r, stdout_fd = os.pipe()
            ours.append(stdout_fd)
        err_r, err_w = os.pipe()
        result_r, result_w = os.pipe()
        started_at = time.monotonic()
        try:
            pid, proc = await self._start(stdin_fd, stdout_fd, err_w, result_w)
        except BaseException:
            for fd in (out_r, err_r, result_r):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in (*ours, err_w, result_w):
                os.close(fd)
        return _Started(
            pid=pid, proc=proc, out_r=out_r, err_r=err_r, result_r=result_r, started_at=started_at
        )

    async def _supervise(self, started: "_Started", *, oom_kills_before: int) -> Outcome:
        loop = asyncio.get_running_loop()
        pid, proc, result_r = started.pid, started.proc, started.result_r
        self.pid = pid
        self.cpu_before_ms = started.cpu_before_ns / 1e6
        sampler = self.sampler = TreeSampler(
            pid,
            identity=self.identity,
            scanner=self.scanner,
            own_ipc_namespace=bool(self.plan.unshare_flags & CLONE_NEWIPC),
        )
        if self.scanner is not None and self.identity is not None and self.plan.unshare_flags:
            # In a network namespace of its own, its sockets are measured there.
            self.scanner.enter_namespace(self.identity.uid, pid)
        stdout = _Stream(started.out_r) if started.out_r is not None else None
        stderr = _Stream(started.err_r)
        streams = (stdout, stderr) if stdout is not None else (stderr,)
        pidfd = os.pidfd_open(pid)
        exited: asyncio.Future[None] = loop.create_future()
        reaped = False
        try:
            # A pidfd stays readable once the process has exited: the reader goes at the
            # first call, or the loop would call it on every turn until the run is reaped.
            loop.add_reader(pidfd, _resolve_once, loop, pidfd, exited)
            for stream in streams:
                self._start_reading(loop, stream)
            wall_deadline = started.started_at + self.limits.wall_time_ms / 1000
            await self._watch(exited, wall_deadline)
            status, rusage = await _reap(pid, proc)
            reaped = True
            ended = self.killed_at if self.killed_at is not None else time.monotonic()
            wall_ms = int((ended - started.started_at) * 1000)
            await self._check_held_at_exit()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            if not all(s.closed is not None and s.closed.done() for s in streams):
                # Something the main process left still holds stdout or stderr: end it now,
                # or the output would not be complete until it exits.
                await self._end_tree()
            await self._drain(streams)
            # The keeper's report is the program's own peak; a zygote's run is our child, so
            # wait4 tells (its peak starts at the zygote's, an interpreter's own).
            program_peak_kb = read_peak_rss_kb(result_r) if proc else rusage.ru_maxrss
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            os.close(result_r)
            for stream in streams:
                loop.remove_reader(stream.fd)
                os.close(stream.fd)
            if not reaped:
                # Only reached when the await above was cancelled (shutdown): kill, then reap.
                await self._kill(KillReason.SHUTDOWN)
                await _reap(pid, proc)
                await self._end_tree()

        # A runner's CPU time before the go signal was its start-up, not the program's.
        cpu_ms = max((rusage.ru_utime + rusage.ru_stime) * 1000, sampler.cpu_time_ms)
        signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if self.pss is not None:  # shared pages counted once near the limit: that decides
            memory_kb = max(self.peak_effective_kb, program_peak_kb or 0)
        else:
            memory_kb = max(sampler.peak_rss_kb, program_peak_kb or 0)
        return Outcome(
            exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            signal=signal_number,
            stdout=b"".join(stdout.chunks) if stdout is not None else b"",
            stderr=b"".join(stderr.chunks),
            stdout_truncated=stdout.truncated if stdout is not None else False,
            stderr_truncated=stderr.truncated,
            cpu_time_ms=max(0, int(cpu_ms - self.cpu_before_ms)),
            wall_time_ms=wall_ms,
            memory_kb=memory_kb,
            killed_for=self.killed_for,
            peak_tasks=sampler.peak_tasks,
            oom_killed=(
                self.killed_for is None
                and signal_number == signal.SIGKILL
                and _oom_kills() > oom_kills_before
            ),
        )

    async def _start(
        self, stdin_fd: int, stdout_fd: int, stderr_fd: int, result_fd: int
    ) -> tuple[int, subprocess.Popen[bytes] | None]:
        """Start the program: forked from the zygote when there is one up, else through the
        spawn helper (cold). Returns its pid and, when we spawned it, its Popen."""
        zygote = self.zygote
        if zygote is not None:
            try:
                pid = await zygote.zygote.launch(
                    self.plan,
                    cwd=self.spec.cwd,
                    env=self.spec.env,
                    main=zygote.main,
                    args=zygote.args,
                    stdin=stdin_fd,
                    stdout=stdout_fd,
                    stderr=stderr_fd,
                )
            except SpawnError as exc:
                # The zygote is restarting, or the run's setup failed: start it cold, which
                # raises the setup's error again if that was the cause.
                log.info("starting %s cold: %s", zygote.main, exc)
            else:
                return pid, None
        proc = await self.helper.spawn(
            self.plan,
            self.spec.argv,
            cwd=self.spec.cwd,
            env=self.spec.env,
            stdin=stdin_fd,
            stdout=stdout_fd,
            stderr=stderr_fd,
            result_fd=result_fd,
        )
        return proc.pid, proc

    async def _watch(self, exited: asyncio.Future[None], wall_deadline: float) -> None:
        """Sample the tree until the main process exits, killing it at the first limit hit.
        The first sample comes after FIRST_SAMPLE_INTERVAL_S: right after exec there is
        nothing to see yet."""
        assert self.sampler is not None
        interval = FIRST_SAMPLE_INTERVAL_S
        while True:
            remaining = wall_deadline - time.monotonic()
            if remaining <= 0:
                await self._kill(KillReason.WALL_TIME_LIMIT)
                await exited
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), min(interval, remaining))
            if exited.done():
                return
            interval = SAMPLE_INTERVAL_S
            self.sampler.sample()
            reason = await self._limit_passed()
            if reason is not None:
                await self._kill(reason)

    async def _limit_passed(self) -> KillReason | None:
        assert self.sampler is not None
        sampler = self.sampler
        # Memory first: a sample that finds both limits passed (a late sample, or page faults
        # that took the CPU time past its limit on the way: on this project's VM, 512 MB of
        # fresh file pages cost up to 4.4 s of CPU) names the memory, what the run went for.
        memory_kb = await self._memory_kb_now()
        growing = memory_kb > self.last_memory_kb
        self.last_memory_kb = memory_kb
        if memory_kb > self.limits.memory_kb:
            return KillReason.MEMORY_LIMIT
        cpu_ms = sampler.cpu_time_ms - self.cpu_before_ms
        if cpu_ms > self.limits.cpu_time_ms and not self._racing_for_memory(
            cpu_ms, memory_kb, growing
        ):
            return KillReason.CPU_TIME_LIMIT
        held = sampler.held
        if held.disk_kb > self.limits.disk_kb or held.files > self.limits.disk_files:
            return KillReason.DISK_LIMIT
        return None

    def _racing_for_memory(self, cpu_ms: float, memory_kb: int, growing: bool) -> bool:
        """Past its CPU limit: whether the run may go on (MEMORY_RACE_FRACTION). The grace
        starts once, at the first sample past the CPU limit, only for a run whose memory is
        close to its limit and grew since the last sample, and ends as soon as it stops
        growing or its CPU time reaches the end of the grace."""
        if self.cpu_grace_until_ms is None:
            if not growing or memory_kb < self.limits.memory_kb * MEMORY_RACE_FRACTION:
                return False
            grace_ms = min(self.limits.cpu_time_ms * CPU_GRACE_FRACTION, CPU_GRACE_MAX_MS)
            self.cpu_grace_until_ms = self.limits.cpu_time_ms + grace_ms
        return growing and cpu_ms <= self.cpu_grace_until_ms

    async def _memory_kb_now(self) -> int:
        """The tree's memory now: its resident sizes while under the limit; past it, with a
        uid of its own, its proportional set size, so that pages shared by forked processes
        count once (read as the run's uid at most every PSS_INTERVAL_S, and moved by the
        resident sizes' growth in between)."""
        assert self.sampler is not None
        rss_kb = self.sampler.rss_kb
        if rss_kb <= self.limits.memory_kb or self.identity is None:
            self.peak_effective_kb = max(self.peak_effective_kb, rss_kb)
            return rss_kb
        now = time.monotonic()
        if self.pss is None or now - self.pss[2] >= PSS_INTERVAL_S:
            try:
                pss_kb = await asyncio.to_thread(self.helper.pss_kb, self.identity)
            except (OSError, subprocess.SubprocessError):
                return rss_kb  # cannot tell: resident sizes decide
            outside_kb = self.sampler.page_tables_kb + self.sampler.held_outside_processes_kb()
            self.pss = (pss_kb + outside_kb, rss_kb, now)
        effective_kb = self.pss[0] + max(0, rss_kb - self.pss[1])
        self.peak_effective_kb = max(self.peak_effective_kb, effective_kb)
        return effective_kb

    async def _check_held_at_exit(self) -> None:
        """What the run left behind when its main process exited counts too: a program that
        fills /dev/shm or its directory and exits between two scans is over its limits all the
        same (the cleanup removes its files afterwards). Measured now, off the event loop."""
        assert self.sampler is not None
        sampler = self.sampler
        if self.scanner is not None and self.identity is not None:
            sampler.held = await asyncio.to_thread(self.scanner.measure, self.identity.uid)
        held_kb = sampler.held_outside_processes_kb()
        sampler.peak_rss_kb = max(sampler.peak_rss_kb, held_kb)
        if self.killed_for is not None:
            return
        held = sampler.held
        if held_kb > self.limits.memory_kb:
            self.killed_for = KillReason.MEMORY_LIMIT
        elif held.disk_kb > self.limits.disk_kb or held.files > self.limits.disk_files:
            self.killed_for = KillReason.DISK_LIMIT

    async def _kill(self, reason: KillReason) -> None:
        if self.killed_for is None:
            self.killed_for = reason
        if self.killed_at is None:
            self.killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.identity is not None:
            await asyncio.to_thread(self.helper.kill_all, self.identity)

    async def _end_tree(self) -> None:
        """Kill everything the run left (its whole uid). Done here only when something still
        holds the run's pipes, or on cancellation; otherwise the box's cleanup sweeps the uid
        after the answer is sent and before the uid is reused."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.identity is not None:
            await asyncio.to_thread(kill_all_processes, self.identity, helper=self.helper)

    def _start_reading(self, loop: asyncio.AbstractEventLoop, stream: _Stream) -> None:
        os.set_blocking(stream.fd, False)
        stream.closed = loop.create_future()
        loop.add_reader(stream.fd, self._on_readable, loop, stream)

    def _on_readable(self, loop: asyncio.AbstractEventLoop, stream: _Stream) -> None:
        try:
            data = os.read(stream.fd, READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        if not data:
            loop.remove_reader(stream.fd)
            _resolve(stream.closed)
            return
        if len(data) > self.output_left:
            data = data[: self.output_left]
            stream.truncated = True
        self.output_left -= len(data)
        if data:
            stream.chunks.append(data)
        if stream.truncated:
            # Stop reading: the cap is reached, and the run ends now rather than at its time limit.
            loop.remove_reader(stream.fd)
            _resolve(stream.closed)
            if self.killed_for is None:
                self.killed_for = KillReason.OUTPUT_LIMIT
            if self.killed_at is None:
                self.killed_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    async def _drain(self, streams: tuple[_Stream, ...]) -> None:
        waits = [s.closed for s in streams if s.closed is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), DRAIN_TIMEOUT_S)


async def _reap(
    pid: int, proc: subprocess.Popen[bytes] | None
) -> tuple[int, resource.struct_rusage]:
    """wait4 the ended program: (status, rusage). A zygote's run becomes our child once its
    first parent has exited, which may lag its own end by a moment."""
    for _ in range(1000):
        try:
            _, status, rusage = os.wait4(pid, 0)
        except ChildProcessError:
            await asyncio.sleep(0.001)
            continue
        if proc is not None:
            proc.returncode = os.waitstatus_to_exitcode(status)
        return status, rusage
    raise ChildProcessError(f"{pid} never became a child of the service")


def _oom_kills() -> int:
    """How many processes the kernel's out-of-memory killer has killed in the service's memory
    cgroup (the container's): ``oom_kill`` in memory.events (cgroup v2) or memory.oom_control
    (v1); 0 where neither says."""
    for path in memory_event_files():
        try:
            with open(path, "rb") as f:
                for line in f:
                    if line.startswith(b"oom_kill "):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _resolve_once(loop: asyncio.AbstractEventLoop, fd: int, future: asyncio.Future[None]) -> None:
    loop.remove_reader(fd)
    _resolve(future)


def _memfd_with(data: bytes) -> int:
    """A sealed in-memory file holding ``data``, positioned at its start (the child's stdin).

    The seals make it read-only for good: unsealed, the child could write to or extend its
    stdin (or reopen /proc/self/fd/0 for writing) and keep memory there that no resident size
    shows."""
    fd = os.memfd_create("stdin", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd
