"""The seccomp filter in the kernel: real children, started through the spawn helper with the
filter installed, try one thing each and report the errno."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.sandbox.seccomp import build_filter
from executor.sandbox.seccomp.policy import ARCHES, DENY_ENOSYS, DENY_EPERM
from executor.sandbox.seccomp.syscalls import NUMBERS
from executor.sandbox.spawn import SpawnHelper, load_helper
from tests.sandbox.seccomp.kernel import CLONE_NAMESPACE_FLAGS, HOST_ARCH, SIGCHLD, SYSCALL_NUMBERS

CHILD_TIMEOUT_S = 60

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
def filt(helper: SpawnHelper) -> SpawnHelper:
    """The spawn helper holding this machine's filter, checked to work on this kernel."""
    reason = helper.check_seccomp()
    if reason is not None:
        pytest.fail(f"seccomp does not work on this kernel: {reason}")
    return helper


def run_python(
    code: str,
    *,
    filt: SpawnHelper | None,
    executable: str = sys.executable,
    helper_options: tuple[str, ...] = (),
    **popen_kwargs: object,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` after CHILD_PRELUDE in a Python child, under ``filt``'s filter if given."""
    argv = [executable, "-I", "-c", CHILD_PRELUDE + code]
    return run_command(argv, filt=filt, helper_options=helper_options, **popen_kwargs)


def run_command(
    argv: list[str],
    *,
    filt: SpawnHelper | None,
    helper_options: tuple[str, ...] = (),
    **popen_kwargs: object,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; with ``filt``, through the spawn helper, which installs the filter (and
    applies ``helper_options``, e.g. a uid) right before exec, as for every run."""
    pass_fds: tuple[int, ...] = ()
    if filt is not None:
        assert filt.filter_fd is not None
        argv = [filt.path, *helper_options, "-s", str(filt.filter_fd), "--", *argv]
        pass_fds = (filt.filter_fd,)
    return subprocess.run(
        argv,
        pass_fds=pass_fds,
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


# ---- the layer's probe ----


def test_the_probe_accepts_the_filter_on_this_kernel(filt: SpawnHelper) -> None:
    assert filt.check_seccomp() is None


def test_the_probe_refuses_a_filter_for_another_architecture(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """1. Build the filter for the other architecture. 2. Probe it through the helper.

    Expected: the probe reports a problem (the child is killed at its first syscall) instead
    of accepting a filter that would kill every run.
    """
    other = "aarch64" if HOST_ARCH == "x86_64" else "x86_64"
    foreign = load_helper(
        prebuilt=helper.path, cache_dir=str(tmp_path), seccomp=build_filter(machine=other)
    )
    assert foreign.check_seccomp() is not None


def test_the_probe_refuses_a_filter_that_lets_sockets_through(
    helper: SpawnHelper,
) -> None:
    """The helper's check mode finds AF_INET allowed by a filter that allows everything
    (seccomp's RET_ALLOW as the whole program)."""
    allow_all = (0x06).to_bytes(2, "little") + bytes(2) + (0x7FFF0000).to_bytes(4, "little")
    fd = os.memfd_create("allow-all", os.MFD_CLOEXEC)
    os.write(fd, allow_all)
    try:
        problem = SpawnHelper(path=helper.path, filter_fd=fd).check_seccomp()
    finally:
        os.close(fd)
    assert problem is not None and "AF_INET" in problem


# ---- no sockets, only AF_UNIX socket pairs ----


@pytest.mark.parametrize(
    ("family", "kind"),
    [
        ("AF_UNIX", "SOCK_STREAM"),  # a rendezvous between runs: abstract names are shared
        ("AF_UNIX", "SOCK_DGRAM"),
        ("AF_INET", "SOCK_STREAM"),
        ("AF_INET", "SOCK_DGRAM"),
        ("AF_INET6", "SOCK_STREAM"),
        ("AF_PACKET", "SOCK_RAW"),  # needs CAP_NET_RAW; EPERM must come from seccomp first
        ("AF_NETLINK", "SOCK_RAW"),
        ("AF_VSOCK", "SOCK_STREAM"),
    ],
)
def test_a_socket_of_any_family_is_refused(filt: SpawnHelper, family: str, kind: str) -> None:
    code = f"print(errno_of(lambda: socket.socket(socket.{family}, socket.{kind})))"
    assert answer(run_python(code, filt=filt)) == "EPERM"


def test_socket_is_allowed_without_the_filter() -> None:
    """The control for the test above: the child's code itself can create the socket."""
    code = "print(errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()))"
    assert answer(run_python(code, filt=None)) == "ok"


def test_unix_socket_pairs_work(filt: SpawnHelper) -> None:
    code = """
socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
left, right = socket.socketpair()
left.sendall(b"ping")
print(right.recv(4).decode())
"""
    assert answer(run_python(code, filt=filt)) == "ping"


def test_socketpair_of_another_family_is_refused(filt: SpawnHelper) -> None:
    code = "print(errno_of(lambda: socket.socketpair(socket.AF_INET)))"
    assert answer(run_python(code, filt=filt)) == "EPERM"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        (1 << 32 | socket.AF_INET, "EPERM"),  # the kernel truncates to AF_INET
        (2 << 32 | socket.AF_UNIX, "ok"),  # the kernel truncates to AF_UNIX
    ],
)
def test_socketpair_family_high_word_agrees_with_the_kernel(
    filt: SpawnHelper, domain: int, expected: str
) -> None:
    nr = SYSCALL_NUMBERS[HOST_ARCH]["socketpair"]
    code = f"""
pair = (ctypes.c_int * 2)()
result = libc.syscall(ctypes.c_long({nr}), ctypes.c_long({domain}), ctypes.c_long(1),
                      ctypes.c_long(0), ctypes.c_void_p(ctypes.addressof(pair)))
print(errno.errorcode[ctypes.get_errno()] if result == -1 else "ok")
"""
    assert answer(run_python(code, filt=filt)) == expected


def test_python_multiprocessing_works_but_managers_do_not(filt: SpawnHelper) -> None:
    """1. Under the filter: a process pool, a queue, POSIX shared memory and a lock (a POSIX
    semaphore in /dev/shm). 2. A manager (it listens on an AF_UNIX socket).
    Expected: the first four work; the manager's server process fails with PermissionError
    and the manager with EOFError."""
    code = """
import multiprocessing as mp
from multiprocessing import shared_memory
def square(x):
    return x * x
with mp.Pool(2) as pool:
    squares = pool.map(square, range(4))
queue = mp.Queue()
queue.put("q")
memory = shared_memory.SharedMemory(create=True, size=4096)
memory.buf[0] = 7
seen = memory.buf[0]
memory.close()
memory.unlink()
with mp.Lock():
    pass
try:
    mp.Manager()
    manager = "started"
except EOFError:
    manager = "refused"
print(squares, queue.get(), seen, manager)
"""
    completed = run_python(code, filt=filt, executable="/usr/bin/python3", cwd="/")
    assert answer(completed) == "[0, 1, 4, 9] q 7 refused"
    assert "PermissionError" in completed.stderr


def test_node_child_processes_work(filt: SpawnHelper, tmp_path: Path) -> None:
    """Node's child_process (stdio over socket pairs) and fork's IPC channel under the filter."""
    (tmp_path / "child.js").write_text("process.send('from child')\n")
    script = (
        "const cp = require('child_process');"
        "const out = cp.spawnSync(process.execPath, ['-e', 'console.log(6 * 7)']).stdout;"
        f"const child = cp.fork({str(tmp_path / 'child.js')!r});"
        "child.on('message', (m) => { console.log(String(out).trim(), m); child.kill(); });"
    )
    completed = run_command([require_tool("node"), "-e", script], filt=filt)
    assert answer(completed) == "42 from child"


def test_python_cannot_connect_to_loopback(filt: SpawnHelper, loopback_listener: int) -> None:
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


def test_node_cannot_connect_to_loopback(filt: SpawnHelper, loopback_listener: int) -> None:
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


def test_every_denied_syscall_fails_in_the_kernel(filt: SpawnHelper) -> None:
    """1. In one child under the filter, call each denied syscall with all arguments -1.

    -1 is invalid for every one of them (bad pointer, fd, flags or length), so even a wrong
    number in the table could not make the call act. Expected: EPERM or ENOSYS as listed.
    """
    expected = {name: "EPERM" for name in (*DENY_EPERM, *ARCHES[HOST_ARCH].extra_eperm)}
    expected |= {name: "ENOSYS" for name in DENY_ENOSYS}
    numbers = {name: NUMBERS[HOST_ARCH][name] for name in expected}
    code = f"""
numbers = {numbers!r}
print(json.dumps({{name: raw(nr, *[-1] * 6) for name, nr in numbers.items()}}))
"""
    assert json.loads(answer(run_python(code, filt=filt))) == expected


def test_ptrace_is_refused(filt: SpawnHelper) -> None:
    code = """
libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
PTRACE_TRACEME, PTRACE_ATTACH = 0, 16
def call(*args):
    return "ok" if libc.ptrace(*args) != -1 else errno.errorcode[ctypes.get_errno()]
print(call(PTRACE_TRACEME, 0, None, None), call(PTRACE_ATTACH, os.getppid(), None, None))
"""
    assert answer(run_python(code, filt=filt)) == "EPERM EPERM"


@pytest.mark.parametrize("flag", ["CLONE_NEWUSER", "CLONE_NEWNET", "CLONE_NEWNS"])
def test_unshare_is_refused(filt: SpawnHelper, flag: str) -> None:
    code = f"""
result = libc.unshare({CLONE_NAMESPACE_FLAGS[flag]})
print("ok" if result == 0 else errno.errorcode[ctypes.get_errno()])
"""
    assert answer(run_python(code, filt=filt)) == "EPERM"


def test_mount_is_refused(filt: SpawnHelper) -> None:
    # The target does not exist, so without the filter this fails with ENOENT and mounts nothing.
    code = """
result = libc.mount(b"none", b"/nonexistent-seccomp-test", b"tmpfs", 0, None)
print("ok" if result == 0 else errno.errorcode[ctypes.get_errno()])
"""
    assert answer(run_python(code, filt=filt)) == "EPERM"


@pytest.mark.parametrize("name", ["io_uring_setup", "clone3"])
def test_syscalls_with_a_fallback_get_enosys(filt: SpawnHelper, name: str) -> None:
    code = f"print(raw({SYSCALL_NUMBERS[HOST_ARCH][name]}, 0, 0))"
    assert answer(run_python(code, filt=filt)) == "ENOSYS"


@pytest.mark.parametrize("flag", sorted(CLONE_NAMESPACE_FLAGS))
def test_clone_with_a_namespace_flag_is_refused(filt: SpawnHelper, flag: str) -> None:
    nr = SYSCALL_NUMBERS[HOST_ARCH]["clone"]
    code = f"print(clone({nr}, {CLONE_NAMESPACE_FLAGS[flag] | SIGCHLD}))"
    assert answer(run_python(code, filt=filt)) == "EPERM"


# 0x80 is CLONE_NEWTIME for unshare and clone3, but in clone() it is part of the exit signal.
@pytest.mark.parametrize("flags", [SIGCHLD, 0x80 | SIGCHLD, 0x80])
def test_clone_without_namespace_flags_is_allowed(filt: SpawnHelper, flags: int) -> None:
    nr = SYSCALL_NUMBERS[HOST_ARCH]["clone"]
    code = f"print(clone({nr}, {flags}))"
    assert answer(run_python(code, filt=filt)) == "ok"


@pytest.mark.skipif(HOST_ARCH != "x86_64", reason="x32 exists only on x86_64")
def test_x32_syscall_kills_the_process(filt: SpawnHelper) -> None:
    """1. Under the filter, call getpid with the x32 bit set.

    Expected: the process is killed by SIGSYS instead of getting an answer.
    """
    completed = run_python("print(raw(0x40000000 | 39))", filt=filt)
    assert completed.returncode == -signal.SIGSYS, completed


# ---- what programs need keeps working ----


def test_fork_threads_and_subprocesses_work(filt: SpawnHelper) -> None:
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


def test_install_after_dropping_to_an_unprivileged_uid(filt: SpawnHelper) -> None:
    """1. The helper drops to uid/gid 65534. 2. It installs the filter as that uid.

    Expected: no_new_privs and seccomp mode 2 are set, and AF_INET is refused. The child is
    /usr/bin/python3 because the test interpreter may live under a 0700 home directory.
    """
    code = """
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
family = errno_of(lambda: socket.socket(socket.AF_INET))
print(os.getuid(), status["NoNewPrivs"], status["Seccomp"], family)
"""
    completed = run_python(
        code,
        filt=filt,
        executable="/usr/bin/python3",
        helper_options=("-u", "65534", "-g", "65534"),
        cwd="/",
    )
    assert answer(completed) == "65534 1 2 EPERM"


@pytest.mark.system
def test_spawning_from_a_busy_multithreaded_parent_works(filt: SpawnHelper) -> None:
    """1. Keep four threads allocating in this process. 2. Spawn children with the filter.

    Expected: every child starts under the filter and exits 0 (nothing between fork and exec
    runs Python, so no lock another thread held at fork can deadlock the child).
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


def test_node_runs(filt: SpawnHelper) -> None:
    completed = run_command([require_tool("node"), "-e", "console.log('hello')"], filt=filt)
    assert answer(completed) == "hello"


def test_node_falls_back_when_io_uring_is_refused(filt: SpawnHelper) -> None:
    """1. Ask libuv to use io_uring. 2. Read a file from Node under the filter.

    Expected: the read succeeds through libuv's thread pool.
    """
    script = "require('fs').readFile('/etc/hostname', (e) => console.log(e ? e.code : 'read'))"
    env = {**os.environ, "UV_USE_IO_URING": "1"}
    completed = run_command([require_tool("node"), "-e", script], filt=filt, env=env)
    assert answer(completed) == "read"


@pytest.mark.system
def test_java_version_runs(filt: SpawnHelper) -> None:
    completed = run_command([require_tool("java"), "-version"], filt=filt)
    assert completed.returncode == 0, completed.stderr
    assert "version" in completed.stderr


@pytest.mark.system
def test_java_compiles_and_runs_threads(filt: SpawnHelper, tmp_path: Path) -> None:
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
