"""Ends every process of a run's uid and removes every file it owns in shared writable places."""

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import time

from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import pids_of_uid, read_stat

# World-writable places a run can leave files in besides its own workspace.
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


class CleanupError(RuntimeError):
    """A run's processes would not die; its uid must not be reused."""


def kill_all_processes(identity: RunIdentity, *, timeout_s: float = 5.0) -> None:
    """Kill every process whose uid is the run's, wait until they are gone, reap our zombies.

    ``kill(-1, SIGKILL)`` sent by a process running as that uid reaches all its processes in one
    pass under the kernel's task-list lock, so a process that forks meanwhile cannot leave a child
    behind (unlike walking /proc and killing pid by pid). Raises CleanupError if processes
    survive ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        pids = pids_of_uid(identity.uid)
        live = [pid for pid in pids if not _is_zombie(pid)]
        if live:
            signal_all(identity)
        _reap_our_zombies(pids)
        if not pids:
            return
        if time.monotonic() > deadline:
            raise CleanupError(f"uid {identity.uid} still has processes {sorted(pids)[:10]}")
        time.sleep(0.002)


def remove_owned_files(
    identity: RunIdentity, *, places: tuple[str, ...] = SHARED_WRITABLE_DIRS
) -> int:
    """Remove every entry directly inside ``places`` that belongs to the run's uid (whole trees for
    directories), without following symlinks. Returns how many entries were removed.

    Call only after kill_all_processes: with no process of the uid alive nothing can race us.
    """
    removed = 0
    for place in places:
        try:
            dir_fd = os.open(place, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            for name in os.listdir(dir_fd):
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if st.st_uid != identity.uid:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(name, dir_fd=dir_fd)
                else:
                    os.unlink(name, dir_fd=dir_fd)
                removed += 1
        finally:
            os.close(dir_fd)
    return removed


def signal_all(identity: RunIdentity) -> None:
    """Send SIGKILL to every process of the run's uid, once, without waiting or reaping (so the
    supervisor can still wait4 its main process)."""
    # The child drops to the run's uid and sends kill(-1) from preexec_fn, then exits without
    # exec: Popen sees the error pipe close cleanly and returns. Using Popen rather than os.fork
    # keeps this safe to call from a threaded server.
    proc = subprocess.Popen(
        ["/bin/true"],
        user=identity.uid,
        group=identity.gid,
        extra_groups=[],
        preexec_fn=_kill_everything_then_exit,
        close_fds=True,
    )
    _, status = os.waitpid(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)


def _kill_everything_then_exit() -> None:
    try:
        os.kill(-1, signal.SIGKILL)
    finally:
        os._exit(0)


def _is_zombie(pid: int) -> bool:
    st = read_stat(pid)
    return st is None or st.state in ("Z", "X")


def _reap_our_zombies(pids: list[int]) -> None:
    # Orphans of a run are re-parented to the service (a child subreaper, or PID 1 in a
    # container); their zombies count against the uid's process limit until reaped.
    me = os.getpid()
    for pid in pids:
        st = read_stat(pid)
        if st is not None and st.ppid == me and st.state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
