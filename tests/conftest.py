"""Shared fixtures (a real executor service in a subprocess) and the `system` marker's rule.

Helpers live in tests/support.py and the harness in executor/testing.py; import them from there.
"""

from collections.abc import Iterator

import pytest

from tests.support import LANGUAGES, Service, start_service

# Fixtures that start a service, a container, a JVM or a build: a test using one, directly or
# through another fixture, is a `system` test. So is one using any fixture named `*_service`.
SYSTEM_FIXTURES = frozenset(
    {"service", "hostile", "docker", "images", "container", "language_images"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `system` every test that uses a system fixture or is marked `docker`, so that
    ``pytest -m "not system"`` keeps the quick tests, and a new test on the service is marked
    without anyone remembering to."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if (
            SYSTEM_FIXTURES.intersection(fixtures)
            or any(name.endswith("_service") for name in fixtures)
            or item.get_closest_marker("docker") is not None
        ):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the whole session, with every isolation layer this machine allows and
    the warm Java compiler ready."""
    svc = start_service(tmp_path_factory.mktemp("service"), warm=True)
    with svc:
        offered = {r["language"] for r in svc.client.get("/runtimes").json()}
        missing = set(LANGUAGES) - offered
        if missing:
            raise RuntimeError(f"toolchains missing for {sorted(missing)}:\n{svc.log()}")
        yield svc
