"""Ends every process of a run's uid and reaps the zombies that come back to the service."""

import contextlib
import os
import time

from executor.sandbox.identity import RunIdentity
from executor.sandbox.libc import is_child_subreaper
from executor.sandbox.procfs import children_of, pids_of_uid, read_stat, real_uid
from executor.sandbox.spawn import SpawnHelper


class CleanupError(RuntimeError):
    """A run's processes would not die; its uid must not be reused."""


def kill_all_processes(
    identity: RunIdentity, *, helper: SpawnHelper, timeout_s: float = 5.0
) -> None:
    """Kill every process whose uid is the run's, wait until they are gone, reap our zombies.

    ``kill(-1, SIGKILL)`` sent by a process running as that uid reaches all its processes in one
    pass under the kernel's task-list lock, so a process that forks meanwhile cannot leave a child
    behind (unlike walking /proc and killing pid by pid). The common case, nothing left at all,
    is found without a /proc scan (see any_process_left). Raises CleanupError if processes
    survive ``timeout_s``.
    """
    if not any_process_left(identity, helper=helper):
        return
    deadline = time.monotonic() + timeout_s
    while True:
        pids = pids_of_uid(identity.uid)
        live = [pid for pid in pids if not _is_zombie(pid)]
        if live:
            helper.kill_all(identity)
        _reap_our_zombies(pids)
        if not pids:
            return
        if time.monotonic() > deadline:
            raise CleanupError(f"uid {identity.uid} still has processes {sorted(pids)[:10]}")
        time.sleep(0.002)


def any_process_left(identity: RunIdentity, *, helper: SpawnHelper) -> bool:
    """Whether the uid has any task at all, zombies included.

    As a child subreaper, the service is the ancestor of every process a run makes: an orphan
    comes back to it, and nothing leaves its subtree. Once the run's main process is reaped, a
    process left of the run is a direct child of the service or below one, and so is every
    process on its way out (a zombie until reaped): reading the service's children, a few
    reads, tells. Without that, the helper asks the kernel (native/spawn_helper.c -q)."""
    if is_child_subreaper():
        try:
            children = children_of(os.getpid())
        except FileNotFoundError:
            pass  # no children files in this kernel
        else:
            return any(real_uid(pid) == identity.uid for pid in children)
    return helper.any_alive(identity)


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
