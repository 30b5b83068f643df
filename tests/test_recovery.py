"""A service killed with SIGKILL mid-run, started again on the same runs directory, cleans what
the dead one left (its processes, warm compiler included, run directories, files in shared
places) before it reports ready: on the host and in a container."""

import concurrent.futures
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.testing import ContainerService, with_docker_default_capabilities
from tests import probes
from tests.hostile.support import PROBE_ARGV
from tests.support import (
    build_images,
    container_name,
    docker_engine,
    processes_of_uids,
    program,
    start_service,
    wait_for,
    wait_for_deferred_self_tests,
)

LIMITS = {"wall_time_ms": 60000, "time_ms": 20000}
SHARED_PLACES = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"]


def leftovers_request(token: str) -> dict:
    return {
        "language": "python",
        **program("python", "hostile_crash_leftovers"),
        "args": [token],
        "limits": LIMITS,
    }


@pytest.fixture
def runs_dir() -> Iterator[Path]:
    path = Path(f"/var/lib/executor-runs-test-{os.getpid()}-{time.monotonic_ns()}")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def owned_run_dirs(runs_dir: Path, uids: range) -> list[str]:
    return [p.name for p in runs_dir.iterdir() if p.lstat().st_uid in uids]


@pytest.mark.system
def test_a_restarted_service_cleans_what_the_killed_one_left(
    tmp_path: Path, runs_dir: Path
) -> None:
    """1. A service with Docker's capabilities (no mount namespace: /dev/shm is shared, as on
    ACA) and the warm Java compiler runs two programs that plant files in the shared places,
    start a child in a session of its own, and sleep.
    2. SIGKILL the service. 3. Start a new one on the same runs directory.
    Expected: before the new one is ready, every process of the dead one's uids (the runs,
    their children, the warm compiler) is gone, its run directories and its files in shared
    places too; the new service works."""
    token = secrets.token_hex(4)
    env = {"EXECUTOR_MAX_CONCURRENCY": "2", "EXECUTOR_RUNS_DIR": str(runs_dir)}
    launcher = with_docker_default_capabilities()
    first = start_service(tmp_path, env, warm=True, launcher=launcher)
    with first, concurrent.futures.ThreadPoolExecutor(2) as pool:
        wait_for_deferred_self_tests(first)  # they run as uids of the pool, in their directories
        uid_pool = first.info()["isolation"]["uid_pool"]
        uids = range(uid_pool["base"], uid_pool["base"] + uid_pool["size"] + 1)
        for _ in range(2):
            pool.submit(_quietly, first.execute, leftovers_request(token))

        def planted() -> list[str]:
            found = probes.files_of_uids(uids.start, len(uids), SHARED_PLACES)
            return [path for path in found if f"crash-{token}" in path]

        wait_for(
            lambda: (
                # two runs, the warm compiler (and the idle runners' own)
                len(owned_run_dirs(runs_dir, uids)) >= 3
                and len(processes_of_uids(uids.start, len(uids))) >= 5
                and planted()
            ),
            timeout_s=60,
            what="the programs to plant their files and start their children",
        )
        first.process.kill()
        first.process.wait()
        assert processes_of_uids(uids.start, len(uids)), "the dead service's processes live on"
    assert len(owned_run_dirs(runs_dir, uids)) >= 3

    with start_service(tmp_path, env, launcher=launcher) as second:
        # Ready: the cleanup came before.
        assert processes_of_uids(uids.start, len(uids)) == []
        assert owned_run_dirs(runs_dir, uids) == []
        assert planted() == []
        assert second.execute({"language": "python", "code": "print('ok')"})["stdout"] == "ok\n"
        assert "recovery: a service" in second.log()


@pytest.mark.docker
def test_a_container_killed_and_started_again_cleans_what_it_left() -> None:
    """1. A container of the Python image runs two programs that plant files in the shared
    places and sleep. 2. `docker kill -s KILL` (its service, PID 1, dies; so does every
    process). 3. `docker start` the same container (same filesystem).
    Expected: once ready, no file and no run directory of the dead service's uids is left
    anywhere in the container, and it works."""
    docker = docker_engine()
    image = build_images(docker)["python"]
    token = secrets.token_hex(4)
    with (
        ContainerService.start(image, name=container_name("python"), docker=docker) as container,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        uid_pool = container.info()["isolation"]["uid_pool"]
        uids = range(uid_pool["base"], uid_pool["base"] + uid_pool["size"] + 1)
        for _ in range(2):
            pool.submit(_quietly, container.execute, leftovers_request(token))

        def found() -> dict:
            done = container.exec(
                *PROBE_ARGV,
                "leftovers",
                json.dumps([uids.start, len(uids), ["/"], ["/proc", "/sys"], False]),
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        wait_for(
            lambda: len([f for f in found()["files"] if "crash-" in f]) >= 2,
            timeout_s=60,
            what="the programs to plant their files",
            interval_s=0.5,
        )
        killed = subprocess.run(
            [docker, "kill", "-s", "KILL", container.container_id], capture_output=True, timeout=60
        )
        assert killed.returncode == 0, killed.stderr
        started = subprocess.run(
            [docker, "start", container.container_id], capture_output=True, timeout=60
        )
        assert started.returncode == 0, started.stderr
        container.wait_ready()
        assert found() == {"files": [], "ipc": []}
        assert container.execute({"language": "python", "code": "print('ok')"})["stdout"] == "ok\n"
        assert "recovery: a service" in container.log()


def _quietly(call, *args):
    """Call, and take the failure of a request whose service was killed as expected."""
    try:
        return call(*args)
    except Exception as exc:  # the connection dies with the service
        return exc
