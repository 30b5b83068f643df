"""The native spawn helper: each setup step really applied, acting on a uid, and built once."""

import asyncio
import ctypes
import os
import resource
import subprocess
from pathlib import Path

import pytest

from executor.sandbox.child import plan_child
from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import sysv_ipc_objects
from executor.sandbox.spawn import SpawnError, SpawnHelper, load_helper
from executor.sandbox.spec import ResourceLimits

UID = 1_990_000
LIMITS = ResourceLimits(
    cpu_time_ms=2000, wall_time_ms=5000, memory_kb=131072, output_kb=64, processes=17,
    file_size_kb=3, open_files=33, address_space_kb=262144,
)  # fmt: skip
REPORT = (
    "import os, resource\n"
    "print(os.getuid(), os.getgid(), os.getgroups())\n"
    "print(resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrlimit(resource.RLIMIT_NPROC))\n"
    "print(resource.getrlimit(resource.RLIMIT_FSIZE), resource.getrlimit(resource.RLIMIT_AS))\n"
    "s = open('/proc/self/status').read()\n"
    "print([l for l in s.splitlines() if l.startswith(('NoNewPrivs', 'Seccomp:'))])\n"
    "print(open('/proc/self/oom_score_adj').read().strip())\n"
    "import socket\n"
    "try:\n"
    "    socket.socket(socket.AF_INET)\n"
    "    print('inet allowed')\n"
    "except PermissionError:\n"
    "    print('inet refused')\n"
)


def run(
    helper: SpawnHelper,
    argv: tuple[str, ...],
    *,
    identity: RunIdentity | None = None,
    tmp_path: Path,
) -> str:
    plan = plan_child(LIMITS, identity=identity, seccomp=True, namespaces=False, private_tmp=None)
    out = tmp_path / "out"
    with open(out, "wb") as f:
        proc = asyncio.run(helper.spawn(
            plan, argv, cwd=str(tmp_path), env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL, stdout=f.fileno(), stderr=subprocess.STDOUT,
        ))  # fmt: skip
        proc.wait()
    return out.read_text()


def test_every_step_is_applied(helper: SpawnHelper, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    report = run(
        helper,
        ("/usr/bin/python3", "-c", REPORT),
        identity=RunIdentity(UID, UID),
        tmp_path=tmp_path,
    )
    lines = report.splitlines()
    assert lines[0] == f"{UID} {UID} []", report
    assert lines[1] == "(33, 33) (17, 17)"
    assert lines[2] == f"(3072, 3072) ({262144 * 1024}, {262144 * 1024})"
    assert lines[3] == "['NoNewPrivs:\\t1', 'Seccomp:\\t2']"
    assert lines[4] == "1000"
    assert lines[5] == "inet refused"


def test_a_missing_program_is_a_spawn_error(helper: SpawnHelper, tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="/no/such/interpreter"):
        run(helper, ("/no/such/interpreter",), tmp_path=tmp_path)


def test_query_and_kill_every_process_of_a_uid(helper: SpawnHelper) -> None:
    """1. Nothing runs as the uid: any_alive is false. 2. Two sleepers run as it (one in its own
    session). 3. kill_all as the uid. Expected: any_alive true before, false after."""
    identity = RunIdentity(UID + 1, UID + 1)
    assert helper.any_alive(identity) is False
    sleepers = [
        subprocess.Popen(
            ["sleep", "60"],
            user=identity.uid,
            group=identity.gid,
            extra_groups=[],
            start_new_session=new_session,
        )
        for new_session in (False, True)
    ]
    assert helper.any_alive(identity) is True
    helper.kill_all(identity)
    assert [s.wait(timeout=10) for s in sleepers] == [-9, -9]
    assert helper.any_alive(identity) is False


def test_the_helper_is_rebuilt_only_when_its_source_changes(tmp_path: Path) -> None:
    first = load_helper(prebuilt="", cache_dir=str(tmp_path), seccomp=None)
    mtime = os.stat(first.path).st_mtime_ns
    second = load_helper(prebuilt="", cache_dir=str(tmp_path), seccomp=None)
    assert second.path == first.path and os.stat(second.path).st_mtime_ns == mtime
    assert oct(os.stat(first.path).st_mode & 0o7777) == "0o755"


def test_rlimit_core_is_zero(helper: SpawnHelper, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_CORE))"
    report = run(helper, ("/usr/bin/python3", "-c", code), tmp_path=tmp_path)
    assert report.strip() == "(0, 0)"
    assert resource.RLIMIT_CORE == 4  # the number the helper is given


def test_remove_ipc_removes_the_uids_objects_only(helper: SpawnHelper) -> None:
    """1. Root makes two System V shared memory segments and gives one to the uid.
    2. The helper removes the uid's objects, as the uid. Expected: that one gone, root's kept."""
    identity = RunIdentity(UID + 2, UID + 2)
    libc = ctypes.CDLL(None, use_errno=True)
    theirs, ours = (libc.shmget(0, 4096, 0o1000 | 0o600) for _ in range(2))  # IPC_PRIVATE|CREAT
    assert theirs >= 0 and ours >= 0, ctypes.get_errno()
    try:
        # struct shmid64_ds starts with struct ipc64_perm {key, uid, gid, cuid, cgid, mode...}.
        buffer = (ctypes.c_uint32 * 64)()
        assert libc.shmctl(theirs, 2, buffer) == 0  # IPC_STAT
        buffer[1], buffer[2] = identity.uid, identity.gid
        assert libc.shmctl(theirs, 1, buffer) == 0  # IPC_SET
        helper.remove_ipc(identity)
        left = {o.ipc_id for o in sysv_ipc_objects(("shm",))}
        assert theirs not in left and ours in left
    finally:
        for shmid in (theirs, ours):
            libc.shmctl(shmid, 0, None)  # IPC_RMID, whatever the test did
