"""Tests for the seccomp filter: real children try one thing each under it and report the errno."""

import json
import os
import platform
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.sandbox.seccomp import (
    _ARCHES,
    _DENY_ENOSYS,
    _DENY_EPERM,
    SeccompFilter,
    SeccompUnavailable,
    _assemble,
    _jeq,
    _ret,
    build_filter,
    probe_seccomp,
)

CHILD_TIMEOUT_S = 60
RET_ALLOW = 0x7FFF0000
RET_EPERM = 0x00050000 | 1
RET_ENOSYS = 0x00050000 | 38
RET_KILL_PROCESS = 0x80000000
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
AUDIT_ARCH_I386 = 0x40000003
# Written out again here, from the kernel's tables, so a typo in the module cannot hide itself.
SYSCALL_NUMBERS = {
    "x86_64": {"socket": 41, "socketpair": 53, "clone": 56, "getpid": 39, "ptrace": 101,
               "io_uring_setup": 425, "clone3": 435},
    "aarch64": {"socket": 198, "socketpair": 199, "clone": 220, "getpid": 172, "ptrace": 117,
                "io_uring_setup": 425, "clone3": 435},
}  # fmt: skip
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
SIGCHLD = 17
HOST_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine(), platform.machine())

# Every child imports this: raw syscalls through libc, answers as errno names.
CHILD_PRELUDE = """
import ctypes, errno, json, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def raw(nr, *args):
    result = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    return errno.errorcode[ctypes.get_errno()] if result == -1 else "ok"

def clone(nr, flags):
    # Without CLONE_VM and with no new stack, raw clone behaves like fork.
    result = libc.syscall(ctypes.c_long(nr), ctypes.c_long(flags), *[ctypes.c_long(0)] * 4)
    if result == 0:
        os._exit(0)
    if result == -1:
        return errno.errorcode[ctypes.get_errno()]
    os.waitpid(result, 0x40000000)  # __WALL: the exit signal may not be SIGCHLD
    return "ok"

def errno_of(call):
    try:
        call()
    except OSError as exc:
        return errno.errorcode[exc.errno]
    return "ok"
"""


@pytest.fixture(scope="module")
def filt() -> SeccompFilter:
    built = build_filter()
    reason = probe_seccomp(built)
    if reason is not None:
        pytest.fail(f"seccomp does not work on this kernel: {reason}")
    return built


