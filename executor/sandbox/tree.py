"""Removes a directory tree at any depth without following a link a run planted in it."""

import contextlib
import errno
import os
import secrets
import stat

# A tree is walked holding one descriptor per level. Past this many levels, removal moves the
# rest of the branch up to the top of the tree.
MAX_OPEN_LEVELS = 64
# How often removal re-reads a directory that something filled again while it was emptied.
MAX_REFILLS = 100
OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


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


def _emptied_dir(name: str, dir_fd: int) -> tuple[int, str, list[str]]:
    """Open the directory ``name``, unlink everything in it but directories, and return its
    descriptor, its name and its subdirectories."""
    fd = os.open(name, OPEN_DIR, dir_fd=dir_fd)
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
