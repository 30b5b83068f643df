"""Tests for the janitor: removing and measuring real trees, links and IPC objects, as root."""

import ctypes
import os
import secrets
from pathlib import Path

import pytest

from executor.sandbox import janitor
from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import sysv_ipc_objects

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as a run uid")


@pytest.fixture
def identity() -> RunIdentity:
    """A uid no process or file on this machine has (random in the pool range, never handed out
    by a service here)."""
    uid = 1_999_000_000 + secrets.randbelow(999_000)
    return RunIdentity(uid=uid, gid=uid)


def nest(top: Path, depth: int) -> Path:
    """Directories ``depth`` deep under ``top``, made with relative steps (no PATH_MAX limit)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            next_fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        os.symlink("/etc/passwd", "link-out", dir_fd=fd)
        with open(os.open("bottom", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "w") as f:
            f.write("x")
    finally:
        os.close(fd)
    return top


def test_remove_tree_any_depth_without_following_links(tmp_path: Path) -> None:
    """1. A tree 2000 directories deep (past Python's recursion limit) with a link to
    /etc/passwd at the bottom and a link to /etc at the top. Expected: all of it gone, the link
    targets untouched."""
    top = tmp_path / "tree"
    top.mkdir()
    nest(top, 2000)
    (top / "etc").symlink_to("/etc")
    before = os.stat("/etc/passwd")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        janitor.remove_tree("tree", dir_fd=fd)
    finally:
        os.close(fd)
    assert not top.exists()
    assert os.stat("/etc/passwd").st_ino == before.st_ino and Path("/etc").is_dir()


def test_remove_tree_of_a_link_removes_only_the_link(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("x")
    (tmp_path / "link").symlink_to(target)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        janitor.remove_tree("link", dir_fd=fd)
    finally:
        os.close(fd)
    assert not (tmp_path / "link").is_symlink()
    assert (target / "keep").read_text() == "x"


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
    removed = janitor.remove_owned_files(identity, places=(str(place),))
    assert removed == 3
    assert sorted(p.name for p in place.iterdir()) == ["root-file", "shared"]
    assert [p.name for p in shared.iterdir()] == ["root"]


def test_held_file_kb_counts_the_uids_files(tmp_path: Path, identity: RunIdentity) -> None:
    """1. Two files of the run (1 MB and empty) and one of root. Expected: about 1 MB plus the
    per-entry floor; a tree deeper than MAX_OPEN_LEVELS counts as over any limit."""
    for name, size in (("big", 1 << 20), ("empty", 0), ("root", 1 << 20)):
        (tmp_path / name).write_bytes(b"x" * size)
    for name in ("big", "empty"):
        os.chown(tmp_path / name, identity.uid, identity.gid)
    held = janitor.held_file_kb(identity, places=(str(tmp_path),), stop_above_kb=1 << 30)
    assert held == 1024 + janitor.MIN_HELD_KB
    deep = tmp_path / "deep"
    deep.mkdir()
    nest(deep, janitor.MAX_OPEN_LEVELS + 5)
    os.chown(deep, identity.uid, identity.gid)
    held = janitor.held_file_kb(identity, places=(str(tmp_path),), stop_above_kb=1 << 20)
    assert held > 1 << 20


def test_remove_ipc_objects_as_the_uid(identity: RunIdentity) -> None:
    """1. Root makes a System V shared memory segment and gives it to the run's uid.
    2. remove_ipc_objects. Expected: the segment is gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    assert shmid >= 0, ctypes.get_errno()
    try:
        # struct shmid64_ds starts with struct ipc64_perm {key, uid, gid, cuid, cgid, mode...}.
        buffer = (ctypes.c_uint32 * 64)()
        assert libc.shmctl(shmid, 2, buffer) == 0  # IPC_STAT
        buffer[1], buffer[2] = identity.uid, identity.gid
        assert libc.shmctl(shmid, 1, buffer) == 0  # IPC_SET
        assert janitor.remove_ipc_objects(identity) == 1
        assert shmid not in {o.ipc_id for o in sysv_ipc_objects(("shm",))}
    finally:
        libc.shmctl(shmid, 0, None)  # IPC_RMID, in case the test failed before