def run_python(
    code: str,
    *,
    filt: SeccompFilter | None,
    executable: str = sys.executable,
    **popen_kwargs: object,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` after CHILD_PRELUDE in a Python child, with ``filt`` installed if given."""
    return run_command([executable, "-I", "-c", CHILD_PRELUDE + code], filt=filt, **popen_kwargs)


def run_command(
    argv: list[str], *, filt: SeccompFilter | None, **popen_kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        preexec_fn=filt.install if filt is not None else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
        # A new session has no controlling terminal, so vhangup() in a child can touch nothing.
        start_new_session=True,
        **popen_kwargs,
    )


def answer(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; the runtime tests need it")
    return path


@pytest.fixture
def loopback_listener() -> Iterator[int]:
    """A listening TCP socket on 127.0.0.1; yields its port. Nothing else is ever contacted."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


# ---- the API ----


def test_probe_accepts_the_filter_on_this_kernel(filt: SeccompFilter) -> None:
    assert probe_seccomp(filt) is None


def test_probe_explains_a_foreign_architecture() -> None:
    other = "aarch64" if HOST_ARCH == "x86_64" else "x86_64"
    reason = probe_seccomp(build_filter(machine=other))
    assert reason is not None
    assert other in reason


def test_install_refuses_a_foreign_architecture() -> None:
    """1. Build the filter for the other architecture. 2. Install it in a child.

    Expected: the spawn fails instead of a child killed at its first syscall.
    """
    other = "aarch64" if HOST_ARCH == "x86_64" else "x86_64"
    with pytest.raises(subprocess.SubprocessError):
        run_command(["/bin/true"], filt=build_filter(machine=other))


def test_build_filter_names_an_unsupported_machine() -> None:
    with pytest.raises(SeccompUnavailable, match="riscv64"):
        build_filter(machine="riscv64")


@pytest.mark.parametrize(("machine", "arch"), [("amd64", "x86_64"), ("ARM64", "aarch64")])
def test_build_filter_accepts_other_spellings(machine: str, arch: str) -> None:
    assert build_filter(machine=machine).arch == arch


def test_build_filter_defaults_to_this_machine() -> None:
    assert build_filter().arch == HOST_ARCH


@pytest.mark.parametrize(
    ("arch", "program"),
    [("x86_64", b""), ("x86_64", b"\0" * 7), ("x86_64", b"\0" * 8 * 4097), ("mips", b"\0" * 8)],
)
def test_filter_rejects_a_malformed_program(arch: str, program: bytes) -> None:
    with pytest.raises(ValueError):
        SeccompFilter(arch=arch, program=program)


def test_filters_compare_by_arch_and_program() -> None:
    assert build_filter(machine="x86_64") == build_filter(machine="x86_64")
    assert build_filter(machine="x86_64") != build_filter(machine="aarch64")
    assert "_prepared" not in repr(build_filter())


# ---- the network: only AF_UNIX ----


@pytest.mark.parametrize(
    ("family", "kind"),
    [
        ("AF_INET", "SOCK_STREAM"),
        ("AF_INET", "SOCK_DGRAM"),
        ("AF_INET6", "SOCK_STREAM"),
        ("AF_PACKET", "SOCK_RAW"),  # needs CAP_NET_RAW; EPERM must come from seccomp first
        ("AF_NETLINK", "SOCK_RAW"),
        ("AF_VSOCK", "SOCK_STREAM"),
    ],
)
def test_socket_of_another_family_is_refused(filt: SeccompFilter, family: str, kind: str) -> None:
    code = f"print(errno_of(lambda: socket.socket(socket.{family}, socket.{kind})))"
    assert answer(run_python(code, filt=filt)) == "EPERM"


def test_socket_is_allowed_without_the_filter() -> None:
    """The control for the test above: the child's code itself can create the socket."""
    code = "print(errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()))"
    assert answer(run_python(code, filt=None)) == "ok"


def test_unix_sockets_and_socketpair_work(filt: SeccompFilter) -> None:
    code = """
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()
left, right = socket.socketpair()
left.sendall(b"ping")
print(right.recv(4).decode())
"""
    assert answer(run_python(code, filt=filt)) == "ping"


def test_socketpair_of_another_family_is_refused(filt: SeccompFilter) -> None:
    code = "print(errno_of(lambda: socket.socketpair(socket.AF_INET)))"
    assert answer(run_python(code, filt=filt)) == "EPERM"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        (1 << 32 | socket.AF_INET, "EPERM"),  # the kernel truncates to AF_INET
        (2 << 32 | socket.AF_UNIX, "ok"),  # the kernel truncates to AF_UNIX
    ],
)
def test_socket_family_high_word_agrees_with_the_kernel(
    filt: SeccompFilter, domain: int, expected: str
) -> None:
    nr = SYSCALL_NUMBERS[HOST_ARCH]["socket"]
    code = f"print(raw({nr}, {domain}, socket.SOCK_STREAM, 0))"
    assert answer(run_python(code, filt=filt)) == expected


def test_python_cannot_connect_to_loopback(filt: SeccompFilter, loopback_listener: int) -> None:
    """1. Listen on 127.0.0.1. 2. A child under the filter calls socket.create_connection.

    Expected: PermissionError; without the filter the same child connects.
    """
    code = f"""
try:
    socket.create_connection(("127.0.0.1", {loopback_listener}), timeout=10).close()
    print("connected")
except PermissionError:
    print("PermissionError")
"""
    assert answer(run_python(code, filt=filt)) == "PermissionError"
    assert answer(run_python(code, filt=None)) == "connected"


def test_node_cannot_connect_to_loopback(filt: SeccompFilter, loopback_listener: int) -> None:
    """1. Listen on 127.0.0.1. 2. Node under the filter calls net.connect.

    Expected: an EPERM error event; without the filter the same script connects.
    """
    script = (
        f"require('net').connect({loopback_listener}, '127.0.0.1')"
        ".on('connect', function () { console.log('connected'); this.destroy(); })"
        ".on('error', (e) => console.log(e.code));"
    )
    node = require_tool("node")
    assert answer(run_command([node, "-e", script], filt=filt)) == "EPERM"
    assert answer(run_command([node, "-e", script], filt=None)) == "connected"


# ---- denied syscalls ----


def test_every_denied_syscall_fails_in_the_kernel(filt: SeccompFilter) -> None:
    """1. In one child under the filter, call each denied syscall with all arguments -1.

    -1 is invalid for every one of them (bad pointer, fd, flags or length), so even a wrong
    number in the table could not make the call act. Expected: EPERM or ENOSYS as listed.
    """
    spec = _ARCHES[filt.arch]
    expected = {name: "EPERM" for name in (*_DENY_EPERM, *spec.extra_eperm)}
    expected |= {name: "ENOSYS" for name in _DENY_ENOSYS}
    numbers = {name: spec.numbers[name] for name in expected}
    code = f"""
numbers = {numbers!r}
print(json.dumps({{name: raw(nr, *[-1] * 6) for name, nr in numbers.items()}}))
"""
    assert json.loads(answer(run_python(code, filt=filt))) == expected


def test_ptrace_is_refused(filt: SeccompFilter) -> None:
    code = """
libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
PTRACE_TRACEME, PTRACE_ATTACH = 0, 16
def call(*args):
    return "ok" if libc.ptrace(*args) != -1 else errno.errorcode[ctypes.get_errno()]
print(call(PTRACE_TRACEME, 0, None, None), call(PTRACE_ATTACH, os.getppid(), None, None))
"""
    assert answer(run_python(code, filt=filt)) == "EPERM EPERM"


@pytest.mark.parametrize("flag", ["CLONE_NEWUSER", "CLONE_NEWNET", "CLONE_NEWNS"])
def test_unshare_is_refused(filt: SeccompFilter, flag: str) -> None:
    code = f"""
result = libc.unshare({CLONE_NAMESPACE_FLAGS[flag]})
print("ok" if result == 0 else errno.errorcode[ctypes.get_errno()])
"""
    assert answer(run_python(code, filt=filt)) == "EPERM"


def test_mount_is_refused(filt: SeccompFilter) -> None:
    # The target does not exist, so without the filter this fails with ENOENT and mounts nothing.
    code = """
result = libc.mount(b"none", b"/nonexistent-seccomp-test", b"tmpfs", 0, None)
print("ok" if result == 0 else errno.errorcode[ctypes.get_errno()])
"""
    assert answer(run_python(code, filt=filt)) == "EPERM"


@pytest.mark.parametrize("name", ["io_uring_setup", "clone3"])
def test_syscalls_with_a_fallback_get_enosys(filt: SeccompFilter, name: str) -> None:
    code = f"print(raw({SYSCALL_NUMBERS[HOST_ARCH][name]}, 0, 0))"
    assert answer(run_python(code, filt=filt)) == "ENOSYS"


@pytest.mark.parametrize("flag", sorted(CLONE_NAMESPACE_FLAGS))
def test_clone_with_a_namespace_flag_is_refused(filt: SeccompFilter, flag: str) -> None:
    nr = SYSCALL_NUMBERS[HOST_ARCH]["clone"]
    code = f"print(clone({nr}, {CLONE_NAMESPACE_FLAGS[flag] | SIGCHLD}))"
    assert answer(run_python(code, filt=filt)) == "EPERM"


# 0x80 is CLONE_NEWTIME for unshare and clone3, but in clone() it is part of the exit signal.
@pytest.mark.parametrize("flags", [SIGCHLD, 0x80 | SIGCHLD, 0x80])
def test_clone_without_namespace_flags_is_allowed(filt: SeccompFilter, flags: int) -> None:
    nr = SYSCALL_NUMBERS[HOST_ARCH]["clone"]
    code = f"print(clone({nr}, {flags}))"
    assert answer(run_python(code, filt=filt)) == "ok"


@pytest.mark.skipif(HOST_ARCH != "x86_64", reason="x32 exists only on x86_64")
def test_x32_syscall_kills_the_process(filt: SeccompFilter) -> None:
    """1. Under the filter, call getpid with the x32 bit set.

    Expected: the process is killed by SIGSYS instead of getting an answer.
    """
    completed = run_python("print(raw(0x40000000 | 39))", filt=filt)
    assert completed.returncode == -signal.SIGSYS, completed


# ---- what programs need keeps working ----


def test_fork_threads_and_subprocesses_work(filt: SeccompFilter) -> None:
    code = """
import subprocess, threading
pid = os.fork()
if pid == 0:
    os._exit(7)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7
seen = []
threads = [threading.Thread(target=seen.append, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert sorted(seen) == list(range(8))
assert subprocess.run(["/bin/true"]).returncode == 0
print("ok")
"""
    assert answer(run_python(code, filt=filt)) == "ok"


def test_install_after_dropping_to_an_unprivileged_uid(filt: SeccompFilter) -> None:
    """1. Spawn as uid/gid 65534 (Popen drops them before preexec_fn). 2. Install the filter.

    Expected: no_new_privs and seccomp mode 2 are set, and AF_INET is refused. The child is
    /usr/bin/python3 because the test interpreter may live under a 0700 home directory.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another uid")
    code = """
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
family = errno_of(lambda: socket.socket(socket.AF_INET))
print(os.getuid(), status["NoNewPrivs"], status["Seccomp"], family)
"""
    completed = run_python(
        code,
        filt=filt,
        executable="/usr/bin/python3",
        user=65534,
        group=65534,
        extra_groups=[],
        cwd="/",
    )
    assert answer(completed) == "65534 1 2 EPERM"


def test_spawning_from_a_busy_multithreaded_parent_works(filt: SeccompFilter) -> None:
    """1. Keep four threads allocating in this process. 2. Spawn children with the filter.

    Expected: every child starts under the filter and exits 0 (install does no work that
    could deadlock on a lock another thread held at fork).
    """
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            _ = [bytes(4096) for _ in range(64)]

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        codes = [run_command(["/bin/true"], filt=filt).returncode for _ in range(30)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert codes == [0] * 30


def test_node_runs(filt: SeccompFilter) -> None:
    completed = run_command([require_tool("node"), "-e", "console.log('hello')"], filt=filt)
    assert answer(completed) == "hello"


def test_node_falls_back_when_io_uring_is_refused(filt: SeccompFilter) -> None:
    """1. Ask libuv to use io_uring. 2. Read a file from Node under the filter.

    Expected: the read succeeds through libuv's thread pool.
    """
    script = "require('fs').readFile('/etc/hostname', (e) => console.log(e ? e.code : 'read'))"
    env = {**os.environ, "UV_USE_IO_URING": "1"}
    completed = run_command([require_tool("node"), "-e", script], filt=filt, env=env)
    assert answer(completed) == "read"


def test_java_version_runs(filt: SeccompFilter) -> None:
    completed = run_command([require_tool("java"), "-version"], filt=filt)
    assert completed.returncode == 0, completed.stderr
    assert "version" in completed.stderr


def test_java_compiles_and_runs_threads(filt: SeccompFilter, tmp_path: Path) -> None:
    """1. Launch a single-file Java program (javac runs inside the JVM). 2. It joins a thread.

    Expected: output from both threads. javac probes AF_INET/AF_INET6 sockets and must
    survive EPERM.
    """
    source = tmp_path / "Hello.java"
    source.write_text(
        "public class Hello { public static void main(String[] a) throws Exception {"
        ' Thread t = new Thread(() -> System.out.println("thread")); t.start(); t.join();'
        ' System.out.println("main"); } }'
    )
    completed = run_command([require_tool("java"), str(source)], filt=filt, cwd=tmp_path)
    assert answer(completed).split() == ["thread", "main"]


# ---- the program itself, on both architectures ----


def run_bpf(program: bytes, *, arch: int, nr: int, arg0: int = 0) -> int:
    """Interpret the filter for one seccomp_data, accepting only the opcodes it should use."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    instructions = list(struct.iter_unpack("<HBBI", program))
    pc = accumulator = 0
    while True:
        code, jt, jf, k = instructions[pc]
        if code == 0x20:  # ld [k]
            (accumulator,) = struct.unpack_from("<I", data, k)
            pc += 1
        elif code == 0x15:  # jeq #k
            pc += 1 + (jt if accumulator == k else jf)
        elif code == 0x35:  # jge #k
            pc += 1 + (jt if accumulator >= k else jf)
        elif code == 0x45:  # jset #k
            pc += 1 + (jt if accumulator & k else jf)
        elif code == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x} at {pc}")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_program_is_well_formed(arch: str) -> None:
    program = build_filter(machine=arch).program
    assert len(program) % 8 == 0
    instructions = list(struct.iter_unpack("<HBBI", program))
    assert 0 < len(instructions) <= 4096
    for index, (code, jt, jf, _) in enumerate(instructions):
        if code & 0x07 == 0x05:  # BPF_JMP: both targets inside the program
            assert index + 1 + max(jt, jf) < len(instructions)
        elif code != 0x06:
            assert (jt, jf) == (0, 0)
    assert instructions[-1][0] == 0x06  # nothing falls off the end


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_program_decides_like_the_policy(arch: str) -> None:
    """Run the program in an interpreter for each rule, so aarch64 is checked on any host."""
    program = build_filter(machine=arch).program
    audit = AUDIT_ARCH[arch]
    nr = SYSCALL_NUMBERS[arch]

    def verdict(name: str, arg0: int = 0) -> int:
        return run_bpf(program, arch=audit, nr=nr[name], arg0=arg0)

    assert verdict("getpid") == RET_ALLOW
    assert verdict("socket", socket.AF_UNIX) == RET_ALLOW
    assert verdict("socket", socket.AF_INET) == RET_EPERM
    assert verdict("socket", socket.AF_INET6) == RET_EPERM
    assert verdict("socketpair", socket.AF_UNIX) == RET_ALLOW
    assert verdict("socketpair", socket.AF_INET) == RET_EPERM
    assert verdict("ptrace") == RET_EPERM
    assert verdict("io_uring_setup") == RET_ENOSYS
    assert verdict("clone3") == RET_ENOSYS
    assert verdict("clone", SIGCHLD) == RET_ALLOW
    # 0x80 is CLONE_NEWTIME elsewhere but part of the exit signal in clone(): not refused.
    assert verdict("clone", 0x80 | SIGCHLD) == RET_ALLOW
    for flag in CLONE_NAMESPACE_FLAGS.values():
        assert verdict("clone", flag | SIGCHLD) == RET_EPERM
    assert run_bpf(program, arch=AUDIT_ARCH_I386, nr=nr["getpid"]) == RET_KILL_PROCESS
    other = "aarch64" if arch == "x86_64" else "x86_64"
    assert run_bpf(program, arch=AUDIT_ARCH[other], nr=nr["getpid"]) == RET_KILL_PROCESS
    if arch == "x86_64":
        assert run_bpf(program, arch=audit, nr=0x40000000 | nr["getpid"]) == RET_KILL_PROCESS


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_every_listed_syscall_is_refused_by_the_program(arch: str) -> None:
    program = build_filter(machine=arch).program
    spec = _ARCHES[arch]
    for name in (*_DENY_EPERM, *spec.extra_eperm):
        verdict = run_bpf(program, arch=spec.audit_arch, nr=spec.numbers[name])
        assert verdict == RET_EPERM, name
    for name in _DENY_ENOSYS:
        verdict = run_bpf(program, arch=spec.audit_arch, nr=spec.numbers[name])
        assert verdict == RET_ENOSYS, name


def test_assembler_resolves_labels_and_refuses_long_jumps() -> None:
    program = _assemble([_jeq(1, true="out"), _ret(0), "out", _ret(RET_ALLOW)])
    assert struct.unpack_from("<HBBI", program) == (0x15, 1, 0, 1)
    with pytest.raises(ValueError, match="spans 256"):
        _assemble([_jeq(1, true="out"), *[_ret(0)] * 256, "out", _ret(RET_ALLOW)])
    with pytest.raises(ValueError, match="unknown label"):
        _assemble([_jeq(1, true="nowhere"), _ret(0)])
    with pytest.raises(ValueError, match="spans -2"):
        _assemble(["back", _ret(0), _jeq(1, true="back"), _ret(0)])


@pytest.mark.parametrize(
    ("arch", "header"),
    [
        ("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
        ("aarch64", "/usr/include/asm-generic/unistd.h"),
    ],
)
def test_syscall_numbers_match_the_kernel_headers(arch: str, header: str) -> None:
    """Names newer than the installed headers are skipped; every other number must match."""
    path = Path(header)
    if not path.exists():
        pytest.skip(f"{header} is not installed")
    defined = {
        match[1]: int(match[2])
        for match in re.finditer(r"^#define __NR_(\w+)\s+(\d+)\s*$", path.read_text(), re.M)
    }
    table = _ARCHES[arch].numbers
    mismatched = {
        n: (nr, defined[n]) for n, nr in table.items() if n in defined and defined[n] != nr
    }
    assert mismatched == {}
    assert len(set(table) & set(defined)) >= len(table) - 2  # only the newest few may be absent
