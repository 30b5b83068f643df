"""Ends every process of a run's uid and removes everything it left in shared places: its files in
world-writable directories and its System V IPC objects."""

import contextlib
import ctypes
import errno
import functools
import os
import secrets
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator

from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import children_of, pids_of_uid, read_stat, real_uid, sysv_ipc_objects
from executor.sandbox.spawner import SpawnHelper

# World-writable places a run can leave files in besides its own workspace.
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
# World-writable directories of others inside those places (like /tmp/.X11-unix) are searched
# for the run's files this many levels deep; the run cannot create such a directory that
# survives it, so real ones are few and shallow.
SHARED_DIR_DEPTH = 4
# A tree is walked holding one descriptor per level. Past this many levels, removal moves the
# rest of the branch up to the top of the tree, and measuring gives up (see held_file_kb).
MAX_OPEN_LEVELS = 64
# Each file or directory a run keeps in memory-backed places counts at least this much: an
# empty one still pins an inode and a dentry, and the floor keeps a scan short (a scan stops at
# the run's limit, so it visits at most limit / MIN_HELD_KB entries).
MIN_HELD_KB = 16
# What a tree too deep to measure counts as: more than any limit.
TOO_DEEP_KB = 1 << 60
# How often removal re-reads a directory that something filled again while it was emptied.
MAX_REFILLS = 100
# statfs f_type of the filesystems whose files are memory (linux/magic.h).
MEMORY_FILESYSTEM_MAGICS = (0x01021994, 0x858458F6)  # TMPFS_MAGIC, RAMFS_MAGIC
_IPC_RMID = 0
PR_GET_CHILD_SUBREAPER = 37
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class CleanupError(RuntimeError):
    """A run's processes would not die; its uid must not be reused."""


def kill_all_processes(
    identity: RunIdentity, *, helper: SpawnHelper | None = None, timeout_s: float = 5.0
) -> None:
    """Kill every process whose uid is the run's, wait until they are gone, reap our zombies.

    ``kill(-1, SIGKILL)`` sent by a process running as that uid reaches all its processes in one
    pass under the kernel's task-list lock, so a process that forks meanwhile cannot leave a child
    behind (unlike walking /proc and killing pid by pid). The common case, nothing left at all,
    is found without a /proc scan (see any_process_left). Raises CleanupError if processes
    survive ``timeout_s``.
    """
    if not any_process_left(identity, helper=helper):
        return
    deadline = time.monotonic() + timeout_s
    while True:
        pids = pids_of_uid(identity.uid)
        live = [pid for pid in pids if not _is_zombie(pid)]
        if live:
            signal_all(identity, helper=helper)
        _reap_our_zombies(pids)
        if not pids:
            return
        if time.monotonic() > deadline:
            raise CleanupError(f"uid {identity.uid} still has processes {sorted(pids)[:10]}")
        time.sleep(0.002)


def any_process_left(identity: RunIdentity, *, helper: SpawnHelper | None = None) -> bool:
    """Whether the uid has any task at all, zombies included.

    As a child subreaper, the service is the ancestor of every process a run makes: an orphan
    comes back to it, and nothing leaves its subtree. Once the run's main process is reaped, a
    process left of the run is a direct child of the service or below one, and so is every
    process on its way out (a zombie until reaped): reading the service's children, a few
    reads, tells. Without that, the helper asks the kernel (see native/spawn_helper.c -q), or
    /proc is scanned."""
    if _is_child_subreaper():
        try:
            children = children_of(os.getpid())
        except FileNotFoundError:
            pass  # no children files in this kernel
        else:
            return any(real_uid(pid) == identity.uid for pid in children)
    if helper is not None:
        return helper.any_alive(identity)
    return bool(pids_of_uid(identity.uid))


def remove_owned_files(
    identity: RunIdentity, *, places: tuple[str, ...] = SHARED_WRITABLE_DIRS
) -> int:
    """Remove what the run's uid left in shared places: every entry it owns directly inside
    ``places`` or inside a world-writable directory below them (whole trees for its directories,
    at any depth), and every System V shared memory segment, message queue and semaphore set it
    created or owns. No symlink is followed. Returns how many were removed.

    Call only after kill_all_processes: with no process of the uid alive nothing can race us.
    Raises OSError if an entry cannot be removed.
    """
    removed = 0
    for place in places:
        with _opened_dir(place) as dir_fd:
            if dir_fd is None:
                continue
            for parent_fd, name, _ in _owned_entries(dir_fd, identity.uid, depth=0):
                remove_tree(name, dir_fd=parent_fd)
                removed += 1
    return removed + remove_ipc_objects(identity)


