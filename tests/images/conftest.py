"""Fixtures for the image tests: a Docker engine, the images built once per session, and a
container of each language image, started as on Azure Container Apps' replica size."""

import http.client
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import LANGUAGES

REPO_DIR = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_DIR / "images" / "build.sh"
# images/build.sh tags every image with $IMAGE_TAG (default latest), so that checkouts of
# different branches sharing one engine test their own images.
IMAGE_TAG = os.environ.get("IMAGE_TAG", "latest")
BASE_IMAGE = f"executor-base:{IMAGE_TAG}"
IMAGES = {language: f"executor-{language}:{IMAGE_TAG}" for language in LANGUAGES}
# The replica size on Azure Container Apps; Docker's default capabilities and seccomp profile.
RUN_LIMITS = ("--cpus", "0.5", "--memory", "1g")
BUILD_TIMEOUT_S = 1800.0
# Generous for a loaded 2-core CI machine; measure.py reports the real startup times.
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Container:
    """A running language image, published on a loopback port."""

    docker: str
    container_id: str
    image: str
    language: str
    url: str

    def get(self, path: str) -> tuple[int, object]:
        """GET ``path``: the HTTP status and the decoded JSON body (None when not JSON)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, _json_or_none(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _json_or_none(error.read())

    def execute(self, body: dict[str, object]) -> dict[str, object]:
        """POST /execute with ``body`` (the language added); the JSON of a 200 answer."""
        request = urllib.request.Request(
            self.url + "/execute",
            data=json.dumps({"language": self.language, **body}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                detail = error.read().decode(errors="replace")
            raise AssertionError(f"/execute answered {error.code}: {detail}") from None

    def exec(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the container (as root, beside the service)."""
        return subprocess.run(
            [self.docker, "exec", self.container_id, *argv],
            capture_output=True,
            text=True,
            timeout=REQUEST_TIMEOUT_S,
            check=False,
        )

    def state(self) -> dict[str, object]:
        return inspect(self.docker, self.container_id)["State"]

    def logs(self) -> str:
        done = subprocess.run(
            [self.docker, "logs", self.container_id], capture_output=True, text=True, check=False
        )
        return done.stdout + done.stderr


def docker_client() -> str:
    """Debian's client (BuildKit built in) when present, else the docker on PATH."""
    for candidate in (os.environ.get("DOCKER"), "/usr/bin/docker", shutil.which("docker")):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.fail("no docker client: install docker.io, or run images/build.sh, which does")


def inspect(docker: str, name: str) -> dict:
    done = subprocess.run(
        [docker, "inspect", name], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]


@pytest.fixture(scope="session")
def docker() -> str:
    """The docker client, once the engine answers. No engine fails the tests: they never skip."""
    return docker_engine()


@pytest.fixture(scope="session")
def images(docker: str) -> dict[str, str]:
    """The four images, built from this working tree once per session by images/build.sh.

    It runs even when the images exist: an image left by an earlier build would test old code,
    and with an unchanged tree every step is a cache hit (a few seconds)."""
    return build_images(docker)


def docker_engine() -> str:
    """The docker client, once the engine answers; fails the calling test when none does."""
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


def start_container(
    docker: str, image: str, language: str, *, env: dict[str, str] | None = None
) -> Container:
    """``docker run -d --cpus 0.5 --memory 1g -p 127.0.0.1::8080 IMAGE`` (Docker picks a free
    loopback port), then wait for /readyz to answer 200. A container that is not ready by the
    deadline is removed and the test fails with its log.

    ``env`` adds variables to the container's environment (``--env NAME=VALUE``), as an ACA
    replica gets its secrets; nothing else about the container changes."""
    env_flags = [f"--env={name}={value}" for name, value in (env or {}).items()]
    started = subprocess.run(
        [docker, "run", "-d", *RUN_LIMITS, *env_flags, "-p", "127.0.0.1::8080", image],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, f"docker run {image} failed: {started.stderr}"
    container_id = started.stdout.strip()
    try:
        port = subprocess.run(
            [docker, "port", container_id, "8080/tcp"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()[0]
        host, _, number = port.rpartition(":")
        assert host == "127.0.0.1", f"published on {host}, not on loopback only"
        container = Container(
            docker=docker,
            container_id=container_id,
            image=image,
            language=language,
            url=f"http://127.0.0.1:{number}",
        )
        _wait_ready(container)
    except BaseException:
        remove_container(docker, container_id)
        raise
    return container


def remove_container(docker: str, container_id: str) -> None:
    subprocess.run(
        [docker, "rm", "-f", "-v", container_id], capture_output=True, timeout=120, check=False
    )


@pytest.fixture(scope="module", params=LANGUAGES)
def container(
    request: pytest.FixtureRequest, docker: str, images: dict[str, str]
) -> Iterator[Container]:
    """A container of one language image, shared by a module's tests, removed at the end."""
    language = request.param
    running = start_container(docker, images[language], language)
    try:
        yield running
    finally:
        remove_container(docker, running.container_id)


def _wait_ready(container: Container) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    status: int | None = None
    while time.monotonic() < deadline:
        state = container.state()
        if not state["Running"]:
            pytest.fail(f"{container.image} exited ({state}):\n{container.logs()}")
        try:
            status, _ = container.get("/readyz")
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            # docker-proxy accepts and drops connections until the service listens.
            status = None
        if status == 200:
            return
        time.sleep(POLL_INTERVAL_S)
    pytest.fail(
        f"{container.image}: /readyz not 200 within {READY_TIMEOUT_S:.0f} s "
        f"(last {status}):\n{container.logs()}"
    )


def _json_or_none(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None
