"""Starts a child under a ChildPlan: through the native spawn helper, or with a preexec_fn."""

import asyncio
import contextlib
import os
import subprocess
from dataclasses import dataclass

from executor.sandbox.child import ChildPlan, make_preexec
from executor.sandbox.spawner import SpawnHelper

ERROR_READ_BYTES = 4096


class SpawnError(RuntimeError):
    """The command could not be started at all (missing interpreter, a setup step refused)."""


@dataclass(frozen=True)
class Launcher:
    """How children are started on this replica.

    With ``helper`` (native/spawn_helper.c), Popen can use vfork: about a millisecond, where a
    fork of the whole service for a preexec_fn costs ten or more on a large heap. Without it
    (no C compiler here), the same steps run in a preexec_fn.
    """

    helper: SpawnHelper | None

    async def spawn(
        self,
        plan: ChildPlan,
        argv: tuple[str, ...],
        *,
        cwd: str,
        env: dict[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` under ``plan`` in a new session; return once the program itself is
        running (or failed to start: SpawnError). The event loop keeps serving meanwhile: with
        namespaces the helper's setup takes a millisecond or two."""
        if self.helper is None:
            try:
                return subprocess.Popen(
                    list(argv),
                    stdin=stdin,
                    stdout=stdout,
                    stderr=stderr,
                    cwd=cwd,
                    env=env,
                    start_new_session=True,
                    preexec_fn=make_preexec(plan),
                    close_fds=True,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise SpawnError(f"cannot start {argv[0]}: {exc}") from exc
        error_r, error_w = os.pipe()
        try:
            proc = subprocess.Popen(
                self.helper.command(plan, argv, error_fd=error_w),
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env=env,
                start_new_session=True,
                pass_fds=self.helper.pass_fds(plan, error_w),
                close_fds=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(error_r)
            raise SpawnError(f"cannot start the spawn helper: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                os.close(error_w)
        try:
            # The helper's error pipe is close-on-exec: EOF with nothing written means the
            # program itself is running.
            error = await _read_until_eof(error_r)
        finally:
            os.close(error_r)
        if error:
            await asyncio.to_thread(proc.wait)
            raise SpawnError(f"cannot start {argv[0]}: {error.decode(errors='replace')}")
        return proc


async def _read_until_eof(fd: int) -> bytes:
    """What is written to ``fd`` until its writers close it, read without blocking the loop."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    done: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        try:
            data = os.read(fd, ERROR_READ_BYTES)
        except BlockingIOError:
            return
        if data and sum(map(len, chunks)) < ERROR_READ_BYTES:
            chunks.append(data)
        elif not data and not done.done():
            done.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)
