"""Finds which isolation layers work on this kernel and in this container, and why others do not."""

import asyncio
import os
import subprocess
from dataclasses import dataclass
from enum import StrEnum

from executor.sandbox.child import ChildPlan, plan_child
from executor.sandbox.identity import RunIdentity
from executor.sandbox.libc import landlock_abi
from executor.sandbox.spawn import SpawnError, SpawnHelper
from executor.sandbox.spec import ResourceLimits


class IsolationMode(StrEnum):
    """``auto`` uses every layer that works; ``strict`` refuses to start without the uid drop and
    seccomp; ``none`` runs code as the service's own user, for development only."""

    AUTO = "auto"
    STRICT = "strict"
    NONE = "none"


class IsolationUnavailable(RuntimeError):
    """``strict`` was asked for but a required layer does not work here."""


@dataclass(frozen=True)
class Layer:
    """One isolation layer: whether it is active and, if not, why."""

    name: str
    active: bool
    detail: str


@dataclass(frozen=True)
class Isolation:
    """The layers every run gets on this replica; ``landlock_abi`` is 0 without Landlock."""

    mode: IsolationMode
    uid_drop: bool
    seccomp: bool
    namespaces: bool
    layers: tuple[Layer, ...]
    landlock_abi: int = 0
    idle: bool = False


LAYER_NAMES = ("uid_drop", "seccomp", "landlock", "namespaces", "scheduling")
# What a run's mount namespace binds its own temporary directory over (spawn_helper.c -t).
NAMESPACE_PRIVATE_PLACES = ("/tmp", "/var/tmp", "/dev/shm")
# Landlock scopes abstract AF_UNIX sockets and signals from this ABI on.
LANDLOCK_SCOPING_ABI = 6


_PROBE_LIMITS = ResourceLimits(
    cpu_time_ms=5000, wall_time_ms=10000, memory_kb=65536, output_kb=1, processes=16,
    file_size_kb=0,
)  # fmt: skip


async def detect_isolation(
    mode: IsolationMode,
    *,
    probe_identity: RunIdentity,
    seccomp_problem: str | None,
    helper: SpawnHelper,
    probe_dir: str,
    run_paths: tuple[str, ...] = (),
) -> Isolation:
    """Probe each layer by starting /bin/true under it through ``helper``, the way runs will be
    started, and return what works.

    ``probe_identity`` is a uid of the pool, used to check that dropping to it works;
    ``seccomp_problem`` why no filter could be built for this machine (None if one was);
    ``probe_dir`` a directory to bind over /tmp in the namespace probe; ``run_paths`` the
    directories runs must reach (their own, the runners' programs): with one of them below a
    place a run's mount namespace replaces, the namespaces stay off. Raises
    IsolationUnavailable in ``strict`` mode when the uid drop or seccomp is missing.
    """
    if mode is IsolationMode.NONE:
        why = "EXECUTOR_ISOLATION=none: development only, code runs as the service's own user"
        layers = tuple(Layer(name, False, why) for name in LAYER_NAMES)
        return Isolation(mode, False, False, False, layers)

    abi = landlock_abi()
    # Each probe is a short child; they run side by side to keep startup short.
    uid_problem, filter_problem, ns_problem, landlock_problem, idle_problem = await asyncio.gather(
        _probe_uid_drop(helper, probe_identity),
        _probe_seccomp(helper, seccomp_problem),
        _probe(
            helper,
            plan_child(_PROBE_LIMITS, identity=None, seccomp=False, namespaces=True,
                       private_tmp=probe_dir),
            "cannot create network, IPC and mount namespaces, mount a private /proc and limit "
            "System V IPC (needs CAP_SYS_ADMIN and a writable /proc/sys)",
        ),
        _probe_landlock(helper, abi, probe_dir),
        _probe(
            helper,
            plan_child(_PROBE_LIMITS, identity=None, seccomp=False, namespaces=False,
                       private_tmp=None, idle=True),
            "cannot switch to SCHED_IDLE",
        ),
    )  # fmt: skip
    # Namespaces that would work, but would hide what runs need: off (the reason says how to
    # have them), rather than a service whose every run fails.
    ns_problem = ns_problem or hidden_by_mount_namespace(run_paths)
    if mode is IsolationMode.STRICT:
        missing = [
            f"{name}: {problem}"
            for name, problem in (("uid_drop", uid_problem), ("seccomp", filter_problem))
            if problem
        ]
        if missing:
            raise IsolationUnavailable(
                "EXECUTOR_ISOLATION=strict but required layers are missing: " + "; ".join(missing)
            )
    layers = (
        Layer("uid_drop", uid_problem is None, uid_problem or "a distinct uid per concurrent run"),
        Layer(
            "seccomp",
            filter_problem is None,
            filter_problem
            or "no socket of any family (AF_UNIX socket pairs only), no ptrace, mount, "
            "namespaces, keyring, bpf, io_uring, memfd, System V IPC, POSIX message queues or "
            "legacy AIO",
        ),
        Layer(
            "landlock",
            landlock_problem is None,
            landlock_problem
            or f"Landlock ABI {abi}: the filesystem read-only but the run's own directory and "
            "regular files in /dev/shm"
            + (
                "; abstract AF_UNIX sockets and signals scoped to the run"
                if abi >= LANDLOCK_SCOPING_ABI
                else f" (no socket and signal scoping: it needs ABI {LANDLOCK_SCOPING_ABI})"
            ),
        ),
        Layer(
            "namespaces",
            ns_problem is None,
            ns_problem
            or "an empty network namespace per uid (its runs take turns in it), an IPC "
            "namespace per run, private /tmp, /var/tmp and /dev/shm, a /proc showing only the "
            "run's processes",
        ),
        Layer(
            "scheduling",
            idle_problem is None,
            idle_problem or "runs in SCHED_IDLE: they never take CPU time the service wants",
        ),
    )
    return Isolation(
        mode=mode,
        uid_drop=uid_problem is None,
        seccomp=filter_problem is None,
        namespaces=ns_problem is None and uid_problem is None,
        layers=layers,
        landlock_abi=abi if landlock_problem is None else 0,
        idle=idle_problem is None,
    )


