"""A zygote: a pre-initialised interpreter, started ahead, that forks one child per run; each child
applies the run's setup with the spawn helper's own library, then runs the program in-process.

The sandbox knows no language: the zygote's program and its protocol's far side come from a
language plan (languages/python/zygote.py documents the protocol). A run the zygote starts is
re-parented to the service (a child subreaper) at once, so the service waits for it as for any
child of its own; its arguments travel in a memfd, never on a command line.
"""

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping

from executor.sandbox.child import ChildPlan
from executor.sandbox.spawn import ERROR_READ_BYTES, SpawnError, SpawnHelper

log = logging.getLogger("executor.sandbox")

_INT = 4
# The zygote's first byte on the error pipe: the run has opened its descriptors (the service may
# close its own); then end of file means the program is starting, anything else is an error.
_OPENED = b"\0"


class Zygote:
    """One zygote process, started by ``start`` from ``argv`` (the program, e.g.
    ``python3 -E -s -B -X utf8 zygote.py``; the library and the two descriptors are appended),
    as root in ``env`` (nothing of the service's own). ``launch`` starts a run in the child the
    zygote forked ahead for it (its spare; see languages/python/zygote.py); a zygote that
    died is started again by the next ``launch`` (which meanwhile raises SpawnError: the
    caller starts the run cold)."""

    def __init__(
        self, argv: tuple[str, ...], *, helper: SpawnHelper, env: Mapping[str, str]
    ) -> None:
        self.argv = argv
        self.helper = helper
        # The names of a run's environment (their values are the run's own): an interpreter's
        # start depends on which are set (Python's site imports pwd when HOME is missing).
        self.env = dict(env)
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._request_w = -1
        self._reply_r = -1
        self._lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the zygote (it initialises in the background). Raises OSError."""
        self.stop()
        request_r, self._request_w = os.pipe()
        self._reply_r, reply_w = os.pipe()
        try:
            self._process = subprocess.Popen(
                [*self.argv, self.helper.library_path, str(request_r), str(reply_w)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env=self.env,
                pass_fds=(request_r, reply_w),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(request_r)
            os.close(reply_w)
        os.set_blocking(self._reply_r, False)
        self.starts += 1

    def stop(self) -> None:
        """Kill the zygote and what is left of its process group: its spare, and the child
        that was making the next one if the zygote died meanwhile (that spare's pid was never
        announced); reap those that came back to this process. Its runs go on: each is in a
        session of its own, and the service's child."""
        if self._request_w >= 0:
            os.close(self._request_w)
        self._request_w = -1
        if self._process is not None:
            group = self._process.pid  # the zygote leads its own session and process group
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            self._process.wait()
            self._process = None
            _end_group(group)
        if self._reply_r >= 0:
            os.close(self._reply_r)
        self._reply_r = -1

    async def launch(
        self,
        plan: ChildPlan,
        *,
        cwd: str,
        env: dict[str, str],
        main: str,
        args: tuple[str, ...],
        stdin: int,
        stdout: int,
        stderr: int,
    ) -> int:
        """Start a run of ``main`` with ``args`` under ``plan``, its standard streams the given
        descriptors of this process; return its pid once the program is about to start. The
        run is (or is about to be) a child of this process: wait4 it. Raises SpawnError when
        the zygote is down (it is restarted meanwhile) or the run's setup failed."""
        error_r, error_w = os.pipe()
        os.set_blocking(error_r, False)
        try:
            args_fd = _memfd_with(b"".join(os.fsencode(a) + b"\0" for a in args))
        except BaseException:
            os.close(error_r)
            os.close(error_w)
            raise
        try:
            async with self._lock:
                if not self.alive:
                    self.start()
                    raise SpawnError("the zygote was down; it is starting again")
                filter_fd = self.helper.filter_fd if plan.seccomp else None
                items = [
                    str(os.getpid()),
                    *(str(fd) for fd in (stdin, stdout, stderr, error_w, args_fd)),
                    str(filter_fd if filter_fd is not None else -1),
                    cwd,
                    main,
                    str(len(env)),
                    *(f"{name}={value}" for name, value in env.items()),
                    *self.helper.setup_options(plan, error_fd="{error}", filter_fd="{filter}"),
                ]
                try:
                    os.write(self._request_w, _frame(items))
                    reply = await _read_exactly(self._reply_r, _INT)
                except (OSError, EOFError) as exc:
                    self.stop()
                    raise SpawnError(f"the zygote failed: {exc}") from exc
                except BaseException:
                    # Cancelled between the request and its pid: the next pid on the pipe
                    # would be this one's; start afresh.
                    self.stop()
                    raise
            pid = int.from_bytes(reply, "big", signed=True)
            if pid <= 0:
                raise SpawnError("the zygote could not fork")
            # The run opens this process's descriptors itself: keep them until it has. (The
            # next request need not wait for that: its spare is another process.)
            first = await _first_byte_or_exit(error_r, pid)
            if first is None:
                # It ended before it started (a spare that died waiting): reap it now,
                # nothing else will (it ran as root, no uid's cleanup finds it).
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
        except BaseException:
            os.close(error_r)
            raise
        finally:
            os.close(args_fd)
            os.close(error_w)
        try:
            error = (first if first not in (None, _OPENED) else b"") + await _read_until_eof(
                error_r
            )
        finally:
            os.close(error_r)
        if error or first is None:
            detail = error.decode(errors="replace") or "it ended before it started"
            raise SpawnError(f"cannot start {main}: {detail}")
        return pid


