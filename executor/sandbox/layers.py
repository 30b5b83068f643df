"""Finds which isolation layers work on this kernel and in this container, and why others do not."""

import concurrent.futures
import ctypes
import os
import subprocess
from dataclasses import dataclass
from enum import StrEnum

from executor.sandbox.child import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    IPC_NAMESPACE_LIMITS,
    MS_PRIVATE,
    MS_REC,
    mount_private_proc,
    write_sysctls,
)
from executor.sandbox.identity import RunIdentity
from executor.sandbox.seccomp import SeccompFilter, SeccompUnavailable, build_filter, probe_seccomp


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
    """The layers every run gets on this replica."""

    mode: IsolationMode
    uid_drop: bool
    seccomp: SeccompFilter | None
    namespaces: bool
    layers: tuple[Layer, ...]


def detect_isolation(mode: IsolationMode, *, probe_identity: RunIdentity) -> Isolation:
    """Probe each layer with a real short-lived child and return what works.

    ``probe_identity`` is a uid of the pool, used to check that dropping to it works. Raises
    IsolationUnavailable in ``strict`` mode when the uid drop or seccomp is missing.
    """
    if mode is IsolationMode.NONE:
        why = "EXECUTOR_ISOLATION=none: development only, code runs as the service's own user"
        layers = tuple(Layer(name, False, why) for name in ("uid_drop", "seccomp", "namespaces"))
        return Isolation(mode, False, None, False, layers)

    # Each probe is a short child process; run them side by side to keep startup short.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        uid_probe = pool.submit(_probe_uid_drop, probe_identity)
        seccomp_probe = pool.submit(_probe_seccomp)
        ns_probe = pool.submit(_probe_namespaces)
    uid_problem = uid_probe.result()
    seccomp, seccomp_problem = seccomp_probe.result()
    ns_problem = ns_probe.result()
    if mode is IsolationMode.STRICT:
        missing = [
            f"{name}: {problem}"
            for name, problem in (("uid_drop", uid_problem), ("seccomp", seccomp_problem))
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
            seccomp_problem is None,
            seccomp_problem or "no sockets but AF_UNIX, no ptrace, mount, keyring, bpf, io_uring",
        ),
        Layer(
            "namespaces",
            ns_problem is None,
            ns_problem
            or "empty network and IPC namespaces, private /tmp, /var/tmp and /dev/shm, "
            "a /proc showing only the run's processes",
        ),
    )
    return Isolation(
        mode=mode,
        uid_drop=uid_problem is None,
        seccomp=seccomp if seccomp_problem is None else None,
        namespaces=ns_problem is None and uid_problem is None,
        layers=layers,
    )


def _probe_uid_drop(identity: RunIdentity) -> str | None:
    if os.geteuid() != 0:
        return f"the service runs as uid {os.geteuid()}, not root: it cannot switch uids"
    try:
        subprocess.run(
            ["/bin/true"], user=identity.uid, group=identity.gid, extra_groups=[], check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"switching to uid {identity.uid} failed: {exc}"
    return None


def _probe_seccomp() -> tuple[SeccompFilter | None, str | None]:
    try:
        seccomp = build_filter()
    except SeccompUnavailable as exc:
        return None, str(exc)
    return seccomp, probe_seccomp(seccomp)


def _probe_namespaces() -> str | None:
    libc = ctypes.CDLL(None, use_errno=True)  # libc, already loaded: no library search

    def enter() -> None:
        if libc.unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "mount")
        mount_private_proc(libc)
        write_sysctls(IPC_NAMESPACE_LIMITS)

    try:
        subprocess.run(["/bin/true"], preexec_fn=enter, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return (
            "cannot create network, IPC and mount namespaces, mount a private /proc and limit "
            f"System V IPC (needs CAP_SYS_ADMIN and a writable /proc/sys): {exc}"
        )
    return None
