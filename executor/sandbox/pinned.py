"""Measures memory a run pins outside its processes: System V IPC objects and files on memory
filesystems (/dev/shm), which no process's resident size shows."""

import contextlib
import os
import stat
from collections.abc import Generator

from executor.sandbox.identity import RunIdentity
from executor.sandbox.libc import filesystem_magic
from executor.sandbox.places import SHARED_WRITABLE_DIRS, opened_dir, opened_dir_at, owned_entries
from executor.sandbox.procfs import sysv_ipc_objects
from executor.sandbox.tree import MAX_OPEN_LEVELS, OPEN_DIR

# Each file or directory a run keeps in memory-backed places counts at least this much: an
# empty one still pins an inode and a dentry, and the floor keeps a scan short (a scan stops at
# the run's limit, so it visits at most limit / MIN_HELD_KB entries).
MIN_HELD_KB = 16
# What a tree too deep to measure counts as: more than any limit.
TOO_DEEP_KB = 1 << 60
# statfs f_type of the filesystems whose files are memory (linux/magic.h).
MEMORY_FILESYSTEM_MAGICS = (0x01021994, 0x858458F6)  # TMPFS_MAGIC, RAMFS_MAGIC


def held_ipc_kb(identity: RunIdentity) -> int:
    """KB held by the System V shared memory segments and message queues the uid created: they
    outlive detaching and exiting. Objects in a private IPC namespace are not seen here
    (child.IPC_NAMESPACE_LIMITS bounds those)."""
    held = sum(
        o.held_bytes for o in sysv_ipc_objects(("shm", "msg")) if o.creator_uid == identity.uid
    )
    return held // 1024


def held_file_kb(identity: RunIdentity, *, places: tuple[str, ...], stop_above_kb: int) -> int:
    """Memory the run's files pin in ``places`` (give only memory-backed ones: see
    memory_backed_places), in KB: allocated size, at least MIN_HELD_KB per file or directory,
    counting its own directories whole and the world-writable directories of others below
    ``places``. Safe to call while the run is alive: nothing is followed or changed.

    Stops counting, and returns what it has, once the total passes ``stop_above_kb``; a tree
    deeper than MAX_OPEN_LEVELS counts as TOO_DEEP_KB (it cannot be measured cheaply, and only a
    hostile program builds one in /dev/shm). Not seen: unlinked files held open
    (/proc/<pid>/fd needs CAP_SYS_PTRACE).
    """
    total_kb = 0
    for place in places:
        with opened_dir(place) as dir_fd:
            if dir_fd is None:
                continue
            # closing(): stopping early must close the descriptors the walk holds, now.
            with contextlib.closing(_held_kb_below(dir_fd, identity.uid)) as sizes:
                for kb in sizes:
                    total_kb += kb
                    if total_kb > stop_above_kb:
                        return total_kb
    return total_kb


def memory_backed_places(places: tuple[str, ...] = SHARED_WRITABLE_DIRS) -> tuple[str, ...]:
    """Those of ``places`` on a memory filesystem (tmpfs, ramfs): a file there is memory that no
    process's resident size shows. /dev/shm always is; /tmp and /run/lock are on some hosts."""
    return tuple(p for p in places if filesystem_magic(p) in MEMORY_FILESYSTEM_MAGICS)


def _held_kb_below(dir_fd: int, uid: int) -> Generator[int, None, None]:
    """KB of each entry of ``uid`` below ``dir_fd``, descending into its directories (whole) and
    into world-writable ones of others; MAX_OPEN_LEVELS deep at most."""
    for parent_fd, name, st in owned_entries(dir_fd, uid):
        yield max(st.st_blocks // 2, MIN_HELD_KB)
        if stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(OSError), opened_dir_at(name, parent_fd) as sub_fd:
                yield from _held_kb_of_tree(sub_fd, uid)


def _held_kb_of_tree(top_fd: int, uid: int) -> Generator[int, None, None]:
    """KB of each entry of ``uid`` in the tree below ``top_fd``, depth first, one descriptor per
    level; a tree deeper than MAX_OPEN_LEVELS yields TOO_DEEP_KB and stops."""
    levels: list[tuple[int, list[str]]] = []  # a directory's descriptor, subdirectories left
    fd: int | None = os.dup(top_fd)
    try:
        while True:
            if fd is not None:
                subdirs = []
                for name, st in _lstat_entries(fd):
                    if st.st_uid == uid:
                        yield max(st.st_blocks // 2, MIN_HELD_KB)
                    if stat.S_ISDIR(st.st_mode):
                        subdirs.append(name)
                levels.append((fd, subdirs))
                fd = None
            while levels and not levels[-1][1]:
                os.close(levels.pop()[0])
            if not levels:
                return
            if len(levels) >= MAX_OPEN_LEVELS:
                yield TOO_DEEP_KB
                return
            parent_fd, subdirs = levels[-1]
            with contextlib.suppress(OSError):
                fd = os.open(subdirs.pop(), OPEN_DIR, dir_fd=parent_fd)
    finally:
        if fd is not None:
            os.close(fd)
        for level_fd, _ in levels:
            os.close(level_fd)


def _lstat_entries(dir_fd: int) -> list[tuple[str, os.stat_result]]:
    found = []
    with contextlib.suppress(OSError), os.scandir(dir_fd) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                found.append((entry.name, entry.stat(follow_symlinks=False)))
    return found
