"""What the tests share besides fixtures: the programs under programs/, the service as the tests
start it, what a run may leave behind, and the Docker engine and images."""

import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import httpx
import pytest

from executor.testing import ContainerService, HostService, Launcher, RunningService

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "tests" / "programs"
LANGUAGES = ("python", "node", "java")
SUFFIX = {"python": ".py", "node": ".js", "java": ".java"}
# In the environment of every service the tests start (on the host, and with --env in a
# container, as an ACA replica holds its secrets): no run may ever see it.
SECRET_ENV_NAME = "SERVICE_SECRET_FOR_TESTS"
SECRET_ENV_VALUE = "do-not-leak-0xC0FFEE"
# Concurrent runs of the host services the tests start (so their uid pools have 4 uids).
TEST_CONCURRENCY = 4

BUILD_SCRIPT = REPO / "images" / "build.sh"
# images/build.sh tags every image with $IMAGE_TAG (default latest), so that checkouts of
# different branches sharing one engine test their own images.
IMAGE_TAG = os.environ.get("IMAGE_TAG", "latest")
BASE_IMAGE = f"executor-base:{IMAGE_TAG}"
IMAGES = {language: f"executor-{language}:{IMAGE_TAG}" for language in LANGUAGES}
BUILD_TIMEOUT_S = 1800.0
DEFERRED_SELF_TEST_TIMEOUT_S = 120
# Containers the tests start are named so: `docker ps --filter name=executor-tests-` finds any
# that a killed test run left.
CONTAINER_PREFIX = "executor-tests-"


class Service(HostService):
    """A host service as the tests start it, able to run the programs under programs/."""

    def run_program(self, language: str, case: str, **extra: object) -> dict[str, Any]:
        return run_program(self, language, case, **extra)


def program(language: str, case: str) -> dict[str, Any]:
    """The request fields for tests/programs/<language>/<case>: ``code`` for a single file
    (any name with the language's suffix, case-insensitive, underscores ignored), ``files`` for a
    directory (entry point first: main.* or Main.java)."""
    folder = PROGRAMS / language
    directory = folder / case
    if directory.is_dir():
        paths = sorted(directory.iterdir(), key=lambda p: (p.stem.lower() != "main", p.name))
        return {"files": [{"name": p.name, "content": p.read_text()} for p in paths]}
    wanted = case.replace("_", "").lower()
    for path in folder.iterdir():
        if path.suffix == SUFFIX[language] and path.stem.replace("_", "").lower() == wanted:
            return {"code": path.read_text()}
    raise FileNotFoundError(f"no program {case!r} for {language} in {folder}")


def run_program(
    service: RunningService, language: str, case: str, **extra: object
) -> dict[str, Any]:
    """Run tests/programs/<language>/<case> (see ``program``) with the request fields
    ``extra``; the answer of a 200."""
    return service.execute({"language": language, **program(language, case), **extra})


def start_service(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    *,
    warm: bool = False,
    launcher: Launcher | None = None,
) -> Service:
    """Start ``executor serve`` from this tree as the tests run it (4 concurrent runs, the
    service's secret in its environment), its log in ``tmp_path``; wait for /readyz and, with
    ``warm``, for the warm Java compiler (so that Java tests take one path every time).
    ``env`` adds or overrides variables."""
    service_env = {
        "EXECUTOR_MAX_CONCURRENCY": str(TEST_CONCURRENCY),
        SECRET_ENV_NAME: SECRET_ENV_VALUE,
        **(env or {}),
    }
    return Service.start(env=service_env, launcher=launcher, log_dir=tmp_path, cwd=REPO, warm=warm)


def stop_service(service: RunningService) -> None:
    """``service.stop()``, for the modules written before the harness had it."""
    service.stop()


