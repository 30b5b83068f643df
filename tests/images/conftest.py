"""Fixtures for the image tests: a Docker engine, the images built once per session, and a
container of each language image, started as on Azure Container Apps' replica size."""

from collections.abc import Iterator

import pytest

from executor.testing import ContainerService
from tests.support import LANGUAGES, build_images, container_name, docker_engine


@pytest.fixture(scope="session")
def docker() -> str:
    """The docker client, once the engine answers. No engine fails the tests: they never skip."""
    return docker_engine()


@pytest.fixture(scope="session")
def images(docker: str) -> dict[str, str]:
    """The language images by language, built from this working tree once per session by
    images/build.sh.

    It runs even when the images exist: an image left by an earlier build would test old code,
    and with an unchanged tree every step is a cache hit (a few seconds)."""
    return build_images(docker)


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    """The language of the image under test (a test may parametrize it instead)."""
    language: str = request.param
    return language


@pytest.fixture(scope="module")
def container(docker: str, images: dict[str, str], language: str) -> Iterator[ContainerService]:
    """A container of ``language``'s image, ready, shared by a module's tests, removed at the
    end."""
    with ContainerService.start(
        images[language], name=container_name(language), docker=docker
    ) as running:
        yield running