def remove_ipc_objects(identity: RunIdentity) -> int:
    """Remove every System V IPC object in our IPC namespace that the run's uid created or owns
    (they belong to no process, so killing the run leaves them, with their memory, for the next
    run of that uid). Removal runs as that uid: root without CAP_SYS_ADMIN, as in a container,
    may not remove another user's objects. Returns how many there were."""
    objects = [o for o in sysv_ipc_objects() if identity.uid in (o.owner_uid, o.creator_uid)]
    if objects:
        libc = ctypes.CDLL(None, use_errno=True)
        # Looked up before the fork: the child then only makes the calls.
        control = {"shm": libc.shmctl, "msg": libc.msgctl, "sem": libc.semctl}
        calls = [
            (
                control[o.kind],
                (o.ipc_id, 0, _IPC_RMID) if o.kind == "sem" else (o.ipc_id, _IPC_RMID, None),
            )
            for o in objects
        ]
        _as_uid(identity, functools.partial(_call_all_then_exit, calls))
    return len(objects)


def held_file_kb(identity: RunIdentity, *, places: tuple[str, ...], stop_above_kb: int) -> int:
    """Memory the run's files pin in ``places`` (give only memory-backed ones: see
    memory_backed_places), in KB: allocated size, at least MIN_HELD_KB per file or directory,
    counting its own directories whole and the world-writable directories of others below
    ``places``. Safe to call while the run is alive: nothing is followed or changed.

    Stops counting, and returns what it has, once the total passes ``stop_above_kb``; a tree
    deeper than MAX_OPEN_LEVELS counts as TOO_DEEP_KB (it cannot be measured cheaply, and only a
    hostile program builds one in /dev/shm).
    """
    total_kb = 0
    for place in places:
        with _opened_dir(place) as dir_fd:
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
    return tuple(p for p in places if _filesystem_magic(p) in MEMORY_FILESYSTEM_MAGICS)


def remove_tree(name: str, *, dir_fd: int) -> None:
    """Remove ``name`` inside the directory ``dir_fd``, and everything below it, at any depth.

    Every step is relative to a directory descriptor opened with O_NOFOLLOW, so a symlink is
    removed, never followed, even one swapped in while we work. At most MAX_OPEN_LEVELS
    descriptors are held: a deeper branch is renamed up to the top directory and removed from
    there (a recursive remover would hit Python's recursion limit on a tree a run built with a
    few thousand mkdir/chdir calls). Raises FileNotFoundError if ``name`` is gone, OSError if
    something cannot be removed.
    """
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    top = _enter_or_unlink(name, dir_fd)
    if top is None:
        return
    stack = [top]  # (descriptor, name in the parent, subdirectories left) per level
    refills = 0
    try:
        while stack:
            fd, dir_name, subdirs = stack[-1]
            if subdirs:
                sub = subdirs.pop()
                if len(stack) < MAX_OPEN_LEVELS:
                    entered = _enter_or_unlink(sub, fd)
                    if entered is not None:
                        stack.append(entered)
                else:
                    top_fd, _, top_subdirs = stack[0]
                    moved = f".removing-{secrets.token_hex(8)}"
                    os.rename(sub, moved, src_dir_fd=fd, dst_dir_fd=top_fd)
                    top_subdirs.append(moved)
                continue
            stack.pop()
            os.close(fd)
            parent_fd = stack[-1][0] if stack else dir_fd
            try:
                os.rmdir(dir_name, dir_fd=parent_fd)
            except FileNotFoundError:
                pass  # moved away by another uid the run let in: nothing left here to remove
            except OSError as exc:
                # Another uid the run let in (a directory it made world-writable) added entries.
                if exc.errno != errno.ENOTEMPTY or refills >= MAX_REFILLS:
                    raise
                refills += 1
                entered = _enter_or_unlink(dir_name, parent_fd)
                if entered is not None:
                    stack.append(entered)
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def signal_all(identity: RunIdentity, *, helper: SpawnHelper | None = None) -> None:
    """Send SIGKILL to every process of the run's uid, once, without waiting or reaping (so the
    supervisor can still wait4 its main process)."""
    if helper is not None:
        helper.kill_all(identity)
    else:
        _as_uid(identity, _kill_everything_then_exit)


