"""The native spawn helper and the launcher: each setup step really applied, in both paths."""

import asyncio
import os
import resource
import subprocess
from pathlib import Path

import pytest

from executor.sandbox.child import plan_child
from executor.sandbox.identity import RunIdentity
from executor.sandbox.launch import Launcher, SpawnError
from executor.sandbox.seccomp import build_filter
from executor.sandbox.spawner import SpawnHelper, load_helper
from executor.sandbox.spec import ResourceLimits
from tests.conftest import Service, start_service, stop_service

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


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory):
    return load_helper(
        prebuilt="", cache_dir=str(tmp_path_factory.mktemp("cache")), seccomp=build_filter()
    )


@pytest.fixture(params=["helper", "preexec"])
def launcher(request: pytest.FixtureRequest, helper) -> Launcher:
    return Launcher(helper=helper if request.param == "helper" else None)


def run(launcher: Launcher, argv: tuple[str, ...], *, identity=None, tmp_path: Path) -> str:
    plan = plan_child(
        LIMITS, identity=identity, seccomp=build_filter(), namespaces=False, private_tmp=None
    )
    out = tmp_path / "out"
    with open(out, "wb") as f:
        proc = asyncio.run(launcher.spawn(
            plan, argv, cwd=str(tmp_path), env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL, stdout=f.fileno(), stderr=subprocess.STDOUT,
        ))  # fmt: skip
        proc.wait()
    return out.read_text()


def test_every_step_is_applied(launcher: Launcher, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    report = run(
        launcher,
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


def test_a_missing_program_is_a_spawn_error(launcher: Launcher, tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="/no/such/interpreter"):
        run(launcher, ("/no/such/interpreter",), tmp_path=tmp_path)


def test_query_and_kill_every_process_of_a_uid(helper) -> None:
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


def test_rlimit_core_is_zero(launcher: Launcher, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_CORE))"
    report = run(launcher, ("/usr/bin/python3", "-c", code), tmp_path=tmp_path)
    assert report.strip() == "(0, 0)"
    assert resource.RLIMIT_CORE == 4  # the number the helper is given


def test_service_without_the_helper_still_runs(tmp_path: Path) -> None:
    """EXECUTOR_SPAWN_HELPER=off: the preexec_fn path, as on a machine with no C compiler."""
    service: Service = start_service(
        tmp_path, {"EXECUTOR_SPAWN_HELPER": "off", "EXECUTOR_LANGUAGES": "python"}
    )
    try:
        assert service.client.get("/info").json()["isolation"]["spawn"] == "preexec_fn"
        result = service.execute({"language": "python", "code": "print('hi')"})
        assert (result["status"], result["stdout"]) == ("ok", "hi\n")
    finally:
        stop_service(service)


def test_the_helper_checks_its_seccomp_filter(helper, tmp_path: Path) -> None:
    """The helper's check mode installs the filter and finds AF_INET refused; with a filter that
    lets everything through (seccomp's RET_ALLOW as the whole program) it says so."""
    assert helper.check_seccomp() is None
    allow_all = (0x06).to_bytes(2, "little") + bytes(2) + (0x7FFF0000).to_bytes(4, "little")
    permissive = load_helper(prebuilt=helper.path, cache_dir=str(tmp_path), seccomp=None)
    fd = os.memfd_create("allow-all", os.MFD_CLOEXEC)
    os.write(fd, allow_all)
    problem = SpawnHelper(path=permissive.path, filter_fd=fd).check_seccomp()
    assert problem is not None and "AF_INET" in problem
