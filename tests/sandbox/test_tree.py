"""Removing real trees at any depth, as root, without following a planted link."""

import os
import stat
import subprocess
import time
from pathlib import Path

from executor.sandbox.tree import remove_tree, seize
from tests.sandbox.support import nest


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
        remove_tree("tree", dir_fd=fd)
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
        remove_tree("link", dir_fd=fd)
    finally:
        os.close(fd)
    assert not (tmp_path / "link").is_symlink()
    assert (target / "keep").read_text() == "x"


# Run as another uid: keep flipping entries between file and directory, and adding new ones,
# in a world-writable directory and in one of its own inside it, until killed.
FLIPPER = """
import os, sys
top, own = sys.argv[1], sys.argv[2]
n = 0
while True:
    for where in (top, own):
        name = os.path.join(where, f"flip{n % 7}")
        try:
            os.mkdir(name)
            os.rmdir(name)
            with open(name, "w"):
                pass
            os.unlink(name)
            with open(os.path.join(where, f"new{n}"), "w"):
                pass
        except OSError:
            pass
    n += 1
"""


def test_removal_survives_a_writer_flipping_entries(reachable_dir: Path) -> None:
    """1. A world-writable directory holding a directory of another uid. 2. That uid keeps
    flipping entries between file and directory and adding files in both. 3. Remove the tree
    while it runs. Expected: the tree is gone (each directory is seized as it is entered, so
    the writer loses its way in), and nothing was followed out of it."""
    top = reachable_dir / "tree"
    top.mkdir()
    top.chmod(0o777)
    own = top / "theirs"
    own.mkdir()
    os.chown(own, 65534, 65534)
    writer = subprocess.Popen(
        ["/usr/bin/python3", "-c", FLIPPER, str(top), str(own)],
        user=65534,
        group=65534,
        extra_groups=[],
    )
    try:
        deadline = time.monotonic() + 10
        while len(os.listdir(top)) < 20 or len(os.listdir(own)) < 20:
            assert time.monotonic() < deadline, "the writer never got going"
            time.sleep(0.01)
        fd = os.open(reachable_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            remove_tree("tree", dir_fd=fd)
        finally:
            os.close(fd)
        assert not top.exists()
        assert writer.poll() is None  # it was still writing all along
    finally:
        writer.kill()
        writer.wait()


def test_a_seized_directory_is_roots_and_private(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir(mode=0o777)
    os.chown(target, 65534, 65534)
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        seize(fd)
    finally:
        os.close(fd)
    st = target.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o700)
