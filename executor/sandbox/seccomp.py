"""A hand-assembled seccomp-BPF filter: no network but AF_UNIX, no kernel admin surface."""

import ctypes
import functools
import os
import platform
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

# Classic BPF opcodes (linux/bpf_common.h); only the few the filter needs.
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: A = 32-bit word at offset k of seccomp_data
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K (unsigned)
_BPF_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K: true if A & k != 0
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
_BPF_MAXINSNS = 4096  # the kernel refuses longer programs
_BPF_MAX_JUMP = 255  # jt/jf are u8 offsets counted from the next instruction
# struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}. Little-endian on purpose: both supported
# targets are little-endian, and big-endian aarch64 has another AUDIT_ARCH value, so a filter
# built on one host is byte-for-byte right for the other.
_SOCK_FILTER = struct.Struct("<HBBI")

# struct seccomp_data {int nr; u32 arch; u64 instruction_pointer; u64 args[6]}. A 64-bit
# argument's low 32 bits sit at 16 + 8 * i on little-endian; the filter reads only low words,
# because the kernel truncates both arguments it inspects (socket's int family, clone's flags
# via lower_32_bits) before acting on them, so the high word cannot change the outcome.
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0_LOW = 16

_SECCOMP_RET_KILL_PROCESS = 0x80000000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_ALLOW = 0x7FFF0000
# Linux errno values, written out because the program is for the kernel, not for the host.
_EPERM = 1
_ENOSYS = 38

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_AF_UNIX = 1
# Every namespace flag clone() can carry. CLONE_NEWTIME (0x80) is missing on purpose: clone()
# reads its low byte as the exit signal (CSIGNAL), so 0x80 there is part of a signal number and
# the kernel, which does not validate it for legacy clone, starts an ordinary process. A new
# time namespace is reachable only through clone3 and unshare, both refused outright.
_CLONE_NAMESPACE_FLAGS = (
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
_DENY_EPERM = (
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

# Refused with ENOSYS, so callers take the fallback they already have for older kernels.
_DENY_ENOSYS = (
    # io_uring performs socket(), connect() and openat() inside the kernel, where this filter
    # never sees them; libuv (Node) falls back to its thread pool on ENOSYS.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # clone3's flags live in a struct in memory that seccomp cannot read, so namespace flags
    # could not be checked; glibc falls back to clone(), whose flags are checked below.
    "clone3",
)


@dataclass(frozen=True)
class _ArchSpec:
    audit_arch: int  # AUDIT_ARCH_* from linux/audit.h: EM_* | 64BIT | LE
    numbers: Mapping[str, int]  # syscall name → number for this ABI
    extra_eperm: tuple[str, ...]  # syscalls only this architecture has
    x32_bit: bool  # whether numbers with bit 30 set select the x32 ABI


# Numbers from arch/x86/entry/syscalls/syscall_64.tbl; checked against the kernel headers by
# tests/sandbox/test_seccomp.py where they are installed.
_X86_64 = _ArchSpec(
    audit_arch=0xC000003E,  # EM_X86_64 (62)
    x32_bit=True,
    extra_eperm=(
        "iopl",  # raw I/O port access
        "ioperm",
        "uselib",  # legacy a.out loader
    ),
    numbers={
        "socket": 41,
        "socketpair": 53,
        "clone": 56,
        "uselib": 134,
        "vhangup": 153,
        "pivot_root": 155,
        "adjtimex": 159,
        "chroot": 161,
        "acct": 163,
        "settimeofday": 164,
        "mount": 165,
        "umount2": 166,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "sethostname": 170,
        "setdomainname": 171,
        "iopl": 172,
        "ioperm": 173,
        "init_module": 175,
        "delete_module": 176,
        "quotactl": 179,
        "nfsservctl": 180,
        "ptrace": 101,
        "syslog": 103,
        "lookup_dcookie": 212,
        "clock_settime": 227,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "kexec_load": 246,
        "unshare": 272,
        "perf_event_open": 298,
        "fanotify_init": 300,
        "name_to_handle_at": 303,
        "open_by_handle_at": 304,
        "clock_adjtime": 305,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "finit_module": 313,
        "kexec_file_load": 320,
        "bpf": 321,
        "userfaultfd": 323,
        "memfd_create": 319,
        "memfd_secret": 447,
        # From 424 on, numbers are shared by every architecture (include/uapi/asm-generic).
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "clone3": 435,
        "pidfd_getfd": 438,
        "mount_setattr": 442,
        "quotactl_fd": 443,
        "open_tree_attr": 467,
    },
)

# aarch64 uses the generic table, include/uapi/asm-generic/unistd.h.
_AARCH64 = _ArchSpec(
    audit_arch=0xC00000B7,  # EM_AARCH64 (183)
    x32_bit=False,
    extra_eperm=(),
    numbers={
        "lookup_dcookie": 18,
        "umount2": 39,
        "mount": 40,
        "pivot_root": 41,
        "nfsservctl": 42,
        "chroot": 51,
        "vhangup": 58,
        "quotactl": 60,
        "acct": 89,
        "unshare": 97,
        "kexec_load": 104,
        "init_module": 105,
        "delete_module": 106,
        "clock_settime": 112,
        "syslog": 116,
        "ptrace": 117,
        "reboot": 142,
        "sethostname": 161,
        "setdomainname": 162,
        "settimeofday": 170,
        "adjtimex": 171,
        "socket": 198,
        "socketpair": 199,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "swapon": 224,
        "swapoff": 225,
        "perf_event_open": 241,
        "fanotify_init": 262,
        "name_to_handle_at": 264,
        "open_by_handle_at": 265,
        "clock_adjtime": 266,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "finit_module": 273,
        "bpf": 280,
        "userfaultfd": 282,
        "memfd_create": 279,
        "memfd_secret": 447,
        "kexec_file_load": 294,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "clone3": 435,
        "pidfd_getfd": 438,
        "mount_setattr": 442,
        "quotactl_fd": 443,
        "open_tree_attr": 467,
    },
)


_ARCHES: Mapping[str, _ArchSpec] = {"x86_64": _X86_64, "aarch64": _AARCH64}
# Other spellings of the same machines (BSD-style uname, Docker platform names).
_MACHINE_ALIASES: Mapping[str, str] = {"amd64": "x86_64", "arm64": "aarch64"}


class SeccompUnavailable(Exception):
    """Seccomp cannot protect runs here; the message says why (architecture, kernel, ...)."""


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


@dataclass(frozen=True)
class _Prepared:
    """What install() needs, made before fork so that the child only calls prctl twice."""

    prctl: Callable[[int, int, int, int, int], int]
    buffer: ctypes.Array  # the packed program; held here so it lives as long as the filter
    fprog: _SockFprog  # points into buffer
    fprog_address: int
    native: bool  # whether this process runs the ABI the program was built for


@dataclass(frozen=True)
class _Op:
    """One BPF instruction whose jumps name labels, resolved by ``_assemble``."""

    code: int
    k: int
    true: str | None = None  # label to jump to when the test holds; None: next instruction
    false: str | None = None


@dataclass(frozen=True)
class SeccompFilter:
    """A ready-to-install seccomp program for one architecture.

    Build it with ``build_filter`` in the parent, then call ``install`` in the child between
    fork and exec. Constructing one loads nothing new: it looks up ``prctl`` in the already
    loaded libc and copies ``program`` into a buffer that lives as long as the filter.
    """

    arch: str  # "x86_64" or "aarch64"
    program: bytes  # packed struct sock_filter array, little-endian
    _prepared: _Prepared = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.arch not in _ARCHES:
            raise ValueError(f"arch must be one of {sorted(_ARCHES)}, not {self.arch!r}")
        count, rest = divmod(len(self.program), _SOCK_FILTER.size)
        if rest or not 0 < count <= _BPF_MAXINSNS:
            raise ValueError(
                f"program must be 1 to {_BPF_MAXINSNS} instructions of {_SOCK_FILTER.size}"
                f" bytes, got {len(self.program)} bytes"
            )
        buffer = ctypes.create_string_buffer(self.program, len(self.program))
        fprog = _SockFprog(count, ctypes.addressof(buffer))
        # Fixed argument types let the call in the child pass plain ints without guessing;
        # use_errno makes ctypes save errno right after the call, before Python can clobber it.
        prototype = ctypes.CFUNCTYPE(
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_ulong,
            use_errno=True,
        )
        # dlopen(NULL) searches what is already loaded, so this opens no file.
        prctl = prototype(("prctl", ctypes.CDLL(None, use_errno=True)))
        # A 32-bit interpreter on a 64-bit kernel presents another AUDIT_ARCH and would be killed.
        native = _normalize_machine(platform.machine()) == self.arch and sys.maxsize > 2**32
        prepared = _Prepared(
            prctl=prctl,
            buffer=buffer,
            fprog=fprog,
            fprog_address=ctypes.addressof(fprog),
            native=native,
        )
        object.__setattr__(self, "_prepared", prepared)

    def install(self) -> None:
        """Set no_new_privs, then install the filter on the calling thread; irreversible.

        Meant for a child between fork and exec (``Popen(preexec_fn=filter.install)``): it
        makes two prctl calls and nothing else, so it is safe after a multi-threaded fork and
        works after root is dropped (no_new_privs is what lets an unprivileged process install
        a filter). Raises OSError with the kernel's errno if either prctl fails (EINVAL: kernel
        without seccomp filters; EACCES: no_new_privs did not hold), and SeccompUnavailable if
        the filter was built for another architecture, which would kill the process at its
        next syscall.
        """
        prepared = self._prepared
        if not prepared.native:
            raise SeccompUnavailable(f"filter built for {self.arch} cannot run on this ABI")
        if prepared.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(error)}")
        address = prepared.fprog_address
        if prepared.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, address, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_SECCOMP): {os.strerror(error)}")


