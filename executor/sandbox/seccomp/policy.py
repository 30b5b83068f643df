"""What the seccomp filter refuses and why, and the BPF program that says it for one architecture.

The program is assembled here (bpf.py) from numbers generated out of the kernel's own tables
(syscalls.py, generate.py) rather than built with libseccomp at start-up: the filter is then the
same bytes on every host, is fully tested from this repository (tests/sandbox/seccomp/), costs no
native library at start-up and stays correct where the host's libseccomp is older than the
syscalls it must refuse (Debian 12's 2.5.4 does not know ``open_tree_attr``).
"""

import platform
from collections.abc import Mapping
from dataclasses import dataclass

from executor.sandbox.seccomp.bpf import (
    JGE_K,
    JSET_K,
    MAX_INSTRUCTIONS,
    SOCK_FILTER,
    Op,
    assemble,
    jeq,
    load,
    op,
    ret,
)
from executor.sandbox.seccomp.syscalls import NUMBERS

# struct seccomp_data {int nr; u32 arch; u64 instruction_pointer; u64 args[6]}. A 64-bit
# argument's low 32 bits sit at 16 + 8 * i on little-endian; the filter reads only low words,
# because the kernel truncates both arguments it inspects (socket's int family, clone's flags
# via lower_32_bits) before acting on them, so the high word cannot change the outcome.
OFFSET_NR = 0
OFFSET_ARCH = 4
OFFSET_ARG0_LOW = 16

RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
# Linux errno values, written out because the program is for the kernel, not for the host.
EPERM = 1
ENOSYS = 38

AF_UNIX = 1
# Every namespace flag clone() can carry. CLONE_NEWTIME (0x80) is missing on purpose: clone()
# reads its low byte as the exit signal (CSIGNAL), so 0x80 there is part of a signal number and
# the kernel, which does not validate it for legacy clone, starts an ordinary process. A new
# time namespace is reachable only through clone3 and unshare, both refused outright.
CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

# Refused with EPERM, grouped by why. Each needs a capability a run never holds or opens a
# large kernel surface; refusing them here means a leaked capability or a kernel bug in that
# code is not reachable from a run.
DENY_EPERM = (
    # No socket of any family, AF_UNIX included: no network, and no rendezvous between runs
    # (abstract AF_UNIX names are shared by every process of a network namespace, and a
    # listening socket in a shared directory is another). socketpair() stays for AF_UNIX
    # (below): Node's child processes and Python's multiprocessing pipes use it. What stops
    # working: Python's multiprocessing managers and forkserver; glibc's nscd lookups fall
    # back to the files, as without nscd.
    "socket",
    # Reading or steering another process (THREATS: "ptrace of the parent").
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    # Reshaping the filesystem view, old and new mount API.
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "open_tree_attr",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    # Namespaces; clone() is checked by flag below, clone3 is refused as a whole.
    "unshare",
    "setns",
    # Kernel keyrings are keyed by uid, not by container: a run could meet keys another
    # tenant's container left under the same uid.
    "keyctl",
    "add_key",
    "request_key",
    # Frequent exploit primitives: in-kernel programs, PMU access, race-widening page faults.
    "bpf",
    "perf_event_open",
    "userfaultfd",
    # File handles bypass path permission checks (the "shocker" container escape).
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    # Anonymous memory files: their pages belong to no process's resident size, and reading a
    # run's /proc/<pid>/fd needs CAP_SYS_PTRACE, so the memory limit could not see them (a run
    # could fill the replica's memory). No runtime here uses them (strace of Python, Node and
    # the JVM with SerialGC); /dev/shm files remain, and those are measured.
    "memfd_create",
    "memfd_secret",
    # Administering the host: kernel images and modules, power, swap, accounting, quotas,
    # the kernel log, clocks, host names, terminals.
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "lookup_dcookie",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "sethostname",
    "setdomainname",
    "vhangup",
    "nfsservctl",
)

# Refused with ENOSYS, so callers take the fallback they already have for older kernels, or
# for kernels built without the feature.
DENY_ENOSYS = (
    # Legacy AIO: io_setup takes its events from aio-max-nr, one budget for the whole host
    # (not per container), so one run could make AIO fail for every tenant. libaio users fall
    # back to threads; no runtime here uses it.
    "io_setup",
    # System V IPC and POSIX message queues: their objects outlive every process of a run and
    # hold memory no resident size shows, and their count limits are shared by every run of the
    # replica (IPC namespace sysctls). As a kernel without CONFIG_SYSVIPC / CONFIG_POSIX_MQUEUE
    # answers. POSIX shared memory and semaphores (files in /dev/shm) are measured instead.
    "shmget",
    "msgget",
    "semget",
    "mq_open",
    # io_uring performs socket(), connect() and openat() inside the kernel, where this filter
    # never sees them; libuv (Node) falls back to its thread pool on ENOSYS.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # clone3's flags live in a struct in memory that seccomp cannot read, so namespace flags
    # could not be checked; glibc falls back to clone(), whose flags are checked below.
    "clone3",
)
# Decided by an argument rather than by number alone.
ARGUMENT_CHECKED = ("socketpair", "clone")


