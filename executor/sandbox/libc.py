"""The few libc calls the standard library lacks (prctl, statfs; setns and unshare before Python
3.12), through one ctypes handle."""

import ctypes
import functools
import os

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture
LANDLOCK_CREATE_RULESET_VERSION = 1


def set_child_subreaper(enabled: bool = True) -> None:
    """Make orphans of our descendants come back to this process instead of PID 1, so the
    supervisor still sees (and reaps) a run's double-forked processes; ``enabled=False`` ends
    that. Raises OSError."""
    if _libc().prctl(PR_SET_CHILD_SUBREAPER, int(enabled), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(error)}")


def is_child_subreaper() -> bool:
    """Whether this process is a child subreaper."""
    flag = ctypes.c_int(0)
    return _libc().prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and bool(
        flag.value
    )


def filesystem_magic(path: str) -> int | None:
    """statfs(2) f_type of the filesystem holding ``path`` (None if it cannot be read): one call,
    where parsing /proc/self/mountinfo takes a millisecond on a host with many mounts."""
    # struct statfs opens with f_type, a long on every 64-bit Linux ABI; 256 bytes hold it all.
    buffer = ctypes.create_string_buffer(256)
    if _libc().statfs(os.fsencode(path), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace open at ``fd``. Raises OSError."""
    if _libc().setns(fd, nstype) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def unshare(flags: int) -> None:
    """Move the calling thread into new namespaces (``flags``: CLONE_NEW*). Raises OSError."""
    if _libc().unshare(flags) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare: {os.strerror(error)}")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(
        ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
        ctypes.c_void_p(None),
        ctypes.c_size_t(0),
        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(int(version), 0)


@functools.cache
def _libc() -> ctypes.CDLL:
    # dlopen(NULL): the libc already loaded, no library search. Kept once made: a handle made per
    # call cost about 0.15 ms of the event loop's time per run (py-spy, hello worlds at
    # concurrency 2), where the service checks it is a subreaper and measures a run's sockets.
    return ctypes.CDLL(None, use_errno=True)
