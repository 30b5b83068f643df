"""Fixtures for the sandbox's own tests: the spawn helper built from this checkout."""

from collections.abc import Iterator

import pytest

from executor.sandbox.seccomp import build_filter
from executor.sandbox.spawn import SpawnHelper, load_helper


@pytest.fixture(scope="session")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpawnHelper]:
    """The native helper compiled from the packaged source, holding this machine's filter."""
    yield load_helper(
        prebuilt="", cache_dir=str(tmp_path_factory.mktemp("helper")), seccomp=build_filter()
    )