def hidden_by_mount_namespace(paths: tuple[str, ...]) -> str | None:
    """Why a run in a mount namespace of its own could not reach one of ``paths`` (it lies
    below a place the namespace replaces with the run's own directory), or None."""
    for path in paths:
        real = os.path.realpath(path)
        for place in NAMESPACE_PRIVATE_PLACES:
            real_place = os.path.realpath(place)
            if os.path.commonpath((real, real_place)) == real_place:
                return (
                    f"{path} lies in {place}, which a run's mount namespace replaces with the "
                    "run's own directory, so no run could reach it: set EXECUTOR_RUNS_DIR "
                    "outside /tmp, /var/tmp and /dev/shm (the runners' scripts go beside it) "
                    "to have this layer"
                )
    return None


async def _probe_uid_drop(helper: SpawnHelper, identity: RunIdentity) -> str | None:
    if os.geteuid() != 0:
        return f"the service runs as uid {os.geteuid()}, not root: it cannot switch uids"
    plan = plan_child(
        _PROBE_LIMITS, identity=identity, seccomp=False, namespaces=False, private_tmp=None
    )
    return await _probe(helper, plan, f"switching to uid {identity.uid} failed")


async def _probe_landlock(helper: SpawnHelper, abi: int, probe_dir: str) -> str | None:
    if abi == 0:
        return "Landlock is not available in this kernel (or is disabled)"
    plan = plan_child(
        _PROBE_LIMITS, identity=None, seccomp=False, namespaces=False, private_tmp=None,
        landlock_abi=abi, writable=(probe_dir,),
    )  # fmt: skip
    return await _probe(helper, plan, f"Landlock ABI {abi} could not be applied")


async def _probe_seccomp(helper: SpawnHelper, build_problem: str | None) -> str | None:
    """The filter installs in a child and refuses AF_INET while allowing AF_UNIX, as checked by
    the spawn helper itself."""
    if build_problem is not None:
        return build_problem
    problem = await asyncio.to_thread(helper.check_seccomp)
    return None if problem is None else f"seccomp filter unusable here: {problem}"


async def _probe(helper: SpawnHelper, plan: ChildPlan, failure: str) -> str | None:
    """None if /bin/true starts and exits 0 under ``plan``, else ``failure`` with the reason."""
    try:
        proc = await helper.spawn(
            plan, ("/bin/true",), cwd="/", env={},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        code = await asyncio.to_thread(proc.wait)
    except (OSError, SpawnError) as exc:
        return f"{failure}: {exc}"
    return None if code == 0 else f"{failure}: the probe exited with {code}"