@dataclass(frozen=True)
class Arch:
    """What differs between architectures, besides the syscall numbers (syscalls.py)."""

    audit_arch: int  # AUDIT_ARCH_* from linux/audit.h: EM_* | 64BIT | LE
    x32_bit: bool  # whether numbers with bit 30 set select the x32 ABI
    extra_eperm: tuple[str, ...]  # syscalls only this architecture has


ARCHES: Mapping[str, Arch] = {
    "x86_64": Arch(
        audit_arch=0xC000003E,  # EM_X86_64 (62)
        x32_bit=True,
        # Raw I/O port access, and the legacy a.out loader.
        extra_eperm=("iopl", "ioperm", "uselib"),
    ),
    "aarch64": Arch(audit_arch=0xC00000B7, x32_bit=False, extra_eperm=()),  # EM_AARCH64 (183)
}
# Other spellings of the same machines (BSD-style uname, Docker platform names).
MACHINE_ALIASES: Mapping[str, str] = {"amd64": "x86_64", "arm64": "aarch64"}


class SeccompUnavailable(Exception):
    """Seccomp cannot protect runs here; the message says why (architecture, kernel, ...)."""


@dataclass(frozen=True)
class SeccompFilter:
    """A seccomp program for one architecture, ready for the spawn helper to install."""

    arch: str  # "x86_64" or "aarch64"
    program: bytes  # packed struct sock_filter array, little-endian

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise ValueError(f"arch must be one of {sorted(ARCHES)}, not {self.arch!r}")
        count, rest = divmod(len(self.program), SOCK_FILTER.size)
        if rest or not 0 < count <= MAX_INSTRUCTIONS:
            raise ValueError(
                f"program must be 1 to {MAX_INSTRUCTIONS} instructions of {SOCK_FILTER.size}"
                f" bytes, got {len(self.program)} bytes"
            )


def build_filter(*, machine: str | None = None) -> SeccompFilter:
    """Assemble the filter for ``machine`` (default: this host's ``platform.machine()``).

    The program kills the process on a foreign architecture or an x32 syscall, refuses
    socketpair() for every family but AF_UNIX (EPERM), refuses clone() with a
    namespace flag (EPERM), refuses the syscalls in DENY_EPERM (EPERM) and DENY_ENOSYS
    (ENOSYS), and allows everything else. Raises SeccompUnavailable for an architecture
    without a syscall table here.
    """
    name = normalize_machine(platform.machine() if machine is None else machine)
    if name not in ARCHES:
        raise SeccompUnavailable(
            f"no seccomp syscall table for machine {name!r}; supported: {sorted(ARCHES)}"
        )
    return SeccompFilter(arch=name, program=assemble(program_for(name)))


def policy_syscalls(arch: str) -> tuple[str, ...]:
    """Every syscall the policy names for ``arch``: those generate.py must number."""
    return (*ARGUMENT_CHECKED, *DENY_EPERM, *ARCHES[arch].extra_eperm, *DENY_ENOSYS)


def normalize_machine(machine: str) -> str:
    """``x86_64`` or ``aarch64`` for their other spellings; anything else lower-cased."""
    return MACHINE_ALIASES.get(machine.lower(), machine.lower())


def program_for(arch: str) -> list[Op | str]:
    """The filter for ``arch`` as instructions and label names, for bpf.assemble."""
    spec = ARCHES[arch]
    nr = NUMBERS[arch]
    ops: list[Op | str] = [load(OFFSET_ARCH), jeq(spec.audit_arch, false="kill"), load(OFFSET_NR)]
    if spec.x32_bit:
        # x32 shares AUDIT_ARCH_X86_64 but uses numbers with bit 30 set, so every check below
        # would miss it. Treated like a foreign architecture, as libseccomp does: no runtime
        # here uses x32, and only an attempt to slip past the filter would.
        ops.append(op(JGE_K, 0x40000000, true="kill"))
    # The syscalls whose verdict depends on an argument come first: clone runs for every
    # thread and process, so it should not walk the whole deny list. Syscalls decided by
    # number alone stay cheap anyway: since Linux 5.11 the kernel caches "always allowed"
    # numbers in a bitmap and skips the filter for them.
    ops += [
        jeq(nr["socketpair"], true="socket_family"),
        jeq(nr["clone"], true="clone_flags"),
    ]
    ops += [jeq(nr[name], true="eperm") for name in (*DENY_EPERM, *spec.extra_eperm)]
    ops += [jeq(nr[name], true="enosys") for name in DENY_ENOSYS]
    ops += [
        ret(RET_ALLOW),
        "socket_family",
        load(OFFSET_ARG0_LOW),
        jeq(AF_UNIX, true="allow", false="eperm"),
        "clone_flags",
        load(OFFSET_ARG0_LOW),
        op(JSET_K, CLONE_NAMESPACE_FLAGS, true="eperm", false="allow"),
        "allow",
        ret(RET_ALLOW),
        "eperm",
        ret(RET_ERRNO | EPERM),
        "enosys",
        ret(RET_ERRNO | ENOSYS),
        "kill",
        ret(RET_KILL_PROCESS),
    ]
    return ops