def _as_uid(identity: RunIdentity, action: Callable[[], None]) -> None:
    """Run ``action`` in a child that has become the run's uid, and wait for it.

    The child drops to the uid and runs ``action`` from preexec_fn, which must end with
    ``os._exit``: Popen sees the error pipe close cleanly and returns. Using Popen rather than
    os.fork keeps this safe to call from a threaded server.
    """
    proc = subprocess.Popen(
        ["/bin/true"],
        user=identity.uid,
        group=identity.gid,
        extra_groups=[],
        preexec_fn=action,
        close_fds=True,
    )
    _, status = os.waitpid(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)


def _kill_everything_then_exit() -> None:
    try:
        os.kill(-1, signal.SIGKILL)
    finally:
        os._exit(0)


def _call_all_then_exit(calls: list[tuple[Callable[..., int], tuple[object, ...]]]) -> None:
    try:
        for function, args in calls:
            function(*args)  # an object already gone is no error
    finally:
        os._exit(0)


@contextlib.contextmanager
def _opened_dir(path: str) -> Iterator[int | None]:
    try:
        fd = os.open(path, _OPEN_DIR)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def _owned_entries(
    dir_fd: int, uid: int, *, depth: int
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
            with contextlib.suppress(OSError), _opened_dir_at(name, dir_fd) as sub_fd:
                yield from _owned_entries(sub_fd, uid, depth=depth + 1)


@contextlib.contextmanager
def _opened_dir_at(name: str, dir_fd: int) -> Iterator[int]:
    fd = os.open(name, _OPEN_DIR, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _held_kb_below(dir_fd: int, uid: int) -> Iterator[int]:
    """KB of each entry of ``uid`` below ``dir_fd``, descending into its directories (whole) and
    into world-writable ones of others; MAX_OPEN_LEVELS deep at most."""
    for parent_fd, name, st in _owned_entries(dir_fd, uid, depth=0):
        yield max(st.st_blocks // 2, MIN_HELD_KB)
        if stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(OSError), _opened_dir_at(name, parent_fd) as sub_fd:
                yield from _held_kb_of_tree(sub_fd, uid)


def _held_kb_of_tree(top_fd: int, uid: int) -> Iterator[int]:
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
                fd = os.open(subdirs.pop(), _OPEN_DIR, dir_fd=parent_fd)
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


def _emptied_dir(name: str, dir_fd: int) -> tuple[int, str, list[str]]:
    """Open the directory ``name``, unlink everything in it but directories, and return its
    descriptor, its name and its subdirectories."""
    fd = os.open(name, _OPEN_DIR, dir_fd=dir_fd)
    subdirs = []
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.name)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.name, dir_fd=fd)
    except BaseException:
        os.close(fd)
        raise
    return fd, name, subdirs


def _enter_or_unlink(name: str, dir_fd: int) -> tuple[int, str, list[str]] | None:
    """Enter the subdirectory ``name``; if it was meanwhile replaced by a symlink or a file,
    unlink that instead; None when there is nothing to enter."""
    try:
        return _emptied_dir(name, dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)
        return None


def _filesystem_magic(path: str) -> int | None:
    """statfs(2) f_type of the filesystem holding ``path`` (None if it cannot be read): one call,
    where parsing /proc/self/mountinfo takes a millisecond on a host with many mounts."""
    libc = ctypes.CDLL(None, use_errno=True)
    # struct statfs opens with f_type, a long on every 64-bit Linux ABI; 256 bytes hold it all.
    buffer = ctypes.create_string_buffer(256)
    if libc.statfs(os.fsencode(path), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value


def _is_child_subreaper() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    flag = ctypes.c_int(0)
    return libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value == 1


def _is_zombie(pid: int) -> bool:
    st = read_stat(pid)
    return st is None or st.state in ("Z", "X")


def _reap_our_zombies(pids: list[int]) -> None:
    # Orphans of a run are re-parented to the service (a child subreaper, or PID 1 in a
    # container); their zombies count against the uid's process limit until reaped.
    me = os.getpid()
    for pid in pids:
        st = read_stat(pid)
        if st is not None and st.ppid == me and st.state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
