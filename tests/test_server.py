"""SIGTERM (ACA scaling in): the replica drains and exits 0 within EXECUTOR_DRAIN_SECONDS,
with a real signal against a real server, on the host and in a container."""

import concurrent.futures
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.testing import ContainerService
from tests.support import (
    Service,
    build_images,
    container_name,
    docker_engine,
    processes_of_uids,
    start_service,
    wait_for,
)

SLEEP = "import time, sys\ntime.sleep(float(sys.argv[1]))\nprint('slept', sys.argv[1])"
LONG_LIMITS = {"wall_time_ms": 60000, "time_ms": 20000}
DRAIN_S = 8
# Long enough for a 2 s run and a 1 s run after it: the drain keeps 6 s for what follows.
DRAIN_FOR_BOTH_S = 14


def sleeper(seconds: float) -> dict[str, object]:
    return {"language": "python", "code": SLEEP, "args": [str(seconds)], "limits": LONG_LIMITS}


@pytest.fixture
def runs_dir() -> Iterator[Path]:
    """A runs directory of the test's own, so that what a service leaves there can be seen."""
    path = Path(f"/var/lib/executor-runs-test-{os.getpid()}-{time.monotonic_ns()}")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def images() -> tuple[str, dict[str, str]]:
    """The docker client and this tree's language images (built once; a cache hit after)."""
    docker = docker_engine()
    return docker, build_images(docker)


def run_dirs(runs_dir: Path) -> list[str]:
    return [p.name for p in runs_dir.iterdir() if not p.name.startswith(".")]


def wait_until(service: Service, *, running: int, queued: int) -> None:
    wait_for(
        lambda: (lambda r: (r["running"], r["queued"]) == (running, queued))(
            service.client.get("/readyz").json()
        ),
        timeout_s=30,
        what=f"{running} running and {queued} queued",
    )


@pytest.mark.system
def test_sigterm_drains_running_and_queued_work_then_exits_0(
    tmp_path: Path, runs_dir: Path
) -> None:
    """1. One run slot: a 2 s program runs, a 1 s program waits in the queue.
    2. SIGTERM. 3. /readyz and a new submission while draining.
    Expected: /readyz 503 "draining" with running 1 and queued 1; the new submission 503 with
    Retry-After; both programs finish normally; the process exits 0 within
    EXECUTOR_DRAIN_SECONDS; no process of its uids (runs, warm compiler) and no run directory
    is left."""
    env = {
        "EXECUTOR_MAX_CONCURRENCY": "1",
        "EXECUTOR_DRAIN_SECONDS": str(DRAIN_FOR_BOTH_S),
        "EXECUTOR_RUNS_DIR": str(runs_dir),
    }
    with (
        start_service(tmp_path, env, warm=True) as service,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        pool_info = service.info()["isolation"]["uid_pool"]
        running = pool.submit(service.execute, sleeper(2))
        wait_until(service, running=1, queued=0)
        queued = pool.submit(service.execute, sleeper(1))
        wait_until(service, running=1, queued=1)
        signalled = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        wait_for(
            lambda: service.client.get("/readyz").status_code == 503,
            timeout_s=5,
            what="/readyz to turn 503",
        )
        readyz = service.client.get("/readyz").json()
        assert readyz["status"] == "draining" and readyz["running"] + readyz["queued"] >= 1
        refused = service.client.post("/execute", json=sleeper(0))
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "draining"
        assert int(refused.headers["retry-after"]) >= 1
        assert running.result()["stdout"] == "slept 2\n"
        assert queued.result()["stdout"] == "slept 1\n"
        assert service.process.wait(timeout=DRAIN_FOR_BOTH_S + 5) == 0
        assert time.monotonic() - signalled < DRAIN_FOR_BOTH_S
    # The pool's uids and the warm compiler's, which follows them.
    assert processes_of_uids(pool_info["base"], pool_info["size"] + 1) == []
    assert run_dirs(runs_dir) == []
    assert "drained" in service.log()


@pytest.mark.system
def test_work_still_running_at_the_drain_deadline_is_killed_and_answered_internal_error(
    tmp_path: Path, runs_dir: Path
) -> None:
    """1. A program that sleeps 50 s (its wall limit 60 s) runs; another waits in the queue.
    2. SIGTERM with EXECUTOR_DRAIN_SECONDS=8.
    Expected: both answered 200 internal_error with a message naming EXECUTOR_DRAIN_SECONDS;
    the process exits 0 within 8 s; no process and no run directory left; the metrics had
    counted them (drained killed)."""
    env = {
        "EXECUTOR_MAX_CONCURRENCY": "1",
        "EXECUTOR_DRAIN_SECONDS": str(DRAIN_S),
        "EXECUTOR_RUNS_DIR": str(runs_dir),
        "EXECUTOR_LANGUAGES": "python",
    }
    with (
        start_service(tmp_path, env) as service,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        pool_info = service.info()["isolation"]["uid_pool"]
        running = pool.submit(service.execute, sleeper(50))
        wait_until(service, running=1, queued=0)
        queued = pool.submit(service.execute, sleeper(1))
        wait_until(service, running=1, queued=1)
        signalled = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        for answer, what in ((running.result(), "killed"), (queued.result(), "not started")):
            assert answer["status"] == "internal_error", answer
            assert f"EXECUTOR_DRAIN_SECONDS={DRAIN_S}" in answer["message"]
            assert ("processes were killed" if what == "killed" else "had not started") in (
                answer["message"]
            )
        assert service.process.wait(timeout=DRAIN_S + 5) == 0
        assert time.monotonic() - signalled < DRAIN_S
    assert processes_of_uids(pool_info["base"], pool_info["size"] + 1) == []
    assert run_dirs(runs_dir) == []
    assert "drain deadline: stopping 2 submissions" in service.log()


@pytest.mark.docker
def test_a_container_stopped_by_the_platform_drains_and_exits_0(
    images: tuple[str, dict[str, str]],
) -> None:
    """1. A container of the Python image (as on ACA, 2 run slots) runs two 50 s programs and
    a third waits in the queue. 2. `docker stop` (SIGTERM, SIGKILL after 30 s, as ACA's grace
    period) with EXECUTOR_DRAIN_SECONDS=8.
    Expected: all three answered internal_error naming the drain; the container exits with
    status 0 within the drain, well before the grace period ends; its log is JSON lines."""
    docker, built = images
    env = {"EXECUTOR_DRAIN_SECONDS": str(DRAIN_S), "EXECUTOR_MAX_CONCURRENCY": "2"}
    with (
        ContainerService.start(
            built["python"], env=env, name=container_name("python"), docker=docker
        ) as container,
        concurrent.futures.ThreadPoolExecutor(4) as pool,
    ):
        submitted = [pool.submit(container.execute, sleeper(50)) for _ in range(3)]
        wait_for(
            lambda: (lambda r: (r["running"], r["queued"]) == (2, 1))(
                container.client.get("/readyz").json()
            ),
            timeout_s=30,
            what="two programs running and one queued",
        )
        signalled = time.monotonic()
        stopping = pool.submit(
            subprocess.run,
            [docker, "stop", "-t", "30", container.container_id],
            capture_output=True,
            timeout=60,
        )
        for future in submitted:
            answer = future.result()
            assert answer["status"] == "internal_error", answer
            assert f"EXECUTOR_DRAIN_SECONDS={DRAIN_S}" in answer["message"]
        stopping.result()
        assert time.monotonic() - signalled < DRAIN_S + 2
        state = container.state()
        assert state["ExitCode"] == 0 and not state["OOMKilled"], state
        log = container.log()
    assert '"message": "drained"' in log
