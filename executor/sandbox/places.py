"""The world-writable places a run can leave files in, and the walk that finds a uid's there."""

import contextlib
import os
import stat
from collections.abc import Generator, Iterator

from executor.sandbox.tree import OPEN_DIR

# World-writable places a run can leave files in besides its own workspace.
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


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


def owned_entries(dir_fd: int, uid: int) -> Generator[tuple[int, str, os.stat_result], None, None]:
    """(parent descriptor, name, lstat) of each entry of ``uid`` in ``dir_fd`` and in the
    directories of others below it that others may write into (world-writable: a run could
    have put its files there), at any depth. The descriptor is valid until the next item.

    One descriptor is held per level of such directories; the service raises its descriptor
    limit at start, and a run's file-count limit bounds how deep another run's tree can be.
    """
    levels: list[tuple[int, list[str]]] = [(os.dup(dir_fd), _names(dir_fd))]
    try:
        while levels:
            fd, names = levels[-1]
            if not names:
                os.close(fd)
                levels.pop()
                continue
            name = names.pop()
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if st.st_uid == uid:
                yield fd, name, st
            elif stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_IWOTH:
                try:
                    sub_fd = os.open(name, OPEN_DIR, dir_fd=fd)
                except OSError:
                    continue
                levels.append((sub_fd, _names(sub_fd)))
    finally:
        for fd, _ in levels:
            os.close(fd)


def _names(dir_fd: int) -> list[str]:
    try:
        return os.listdir(dir_fd)
    except OSError:
        return []
