"""Real executor services for the client tests (started through executor.testing)."""

from collections.abc import Iterator

import pytest

from executor.testing import HostService


@pytest.fixture(scope="module")
def service() -> Iterator[HostService]:
    """One service with every language, for the tests that need no special settings."""
    with HostService.start() as running:
        yield running


@pytest.fixture
def single_slot_service() -> Iterator[HostService]:
    """A service that runs one submission at a time and queues none: the second is a 429."""
    env = {"EXECUTOR_MAX_CONCURRENCY": "1", "EXECUTOR_MAX_QUEUE": "0"}
    with HostService.start(env=env) as running:
        yield running