def build_filter(*, machine: str | None = None) -> SeccompFilter:
    """Assemble the filter for ``machine`` (default: this host's ``platform.machine()``).

    The program kills the process on a foreign architecture or an x32 syscall, refuses
    socket() and socketpair() for every family but AF_UNIX (EPERM), refuses clone() with a
    namespace flag (EPERM), refuses the syscalls in ``_DENY_EPERM`` (EPERM) and
    ``_DENY_ENOSYS`` (ENOSYS), and allows everything else. Raises SeccompUnavailable for an
    architecture without a syscall table here.
    """
    name = _normalize_machine(platform.machine() if machine is None else machine)
    spec = _ARCHES.get(name)
    if spec is None:
        raise SeccompUnavailable(
            f"no seccomp syscall table for machine {name!r}; supported: {sorted(_ARCHES)}"
        )
    return SeccompFilter(arch=name, program=_assemble(_policy(spec)))


def probe_seccomp(filter: SeccompFilter, *, timeout_ms: int = 10_000) -> str | None:
    """Check that ``filter`` installs and works here by running one short child under it.

    Returns None when a child installed the filter, was then refused an AF_INET socket and
    could open an AF_UNIX one, and exec'd /bin/true; otherwise a readable reason (kernel refused the
    filter, child killed, socket not refused, no answer within ``timeout_ms``). Never raises
    for those outcomes, so the caller can record the reason and run without this layer.
    """
    if not filter._prepared.native:
        return f"filter built for {filter.arch}, but this process runs {platform.machine()}"
    # The child writes the real exception here: Popen reports any failure in preexec_fn as a
    # bare "Exception occurred in preexec_fn", which would hide the errno.
    read_fd, write_fd = os.pipe()
    try:
        # The checks run in the child right after the install, before exec: a probe costs one
        # fork and an exec of /bin/true, not an interpreter start.
        completed = subprocess.run(
            ["/bin/true"],
            preexec_fn=functools.partial(_install_and_check, filter, report_fd=write_fd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout_ms / 1000,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"probe child under seccomp gave no answer within {timeout_ms} ms"
    except subprocess.SubprocessError as exc:
        os.close(write_fd)
        write_fd = -1
        detail = _read_all(read_fd).decode(errors="replace") or str(exc)
        return f"seccomp probe failed: {detail}"
    finally:
        if write_fd != -1:
            os.close(write_fd)
        os.close(read_fd)
    code = completed.returncode
    if code == 0:
        return None
    if code < 0:
        return f"probe child under seccomp was killed by {signal.Signals(-code).name}"
    return f"probe child under seccomp exited with {code}"


def _normalize_machine(machine: str) -> str:
    return _MACHINE_ALIASES.get(machine.lower(), machine.lower())


# ---- the program ----


def _policy(spec: _ArchSpec) -> list[_Op | str]:
    """The filter as a list of instructions and label names, for ``_assemble``."""
    nr = spec.numbers
    ops: list[_Op | str] = [
        _load(_OFFSET_ARCH),
        _jeq(spec.audit_arch, false="kill"),
        _load(_OFFSET_NR),
    ]
    if spec.x32_bit:
        # x32 shares AUDIT_ARCH_X86_64 but uses numbers with bit 30 set, so every check below
        # would miss it. Treated like a foreign architecture, as libseccomp does: no runtime
        # here uses x32, and only an attempt to slip past the filter would.
        ops.append(_op(_BPF_JGE_K, 0x40000000, true="kill"))
    # The three syscalls whose verdict depends on an argument come first: clone runs for every
    # thread and process, so it should not walk the whole deny list. Syscalls decided by
    # number alone stay cheap anyway: since Linux 5.11 the kernel caches "always allowed"
    # numbers in a bitmap and skips the filter for them.
    ops += [
        _jeq(nr["socket"], true="socket_family"),
        _jeq(nr["socketpair"], true="socket_family"),
        _jeq(nr["clone"], true="clone_flags"),
    ]
    ops += [_jeq(nr[name], true="eperm") for name in (*_DENY_EPERM, *spec.extra_eperm)]
    ops += [_jeq(nr[name], true="enosys") for name in _DENY_ENOSYS]
    ops += [
        _ret(_SECCOMP_RET_ALLOW),
        "socket_family",
        _load(_OFFSET_ARG0_LOW),
        _jeq(_AF_UNIX, true="allow", false="eperm"),
        "clone_flags",
        _load(_OFFSET_ARG0_LOW),
        _op(_BPF_JSET_K, _CLONE_NAMESPACE_FLAGS, true="eperm", false="allow"),
        "allow",
        _ret(_SECCOMP_RET_ALLOW),
        "eperm",
        _ret(_SECCOMP_RET_ERRNO | _EPERM),
        "enosys",
        _ret(_SECCOMP_RET_ERRNO | _ENOSYS),
        "kill",
        _ret(_SECCOMP_RET_KILL_PROCESS),
    ]
    return ops


# ---- a tiny assembler: instructions name their jump targets; _assemble resolves them ----
def _op(code: int, k: int, *, true: str | None = None, false: str | None = None) -> _Op:
    return _Op(code=code, k=k, true=true, false=false)


def _load(offset: int) -> _Op:
    return _op(_BPF_LD_W_ABS, offset)


def _jeq(value: int, *, true: str | None = None, false: str | None = None) -> _Op:
    return _op(_BPF_JEQ_K, value, true=true, false=false)


def _ret(action: int) -> _Op:
    return _op(_BPF_RET_K, action)


def _assemble(items: Iterable[_Op | str]) -> bytes:
    """Pack instructions, turning label names into forward offsets; a string marks a label.

    Raises ValueError for a duplicate or unknown label, a backward jump, or a jump longer
    than 255 instructions (classic BPF offsets are one byte).
    """
    ops: list[_Op] = []
    labels: dict[str, int] = {}
    for item in items:
        if isinstance(item, str):
            if item in labels:
                raise ValueError(f"label {item!r} defined twice")
            labels[item] = len(ops)
        else:
            ops.append(item)

    def offset(index: int, label: str | None) -> int:
        if label is None:
            return 0
        if label not in labels:
            raise ValueError(f"jump to unknown label {label!r}")
        distance = labels[label] - index - 1
        if not 0 <= distance <= _BPF_MAX_JUMP:
            raise ValueError(f"jump from {index} to {label!r} spans {distance} instructions")
        return distance

    return b"".join(
        _SOCK_FILTER.pack(op.code, offset(i, op.true), offset(i, op.false), op.k)
        for i, op in enumerate(ops)
    )


def _install_and_check(filter: SeccompFilter, *, report_fd: int) -> None:
    # Runs in the probe child: install, then AF_UNIX must open and AF_INET must be refused.
    try:
        filter.install()
        socket.socket(socket.AF_UNIX).close()
        try:
            socket.socket(socket.AF_INET).close()
        except PermissionError:
            return
        raise RuntimeError("filter installed, but an AF_INET socket could still be opened")
    except BaseException as exc:
        os.write(report_fd, f"{type(exc).__name__}: {exc}".encode()[:1024])
        raise


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)
