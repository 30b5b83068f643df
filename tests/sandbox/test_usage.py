"""Measuring what a run holds in files: its directory and its uid's entries in shared places, at
any depth, with the part on memory filesystems, stopping once it is past its caps."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.sandbox.identity import RunIdentity
from executor.sandbox.usage import MIN_MEMORY_KB, UsageScanner, Watch
from tests.sandbox.support import nest, unused_identity

BIG = 1 << 30


@pytest.fixture
def identity() -> RunIdentity:
    return unused_identity()


@pytest.fixture
def shm_place() -> Iterator[Path]:
    """A directory on /dev/shm (a memory filesystem) standing in for a shared place."""
    path = Path("/dev/shm") / f"usage-test-{os.getpid()}"
    path.mkdir()
    yield path
    os.system(f"rm -rf {path}")


def write(path: Path, size: int, uid: int) -> None:
    path.write_bytes(b"x" * size)
    os.chown(path, uid, uid)


def test_the_run_directory_and_its_files_in_shared_places_count(
    tmp_path: Path, shm_place: Path, identity: RunIdentity
) -> None:
    """1. The run's directory holds a 1 MB file and a deep tree; /dev/shm holds a 512 KB file
    of the run's, one of root's, and one of the run's 30 levels below another uid's
    world-writable directories. Expected: every entry of the run counted, root's not; the
    /dev/shm part is memory."""
    work = tmp_path / "work"
    work.mkdir()
    write(work / "big", 1 << 20, identity.uid)
    nest(work, 10)  # 10 directories, a link and a file
    write(shm_place / "mine", 512 << 10, identity.uid)
    write(shm_place / "roots", 512 << 10, 0)
    deep = shm_place
    for _ in range(30):
        deep = deep / "d"
        deep.mkdir(mode=0o777)
        deep.chmod(0o777)
        os.chown(deep, 65534, 65534)
    write(deep / "hidden", 4096, identity.uid)
    scanner = UsageScanner(shared=(str(shm_place),), runs_dir=str(tmp_path))
    scanner.start()
    try:
        scanner.watch(Watch(identity.uid, str(work), max_files=BIG, max_disk_kb=BIG))
        usage = scanner.measure(identity.uid)
    finally:
        scanner.stop()
    assert usage.files == 1 + 12 + 1 + 1  # big; 10 dirs, link, bottom; mine; hidden
    assert 1024 + 512 + 4 <= usage.disk_kb < 1024 + 512 + 4 + 100
    assert usage.memory_kb == 512 + 4
    assert not usage.over


def test_measuring_stops_past_a_cap(tmp_path: Path, identity: RunIdentity) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for i in range(500):
        (work / f"f{i}").touch()
    scanner = UsageScanner(shared=(), runs_dir=str(tmp_path))
    scanner.start()
    try:
        scanner.watch(Watch(identity.uid, str(work), max_files=100, max_disk_kb=BIG))
        usage = scanner.measure(identity.uid)
    finally:
        scanner.stop()
    assert usage.over and usage.files == 101


def test_hard_links_count_once_and_empty_files_on_tmpfs_cost_memory(
    shm_place: Path, identity: RunIdentity
) -> None:
    write(shm_place / "a", 8192, identity.uid)
    os.link(shm_place / "a", shm_place / "b")
    for i in range(10):
        write(shm_place / f"empty{i}", 0, identity.uid)
    scanner = UsageScanner(shared=(str(shm_place),), runs_dir="/nonexistent")
    scanner.start()
    try:
        scanner.watch(Watch(identity.uid, "/nonexistent", max_files=BIG, max_disk_kb=BIG))
        usage = scanner.measure(identity.uid)
    finally:
        scanner.stop()
    assert usage.files == 11
    assert usage.memory_kb == 8 + 10 * MIN_MEMORY_KB


def test_the_scanner_thread_keeps_the_latest_measure(tmp_path: Path, identity: RunIdentity) -> None:
    work = tmp_path / "work"
    work.mkdir()
    scanner = UsageScanner(shared=(), runs_dir=str(tmp_path))
    scanner.start()
    try:
        scanner.watch(Watch(identity.uid, str(work), max_files=BIG, max_disk_kb=BIG))
        write(work / "f", 1 << 20, identity.uid)
        deadline = time.monotonic() + 10
        while scanner.usage(identity.uid).disk_kb < 1024:
            assert time.monotonic() < deadline, "no round measured the file"
            time.sleep(0.01)
        scanner.unwatch(identity.uid)
        assert scanner.usage(identity.uid).files == 0
    finally:
        scanner.stop()
