"""The services the hostile programs attack, in three modes: a service as root with every
capability, one with only Docker's default capabilities (through `capsh`), and a container of
each language image started as on Azure Container Apps."""

import concurrent.futures
import contextlib
from collections.abc import Iterator

import pytest

from executor.testing import ContainerService, with_docker_default_capabilities
from tests.hostile.support import (
    ALL_CAPS,
    CONTAINER,
    DOCKER_CAPS,
    Hostile,
    Target,
)
from tests.support import (
    LANGUAGES,
    SECRET_ENV_NAME,
    SECRET_ENV_VALUE,
    build_images,
    container_name,
    docker_engine,
    start_service,
    wait_for_deferred_self_tests,
)


@pytest.fixture(
    scope="session",
    params=[ALL_CAPS, DOCKER_CAPS, pytest.param(CONTAINER, marks=pytest.mark.docker)],
)
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hostile]:
    """A service started as root with every capability, or with Docker's default set only; or
    a container of each language image, started as on ACA, removed after the session."""
    mode = request.param
    if mode == CONTAINER:
        docker, images = request.getfixturevalue("language_images")
        with language_containers(docker, images) as targets:
            yield Hostile(mode=mode, targets=targets)
        return
    try:
        launcher = with_docker_default_capabilities() if mode == DOCKER_CAPS else None
    except FileNotFoundError as missing:
        pytest.fail(str(missing))
    with start_service(tmp_path_factory.mktemp(mode), launcher=launcher) as svc:
        wait_for_deferred_self_tests(svc)
        info = svc.info()
        assert info["isolation"]["uid_pool"] is not None, info
        target = Target(service=svc, info=info, pid=svc.pid)
        yield Hostile(mode=mode, targets=dict.fromkeys(LANGUAGES, target))


@pytest.fixture(scope="session")
def language_images() -> tuple[str, dict[str, str]]:
    """The docker client and the language images by language, built from this tree by
    images/build.sh once per session (a cache hit when nothing changed)."""
    docker = docker_engine()
    return docker, build_images(docker)


@contextlib.contextmanager
def language_containers(docker: str, images: dict[str, str]) -> Iterator[dict[str, Target]]:
    """A container of each language image, as ACA starts a replica: ``docker run -d --cpus 0.5
    --memory 1g -p 127.0.0.1:PORT:8080 IMAGE``, Docker's default capabilities and seccomp
    profile, the service's secret in its environment. Started in parallel; all removed on
    exit."""
    containers: list[ContainerService] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(len(LANGUAGES)) as pool:
            env = {SECRET_ENV_NAME: SECRET_ENV_VALUE}
            starting = {
                language: pool.submit(
                    ContainerService.start,
                    images[language],
                    env=env,
                    name=container_name(language),
                    docker=docker,
                )
                for language in LANGUAGES
            }
            failures = []
            for future in starting.values():  # every one, so that each started one is removed
                try:
                    containers.append(future.result())
                except BaseException as exc:
                    failures.append(exc)
            if failures:
                raise failures[0]
        targets = {}
        for language, future in starting.items():
            container = future.result()
            wait_for_deferred_self_tests(container)
            info = container.info()
            assert info["isolation"]["uid_pool"] is not None, info
            pid = container.state()["Pid"]
            targets[language] = Target(service=container, info=info, pid=pid)
        yield targets
    finally:
        for container in containers:
            container.stop()
