"""ChildPlan: the ordered steps a child takes between start and exec, computed in the parent.

The spawn helper (native/spawn_helper.c) applies them in this order, as nsjail's containProc
does: namespaces and mounts (need root), rlimits (lowered while still root, so the hard limits
hold), the lowest scheduling class, umask 077, ---- root ends here ---- the uid drop,
no_new_privs, Landlock, seccomp last (so the steps above may use the syscalls it denies), then
exec.
"""

import resource
from dataclasses import dataclass

from executor.sandbox.identity import RunIdentity
from executor.sandbox.spec import ResourceLimits

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
# A /proc of the run's own: other users' processes are invisible in it (hidepid=2), so a run
# cannot read another run's command line, which holds that user's arguments.
PRIVATE_PROC_OPTIONS = "hidepid=2"
# When the replica runs out of memory, the kernel kills the process with the highest score: a
# run, never the service (whose death would take every run of the replica with it).
RUN_OOM_SCORE_ADJ = 1000
OOM_SCORE_ADJ_PATH = "/proc/self/oom_score_adj"
# Set in each new IPC namespace, whose limits start at the kernel's (unlimited) defaults and
# whose objects the service cannot see: a shared memory segment is destroyed as soon as no
# process has it attached, so all its memory shows in some process's resident size; and a run
# may make a few message queues (16 KB each) rather than 32000.
IPC_NAMESPACE_LIMITS = (
    ("/proc/sys/kernel/shm_rmid_forced", "1"),
    ("/proc/sys/kernel/msgmni", "16"),
)
# Under Landlock, the world is read-only but for the run's own directory, regular files in
# these shared places (POSIX shared memory and semaphores: Python's multiprocessing needs
# them), and these devices.
LANDLOCK_SHARED_DIRS = ("/dev/shm",)
LANDLOCK_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass(frozen=True)
class LandlockPlan:
    """Landlock for a run: ``abi`` the kernel's Landlock ABI (0: not applied), ``whole`` the
    directories the run may do anything beneath, ``shared`` where it may make, read, write and
    remove regular files only, ``devices`` files it may also write. Everything else is
    read-only; with ABI 6 or later abstract AF_UNIX sockets and signals stay within the run."""

    abi: int
    whole: tuple[str, ...]
    shared: tuple[str, ...] = LANDLOCK_SHARED_DIRS
    devices: tuple[str, ...] = LANDLOCK_DEVICES


@dataclass(frozen=True)
class ChildPlan:
    """Everything the child does before exec; the helper only makes syscalls from it."""

    rlimits: tuple[tuple[int, int], ...]
    identity: RunIdentity | None
    seccomp: bool  # install the helper's seccomp program
    unshare_flags: int
    private_tmp: str | None  # bound over /tmp, /var/tmp and /dev/shm inside a new mount namespace
    # With namespaces: the network namespace to join (the uid's, see netns.py) instead of
    # making a new one.
    network_namespace: str | None = None
    # Written right after unshare (sysctl path, value): IPC_NAMESPACE_LIMITS with a new IPC
    # namespace, else nothing.
    ipc_limits: tuple[tuple[str, str], ...] = ()
    # Mount a /proc showing only the run's own processes (PRIVATE_PROC_OPTIONS) after the binds.
    private_proc: bool = False
    oom_score_adj: int = RUN_OOM_SCORE_ADJ
    # The run's own directory and what else it may write (None: no Landlock here).
    landlock: LandlockPlan | None = None
    # SCHED_IDLE: runs never take CPU time the service wants (it cannot raise its own priority).
    idle: bool = False


def plan_child(
    limits: ResourceLimits,
    *,
    identity: RunIdentity | None,
    seccomp: bool,
    namespaces: bool,
    private_tmp: str | None,
    landlock_abi: int = 0,
    writable: tuple[str, ...] = (),
    idle: bool = False,
    network_namespace: str | None = None,
) -> ChildPlan:
    """Turn limits and the active layers into the child's steps.

    RLIMIT_CPU is a backstop one second above the limit (the supervisor enforces the exact
    value). RLIMIT_NPROC is set only with a uid of the run's own: without one it would count the
    service user's processes, and root ignores it anyway.
    """
    cpu_s = -(-limits.cpu_time_ms // 1000) + 1
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
    joined = network_namespace if namespaces else None
    flags = 0
    if namespaces:
        flags = (0 if joined else CLONE_NEWNET) | CLONE_NEWIPC | (CLONE_NEWNS if private_tmp else 0)
    return ChildPlan(
        network_namespace=joined,
        rlimits=tuple(rlimits),
        identity=identity,
        seccomp=seccomp,
        unshare_flags=flags,
        private_tmp=private_tmp if namespaces else None,
        ipc_limits=IPC_NAMESPACE_LIMITS if flags & CLONE_NEWIPC else (),
        private_proc=bool(flags & CLONE_NEWNS),
        landlock=(
            LandlockPlan(
                abi=landlock_abi,
                # The private /tmp is bound there from the run's directory, but Landlock follows
                # paths through mounts, not through the directory it came from: name it too.
                whole=(*writable, "/tmp") if namespaces and private_tmp else writable,
            )
            if landlock_abi > 0
            else None
        ),
        idle=idle,
    )


def same_setup(started: ResourceLimits, wanted: ResourceLimits) -> bool:
    """Whether a process started under ``started`` has the setup a run under ``wanted`` gets
    before exec (plan_child's rlimits, and the memory a runtime's heap flag is sized from):
    the other limits (wall time, output, disk, the exact CPU time) are the supervisor's, per
    run. A runner started ahead can take a run only then."""
    return started.memory_kb == wanted.memory_kb and _rlimits(started) == _rlimits(wanted)


def _rlimits(limits: ResourceLimits) -> tuple[tuple[int, int], ...]:
    # Any identity: with one, the process limit is among the rlimits.
    anyone = RunIdentity(uid=0, gid=0)
    plan = plan_child(limits, identity=anyone, seccomp=False, namespaces=False, private_tmp=None)
    return plan.rlimits
