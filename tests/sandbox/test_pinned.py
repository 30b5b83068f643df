"""Measuring memory a run pins outside its processes: its files on memory filesystems."""

import os
from pathlib import Path

import pytest

from executor.sandbox.identity import RunIdentity
from executor.sandbox.pinned import MIN_HELD_KB, held_file_kb, memory_backed_places
from executor.sandbox.tree import MAX_OPEN_LEVELS
from tests.sandbox.support import nest, unused_identity


@pytest.fixture
def identity() -> RunIdentity:
    return unused_identity()


def test_held_file_kb_counts_the_uids_files(tmp_path: Path, identity: RunIdentity) -> None:
    """1. Two files of the run (1 MB and empty) and one of root. Expected: about 1 MB plus the
    per-entry floor; a tree deeper than MAX_OPEN_LEVELS counts as over any limit."""
    for name, size in (("big", 1 << 20), ("empty", 0), ("root", 1 << 20)):
        (tmp_path / name).write_bytes(b"x" * size)
    for name in ("big", "empty"):
        os.chown(tmp_path / name, identity.uid, identity.gid)
    held = held_file_kb(identity, places=(str(tmp_path),), stop_above_kb=1 << 30)
    assert held == 1024 + MIN_HELD_KB
    deep = tmp_path / "deep"
    deep.mkdir()
    nest(deep, MAX_OPEN_LEVELS + 5)
    os.chown(deep, identity.uid, identity.gid)
    held = held_file_kb(identity, places=(str(tmp_path),), stop_above_kb=1 << 20)
    assert held > 1 << 20


def test_dev_shm_is_a_memory_backed_place() -> None:
    assert "/dev/shm" in memory_backed_places()
    assert memory_backed_places(("/proc",)) == ()
