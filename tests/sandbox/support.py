"""Helpers for the sandbox's tests: uids nothing else uses, deep trees made without PATH_MAX."""

import os
import secrets
from pathlib import Path

from executor.sandbox.identity import RunIdentity


def unused_identity() -> RunIdentity:
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
