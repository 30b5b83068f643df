"""Fixtures for the sandbox's own tests: the spawn helper built from this checkout."""

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.sandbox.seccomp import build_filter
from executor.sandbox.spawn import SpawnHelper, load_helper


@pytest.fixture(scope="session")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpawnHelper]:
    """The native helper compiled from the packaged source, holding this machine's filter."""
    yield load_helper(
        prebuilt="", cache_dir=str(tmp_path_factory.mktemp("helper")), seccomp=build_filter()
    )


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A fresh directory (mode 0755) that other uids can reach, outside /tmp: pytest's own
    temporary directories sit below a 0700 one, and with a mount namespace a run sees its own
    directory over /tmp."""
    path = Path("/var/lib/executor-tests") / secrets.token_hex(8)
    path.mkdir(parents=True)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
