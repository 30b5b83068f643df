"""Removing real trees at any depth, as root, without following a planted link."""

import os
from pathlib import Path

from executor.sandbox.tree import remove_tree
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
