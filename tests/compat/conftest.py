"""Fixtures of the compatibility tests: where each peer's client reaches the service (the host
service of the session, and a container of each language image), and the client libraries."""

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from executor.testing import ContainerService, RunningService
from tests.support import LANGUAGES, Service, build_images, container_name, docker_engine

HERE = Path(__file__).resolve().parent
# Installed by .ci/setup (`npm ci` here, from package-lock.json).
PISTON_CLIENT = HERE / "node_modules" / "piston-client"
PISTON_DRIVER = HERE / "piston_driver.mjs"
# The JVM compiles at 0.5 CPU in a container: a generous wait for a client call.
CLIENT_TIMEOUT_S = 120

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class Target:
    """A running service the clients are pointed at, and the languages it offers."""

    name: str
    service: RunningService
    languages: tuple[str, ...]

    @property
    def url(self) -> str:
        return self.service.url


TARGETS = ("host", *(f"{language}-image" for language in LANGUAGES))


def only(*languages: str) -> Callable[[F], F]:
    """Run the decorated test for these languages only (a test of Java's compile, say)."""

    def mark(test: F) -> F:
        test.compat_languages = languages  # type: ignore[attr-defined]
        return test

    return mark


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give a test with ``compat_service`` each target, and with ``language`` too, each language
    of each target (the host: every language; an image: its own), as ``only`` allows. Images are
    marked ``docker``; no test is ever skipped for a language an image lacks."""
    if "compat_service" not in metafunc.fixturenames:
        return
    allowed = getattr(metafunc.function, "compat_languages", LANGUAGES)
    cases = []
    for target in TARGETS:
        marks = [] if target == "host" else [pytest.mark.docker]
        offered = LANGUAGES if target == "host" else (target.removesuffix("-image"),)
        if "language" in metafunc.fixturenames:
            cases += [
                pytest.param(target, lang, marks=marks, id=f"{target}-{lang}")
                for lang in offered
                if lang in allowed
            ]
        elif any(lang in allowed for lang in offered):
            cases.append(pytest.param(target, marks=marks, id=target))
    names = (
        ("compat_service", "language") if "language" in metafunc.fixturenames else "compat_service"
    )
    metafunc.parametrize(names, cases, indirect=["compat_service"], scope="module")


@pytest.fixture(scope="module")
def compat_service(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The host service of the session (every language), or a container of one language image
    (Docker's default capabilities and seccomp, the replica's size), started for the module."""
    name: str = request.param
    if name == "host":
        service: Service = request.getfixturevalue("service")
        yield Target(name, service, LANGUAGES)
        return
    language = name.removesuffix("-image")
    images: dict[str, str] = request.getfixturevalue("images")
    with ContainerService.start(
        images[language], name=container_name(language), docker=docker_engine(), warm=True
    ) as running:
        yield Target(name, running, (language,))


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """The language images, built from this tree once per session (a cache hit when built)."""
    return build_images(docker_engine())


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js, and the piston-client package installed where the driver finds it."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: .ci/setup installs it")
    if not PISTON_CLIENT.is_dir():
        pytest.fail(f"{PISTON_CLIENT} is missing: run .ci/setup (npm ci in tests/compat)")
    return node


def piston_client(node: str, server: str, call: str, *args: object) -> Any:
    """What piston-client's ``call`` (``runtimes`` or ``execute``) answers against ``server``,
    made in a Node.js process as an application makes it."""
    done = subprocess.run(
        [node, str(PISTON_DRIVER)],
        input=json.dumps({"server": server, "call": call, "args": list(args)}),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        cwd=HERE,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"the piston-client driver failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)