def processes_of_uids(first_uid: int, count: int, *, besides: Collection[int] = ()) -> list[str]:
    """Processes whose real uid lies in [first_uid, first_uid + count): a run's leftovers; but
    for those in ``besides``, pids as the service sees them (its runners, waiting: in a
    container, its own pid namespace's numbers)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields["Uid"].split()[0])
        own_pid = int(fields.get("NSpid", name).split()[-1])
        if first_uid <= uid < first_uid + count and own_pid not in besides:
            found.append(f"{name} uid={uid}")
    return found


def runner_pids(info: dict[str, Any]) -> set[int]:
    """The pids of the runners /info lists (started ahead, waiting in uids of the pool)."""
    return {runner["pid"] for runner in info["prewarm"].get("runners", [])}


def runner_uids_of(info: dict[str, Any]) -> set[int]:
    """The uids of the runners /info lists (each waits in a uid of the pool of its own)."""
    return {runner["uid"] for runner in info["prewarm"].get("runners", [])}


def settled(service: RunningService, *, timeout_s: float = 30) -> dict[str, Any]:
    """/info once no cleanup is under way (cleanup runs after the answer is sent)."""
    deadline = time.monotonic() + timeout_s
    while True:
        info = service.info()
        if info["load"]["cleaning"] == 0 or time.monotonic() > deadline:
            return info
        time.sleep(0.01)


def leftovers(service: RunningService) -> list[str]:
    """Processes still alive under the service's run uids once the service has cleaned up after
    the last run (should always be none), besides its runners waiting there (looked at again
    with /info read after each look: a runner may be starting meanwhile)."""
    pool = settled(service)["isolation"]["uid_pool"]
    assert pool is not None, "the uid layer is not active"
    found = processes_of_uids(pool["base"], pool["size"])
    for _ in range(3):
        if not found:
            break
        runners = runner_pids(service.info())
        found = processes_of_uids(pool["base"], pool["size"], besides=runners)
    return found


def wait_for(
    predicate: Callable[[], object], *, timeout_s: float, what: str, interval_s: float = 0.01
) -> None:
    """Poll ``predicate`` every ``interval_s`` until true, failing the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


def container_name(language: str) -> str:
    """A fresh name for a test's container of ``language``'s image."""
    return f"{CONTAINER_PREFIX}{language}-{secrets.token_hex(4)}"


def docker_client() -> str:
    """Debian's client (BuildKit built in) when present, else the docker on PATH."""
    for candidate in (os.environ.get("DOCKER"), "/usr/bin/docker", shutil.which("docker")):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.fail("no docker client: install docker.io, or run images/build.sh, which does")


def docker_engine() -> str:
    """The docker client, once the engine answers; fails the calling test when none does (the
    tests never skip)."""
    client = docker_client()
    try:
        done = subprocess.run(
            [client, "info"], capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{client} info` did not answer within 60 s: is dockerd hung?")
    if done.returncode != 0:
        pytest.fail(
            f"no Docker engine answers `{client} info` ({done.stderr.strip()}); "
            "start one (images/build.sh starts dockerd when it is installed but not running)"
        )
    return client


def build_images(docker: str) -> dict[str, str]:
    """Run images/build.sh (a cache hit when the tree is unchanged); the language images by
    language. A failed build fails the calling test with the end of its log."""
    try:
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
            env={**os.environ, "DOCKER": docker},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"images/build.sh did not finish within {BUILD_TIMEOUT_S:.0f} s")
    if done.returncode != 0:
        pytest.fail(f"images/build.sh failed ({done.returncode}):\n{done.stderr[-6000:]}")
    return dict(IMAGES)


# A Java program printing its pid: that of the runner it ran in, if it ran in one.
JAVA_PRINTS_ITS_PID = """public class Main {
    public static void main(String[] args) {
        System.out.println(ProcessHandle.current().pid());
    }
}
"""


def execute_watching_runners(
    service: RunningService, body: dict[str, Any], *, language: str
) -> tuple[dict[str, Any], set[int]]:
    """POST /execute ``body`` (on a client of its own) while /info is read over and over: the
    answer, and the pids of every ``language`` runner /info listed meanwhile."""
    answer: dict[str, Any] = {}

    def send() -> None:
        with httpx.Client(base_url=service.url, timeout=120) as client:
            answer.update(client.post("/execute", json=body).json())

    sender = threading.Thread(target=send)
    sender.start()
    runner_pids: set[int] = set()
    while sender.is_alive():
        runners = service.info()["prewarm"]["runners"]
        runner_pids |= {r["pid"] for r in runners if r["language"] == language}
        sender.join(0.01)
    return answer, runner_pids


def wait_for_deferred_self_tests(service: RunningService) -> None:
    """After /readyz the service still runs each language's full self-test (every one is offered
    on its version) in the background, under a uid of the pool: their processes and files must
    not count as a test's. Waits for each language the service offers; fails if it withdrew
    one."""
    offered = {runtime["language"] for runtime in service.client.get("/runtimes").json()}
    # A container's log is a `docker logs` process each time: read it less often.
    interval_s = 0.25 if isinstance(service, ContainerService) else 0.01
    for language in sorted(offered):
        wait_for(
            lambda language=language: re.search(
                rf"runtime {language}: (full self-test passed|withdrawn)", service.log()
            ),
            timeout_s=DEFERRED_SELF_TEST_TIMEOUT_S,
            what=f"{language}'s deferred self-test",
            interval_s=interval_s,
        )
        assert f"{language}: withdrawn" not in service.log(), service.log()
