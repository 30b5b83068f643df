"""Sweeping a uid's leftovers from shared places: files at any depth of its trees, IPC objects."""

import ctypes
import os
from pathlib import Path

import pytest

from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import sysv_ipc_objects
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.sweep import remove_ipc_objects, remove_owned_files
from tests.sandbox.support import nest, unused_identity


@pytest.fixture
def identity() -> RunIdentity:
    return unused_identity()


def test_remove_owned_files_searches_world_writable_directories(
    tmp_path: Path, identity: RunIdentity
) -> None:
    """1. In a stand-in for /tmp: a file and a deep directory of the run's uid, a root file, and
    a root-owned world-writable directory (like /tmp/.X11-unix) holding a file of the run's and
    one of root's. Expected: exactly the run's entries removed."""
    place = tmp_path / "place"
    place.mkdir()
    shared = place / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (place / "run-dir").mkdir()
    nest(place / "run-dir", 300)
    for path in (place / "run-file", shared / "run", place / "root-file", shared / "root"):
        path.write_text("x")
    for path in (place / "run-file", place / "run-dir", shared / "run"):
        os.chown(path, identity.uid, identity.gid, follow_symlinks=False)
    removed = remove_owned_files(identity, places=(str(place),))
    assert removed == 3
    assert sorted(p.name for p in place.iterdir()) == ["root-file", "shared"]
    assert [p.name for p in shared.iterdir()] == ["root"]


def test_remove_ipc_objects_counts_and_removes_the_uids(
    identity: RunIdentity, helper: SpawnHelper
) -> None:
    """1. Root makes a System V shared memory segment and gives it to the run's uid.
    2. remove_ipc_objects. Expected: one object counted, and it is gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    assert shmid >= 0, ctypes.get_errno()
    try:
        buffer = (ctypes.c_uint32 * 64)()
        assert libc.shmctl(shmid, 2, buffer) == 0  # IPC_STAT
        buffer[1], buffer[2] = identity.uid, identity.gid
        assert libc.shmctl(shmid, 1, buffer) == 0  # IPC_SET
        assert remove_ipc_objects(identity, helper=helper) == 1
        assert shmid not in {o.ipc_id for o in sysv_ipc_objects(("shm",))}
        assert remove_ipc_objects(identity, helper=helper) == 0
    finally:
        libc.shmctl(shmid, 0, None)  # IPC_RMID, in case the test failed before


def test_a_file_at_any_depth_below_another_runs_world_writable_directories_is_found(
    tmp_path: Path, identity: RunIdentity
) -> None:
    """1. Another uid's chain of 40 world-writable directories in a shared place, with a file
    of the run's uid at the bottom (one more level than any fixed depth would reach).
    2. Sweep the run's uid. Expected: the file is gone, the other uid's directories stay."""
    place = tmp_path / "place"
    place.mkdir()
    bottom = place
    for _ in range(40):
        bottom = bottom / "d"
        bottom.mkdir()
        bottom.chmod(0o777)
        os.chown(bottom, 65534, 65534)
    (bottom / "secret").write_text("x")
    os.chown(bottom / "secret", identity.uid, identity.gid)
    assert remove_owned_files(identity, places=(str(place),)) == 1
    assert not (bottom / "secret").exists() and bottom.is_dir()
