"""The network namespace a uid's runs take turns in (netns.py): shared by that uid's runs only,
emptied by the uid's cleanup, and not a run's to change."""

import asyncio
import os
import subprocess
import time
from pathlib import Path

from executor.sandbox.child import plan_child
from executor.sandbox.identity import RunIdentity
from executor.sandbox.netns import NetworkNamespaces
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.spec import ResourceLimits

UID = 1_991_000
LIMITS = ResourceLimits(
    cpu_time_ms=5000, wall_time_ms=10000, memory_kb=262144, output_kb=64, processes=8,
    file_size_kb=64, open_files=64, address_space_kb=None,
)  # fmt: skip
NAME = "\\0executor-netns-test"
# Listens on an abstract AF_UNIX name (seccomp is off in these runs, so socket() works: the
# namespace is then what keeps runs apart), says so, and stays.
HOLDER = (
    "import socket, time\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    f"s.bind('{NAME}')\n"
    "s.listen()\n"
    "print('listening', flush=True)\n"
    "time.sleep(60)\n"
)
# Reports its namespace, whether the name answers, and whether it may bring the loopback up.
PROBE = (
    "import errno, fcntl, os, socket, struct\n"
    "print(os.readlink('/proc/self/ns/net'))\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "try:\n"
    f"    s.connect('{NAME}')\n"
    "    print('connected')\n"
    "except OSError as e:\n"
    "    print(errno.errorcode[e.errno])\n"
    "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "try:\n"
    "    fcntl.ioctl(u, 0x8914, struct.pack('16sH14x', b'lo', 1))  # SIOCSIFFLAGS: IFF_UP\n"
    "    print('loopback up')\n"
    "except OSError as e:\n"
    "    print(errno.errorcode[e.errno])\n"
)


def start(
    helper: SpawnHelper, code: str, uid: int, namespaces: NetworkNamespaces, out: Path
) -> subprocess.Popen[bytes]:
    plan = plan_child(
        LIMITS,
        identity=RunIdentity(uid, uid),
        seccomp=False,
        namespaces=True,
        private_tmp=None,
        network_namespace=namespaces.path_for(uid),
    )
    with open(out, "wb") as f:
        return asyncio.run(helper.spawn(
            plan, ("/usr/bin/python3", "-c", code), cwd="/", env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL, stdout=f.fileno(), stderr=subprocess.STDOUT,
        ))  # fmt: skip


def has_cap_sys_admin() -> bool:
    with open("/proc/self/status") as status:
        effective = next(line for line in status if line.startswith("CapEff:"))
    return bool(int(effective.split()[1], 16) & (1 << 21))  # CAP_SYS_ADMIN


def probe(helper: SpawnHelper, uid: int, namespaces: NetworkNamespaces, out: Path) -> list[str]:
    start(helper, PROBE, uid, namespaces, out).wait(timeout=30)
    return out.read_text().split()


def test_a_uids_runs_share_its_namespace_and_its_cleanup_empties_it(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """1. A run of uid A listens on an abstract socket name, and stays.
    2. While it does, a run of A and a run of uid B connect to that name and report their
       network namespace.
    3. Kill every process of A, as a run's cleanup does; a run of A connects again.
    Expected: the runs of A are in one namespace, not the service's, and reach the listener
    (runs of one uid share it; the service never runs two of a uid at once); B's is another
    namespace, where the name does not exist (ECONNREFUSED); after A's cleanup nothing of the
    first run is left in A's namespace (ECONNREFUSED). No run may bring the loopback up
    (EPERM): what could outlast a run needs CAP_NET_ADMIN. Where network namespaces cannot be
    made (no CAP_SYS_ADMIN), none is offered to join."""
    namespaces = NetworkNamespaces()
    if namespaces.path_for(UID) is None:
        assert not has_cap_sys_admin()  # only where the kernel refuses (the layer is off there)
        return
    a, b = RunIdentity(UID, UID), RunIdentity(UID + 1, UID + 1)
    holder = start(helper, HOLDER, a.uid, namespaces, tmp_path / "holder")
    try:
        deadline = time.monotonic() + 30
        while (tmp_path / "holder").read_text() != "listening\n":
            assert holder.poll() is None and time.monotonic() < deadline, (
                tmp_path / "holder"
            ).read_text()
            time.sleep(0.02)
        same = probe(helper, a.uid, namespaces, tmp_path / "a1")
        other = probe(helper, b.uid, namespaces, tmp_path / "b")
        helper.kill_all(a)
        assert holder.wait(timeout=10) == -9
        after = probe(helper, a.uid, namespaces, tmp_path / "a2")
    finally:
        helper.kill_all(a)
        helper.kill_all(b)
        namespaces.close()
    service = os.readlink("/proc/self/ns/net")
    assert same[1:] == ["connected", "EPERM"], same
    assert other[1:] == ["ECONNREFUSED", "EPERM"], other
    assert after == [same[0], "ECONNREFUSED", "EPERM"], after
    assert len({service, same[0], other[0]}) == 3
