"""The ordered steps a child takes between fork and exec: limits, namespaces, uid drop, seccomp."""

import ctypes
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass

from executor.sandbox.identity import RunIdentity
from executor.sandbox.seccomp import SeccompFilter
from executor.sandbox.spec import ResourceLimits

PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
# A /proc of the run's own: other users' processes are invisible in it (hidepid=2), so a run
# cannot read another run's command line, which holds that user's arguments.
PRIVATE_PROC_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC
PRIVATE_PROC_OPTIONS = b"hidepid=2"
# Set in each new IPC namespace, whose limits start at the kernel's (unlimited) defaults and
# whose objects the service cannot see: a shared memory segment is destroyed as soon as no
# process has it attached, so all its memory shows in some process's resident size; and a run
# may make a few message queues (16 KB each) rather than 32000.
RUN_OOM_SCORE_ADJ = 1000
OOM_SCORE_ADJ_PATH = "/proc/self/oom_score_adj"
IPC_NAMESPACE_LIMITS = (
    ("/proc/sys/kernel/shm_rmid_forced", "1"),
    ("/proc/sys/kernel/msgmni", "16"),
)


@dataclass(frozen=True)
class ChildPlan:
    """Everything the child needs, computed in the parent so the child only makes syscalls."""

    rlimits: tuple[tuple[int, int], ...]
    identity: RunIdentity | None
    seccomp: SeccompFilter | None
    unshare_flags: int
    private_tmp: str | None  # bound over /tmp, /var/tmp and /dev/shm inside a new mount namespace
    # Written right after unshare (sysctl path, value): IPC_NAMESPACE_LIMITS with a new IPC
    # namespace, else nothing.
    ipc_limits: tuple[tuple[str, str], ...] = ()
    # Mount a /proc showing only the run's own processes (PRIVATE_PROC_*) after the binds.
    private_proc: bool = False
    # When the replica runs out of memory, the kernel kills the process with the highest score:
    # a run, never the service (whose death would take every run of the replica with it).
    oom_score_adj: int = RUN_OOM_SCORE_ADJ


def plan_child(
    limits: ResourceLimits,
    *,
    identity: RunIdentity | None,
    seccomp: SeccompFilter | None,
    namespaces: bool,
    private_tmp: str | None,
) -> ChildPlan:
    """Turn limits and active layers into the child's steps.

    RLIMIT_NPROC is set only with a uid of the run's own: without one it would count the service
    user's processes, and root ignores it anyway.
    """
    cpu_s = (
        -(-limits.cpu_time_ms // 1000) + 1
    )  # a backstop; the supervisor enforces the exact value
    rlimits = [
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_FSIZE, limits.file_size_kb * 1024),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_STACK, limits.stack_kb * 1024),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ]
    if limits.address_space_kb is not None:
        rlimits.append((resource.RLIMIT_AS, limits.address_space_kb * 1024))
    if identity is not None:
        rlimits.append((resource.RLIMIT_NPROC, limits.processes))
    flags = CLONE_NEWNET | CLONE_NEWIPC | (CLONE_NEWNS if private_tmp else 0) if namespaces else 0
    return ChildPlan(
        rlimits=tuple(rlimits),
        identity=identity,
        seccomp=seccomp,
        unshare_flags=flags,
        private_tmp=private_tmp if namespaces else None,
        ipc_limits=IPC_NAMESPACE_LIMITS if flags & CLONE_NEWIPC else (),
        private_proc=bool(flags & CLONE_NEWNS),
    )


def make_preexec(plan: ChildPlan) -> Callable[[], None]:
    """The function Popen runs in the child after fork and ``setsid``, right before exec.

    Order matters: namespaces and mounts need root; rlimits are lowered while still root so the
    hard limits hold; then root is dropped; seccomp comes last so the steps above may use the
    syscalls it denies. Any exception aborts the spawn (Popen raises SubprocessError).
    """
    libc = ctypes.CDLL(None, use_errno=True)  # libc, already loaded: no library search
    tmp = plan.private_tmp.encode() if plan.private_tmp else None

    def preexec() -> None:
        write_sysctls(((OOM_SCORE_ADJ_PATH, str(plan.oom_score_adj)),))
        if plan.unshare_flags:
            _check(libc.unshare(plan.unshare_flags))
            write_sysctls(plan.ipc_limits)
            if tmp is not None:
                _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None))
                # /tmp last: binding over it first would hide a source that lives under /tmp.
                for target in (b"/dev/shm", b"/var/tmp", b"/tmp"):
                    _check(libc.mount(tmp, target, None, MS_BIND, None))
            if plan.private_proc:
                mount_private_proc(libc)
        for which, value in plan.rlimits:
            resource.setrlimit(which, (value, value))
        # ---- root ends here: everything below runs as the run's uid ----
        if plan.identity is not None:
            os.setgroups([])
            os.setresgid(plan.identity.gid, plan.identity.gid, plan.identity.gid)
            os.setresuid(plan.identity.uid, plan.identity.uid, plan.identity.uid)
        if plan.seccomp is not None:
            plan.seccomp.install()  # sets no_new_privs itself
        else:
            _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))

    return preexec


def mount_private_proc(libc: ctypes.CDLL) -> None:
    """Mount a fresh /proc over /proc in the caller's (new, private) mount namespace, hiding the
    processes of other users (root in the init user namespace, between unshare and the uid
    drop). Raises OSError."""
    _check(libc.mount(b"proc", b"/proc", b"proc", PRIVATE_PROC_FLAGS, PRIVATE_PROC_OPTIONS))


def write_sysctls(values: tuple[tuple[str, str], ...]) -> None:
    """Write each (path, value) under /proc/sys; IPC ones apply to the caller's IPC namespace
    (root in it, right after ``unshare(CLONE_NEWIPC)``). Raises OSError, e.g. where /proc/sys
    is read-only."""
    for path, value in values:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)


def _check(result: int) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
