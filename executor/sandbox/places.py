"""The world-writable places a run can leave files in, and the walk that finds a uid's there."""

import contextlib
import os
import stat
from collections.abc import Iterator

from executor.sandbox.tree import OPEN_DIR

# World-writable places a run can leave files in besides its own workspace.
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
# World-writable directories of others inside those places (like /tmp/.X11-unix) are searched
# for the run's files this many levels deep; the run cannot create such a directory that
# survives it, so real ones are few and shallow.
SHARED_DIR_DEPTH = 4


@contextlib.contextmanager
def opened_dir(path: str) -> Iterator[int | None]:
    """A descriptor of the directory ``path`` (no link followed), or None if it cannot be
    opened; closed on exit."""
    try:
        fd = os.open(path, OPEN_DIR)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def opened_dir_at(name: str, dir_fd: int) -> Iterator[int]:
    """A descriptor of the subdirectory ``name`` of ``dir_fd`` (no link followed); raises
    OSError if it cannot be opened."""
    fd = os.open(name, OPEN_DIR, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def owned_entries(
    dir_fd: int, uid: int, *, depth: int = 0
) -> Iterator[tuple[int, str, os.stat_result]]:
    """(parent descriptor, name, lstat) of each entry of ``uid`` in ``dir_fd`` and in the
    world-writable directories of others below it, down to SHARED_DIR_DEPTH. The descriptor is
    valid until the next item."""
    try:
        names = os.listdir(dir_fd)
    except OSError:
        return
    for name in names:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if st.st_uid == uid:
            yield dir_fd, name, st
        elif stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_IWOTH and depth < SHARED_DIR_DEPTH:
            with contextlib.suppress(OSError), opened_dir_at(name, dir_fd) as sub_fd:
                yield from owned_entries(sub_fd, uid, depth=depth + 1)