async def _first_byte_or_exit(fd: int, pid: int) -> bytes | None:
    """The first byte the run writes on its error pipe, or None if it ends first."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    readable: asyncio.Future[None] = loop.create_future()
    ended: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _resolve, readable)
    loop.add_reader(pidfd, _resolve, ended)
    try:
        await asyncio.wait((readable, ended), return_when=asyncio.FIRST_COMPLETED)
        try:
            return os.read(fd, 1) or None
        except BlockingIOError:
            return None
    finally:
        loop.remove_reader(fd)
        loop.remove_reader(pidfd)
        os.close(pidfd)


def _frame(items: list[str]) -> bytes:
    parts = [len(items).to_bytes(_INT, "big")]
    for item in items:
        raw = os.fsencode(item)
        parts += [len(raw).to_bytes(_INT, "big"), raw]
    body = b"".join(parts)
    # Its length first: the zygote reads a request in two reads, whatever its size.
    return len(body).to_bytes(_INT, "big") + body


def _end_group(group: int, *, timeout_s: float = 1.0) -> None:
    """Kill every process of the process group ``group`` and reap those that are this
    process's children (orphans come back to a child subreaper), until the group is empty, a
    zombie being still a member; give up after ``timeout_s`` (not our children: init reaps
    them). A run has left the group before the service learns its pid (its own session), so
    only the zygote's spares and forks die here: 5 ms for the whole stop in its test."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            return  # nobody left, zombies included
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-group, os.WNOHANG)[0] > 0:
                pass
        if time.monotonic() > deadline:
            log.warning("processes of the zygote's group %d outlived it", group)
            return
        time.sleep(0.001)


def _memfd_with(data: bytes) -> int:
    fd = os.memfd_create("args", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd


async def _readable(fd: int) -> None:
    """Return once ``fd`` can be read (or has reached its end)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _resolve, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes from the non-blocking ``fd``, without blocking the loop; EOFError if the
    writers close it first."""
    data = b""
    while len(data) < size:
        try:
            chunk = os.read(fd, size - len(data))
        except BlockingIOError:
            await _readable(fd)
            continue
        if not chunk:
            raise EOFError(f"descriptor {fd} closed after {len(data)} of {size} bytes")
        data += chunk
    return data


async def _read_until_eof(fd: int) -> bytes:
    """What the writers of the non-blocking ``fd`` write until they close it (at most
    ERROR_READ_BYTES of it)."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, ERROR_READ_BYTES)
        except BlockingIOError:
            await _readable(fd)
            continue
        if not chunk:
            return data[:ERROR_READ_BYTES]
        data += chunk


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
