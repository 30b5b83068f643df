"""Removes a directory tree at any depth, without following a link a run planted in it, and
while another uid keeps writing into it."""

import contextlib
import errno
import os
import secrets
import stat

# A tree is walked holding one descriptor per level. Past this many levels, removal moves the
# rest of the branch up to the top of the tree.
MAX_OPEN_LEVELS = 64
# How often one name may change under us (a file becoming a directory, a directory refilled)
# before removal gives up on the tree: only a writer racing us on purpose gets there, and it
# can no longer write once its directories are seized (remove_tree), so a few looks suffice.
MAX_LOOKS = 100
OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LOOK_AGAIN = (errno.EISDIR, errno.ENOTDIR, errno.ENOTEMPTY, errno.ELOOP, errno.EEXIST)


def remove_tree(name: str, *, dir_fd: int) -> None:
    """Remove ``name`` inside the directory ``dir_fd``, and everything below it, at any depth.

    Every step is relative to a directory descriptor opened with O_NOFOLLOW, so a symlink is
    removed, never followed, even one swapped in while we work. Each directory is seized as it
    is entered (owned by root, mode 0700), so no other uid can add, flip or remove entries in it
    any more, whatever it was allowed before. An entry that changes kind between two looks
    (EISDIR, ENOTDIR, ENOTEMPTY) is looked at again. At most MAX_OPEN_LEVELS descriptors are
    held: a deeper branch is renamed up to the top directory and removed from there (a
    recursive remover would hit Python's recursion limit on a tree a run built with a few
    thousand mkdir/chdir calls). Returns quietly if ``name`` is gone; raises OSError if
    something cannot be removed.
    """
    for _ in range(MAX_LOOKS):
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        try:
            if stat.S_ISDIR(st.st_mode):
                _remove_directory(name, dir_fd)
            else:
                os.unlink(name, dir_fd=dir_fd)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno not in _LOOK_AGAIN:
                raise
    raise OSError(errno.EAGAIN, f"{name!r} kept changing while it was removed")


def _remove_directory(name: str, dir_fd: int) -> None:
    top = _enter(name, dir_fd)
    if top is None:
        return
    stack = [top]  # (descriptor, name in the parent, subdirectories left) per level
    looks = 0
    try:
        while stack:
            fd, dir_name, subdirs = stack[-1]
            if subdirs:
                sub = subdirs.pop()
                if len(stack) < MAX_OPEN_LEVELS:
                    entered = _enter(sub, fd)
                    if entered is not None:
                        stack.append(entered)
                else:
                    top_fd, _, top_subdirs = stack[0]
                    moved = f".removing-{secrets.token_hex(8)}"
                    with contextlib.suppress(FileNotFoundError):
                        os.rename(sub, moved, src_dir_fd=fd, dst_dir_fd=top_fd)
                        top_subdirs.append(moved)
                continue
            stack.pop()
            os.close(fd)
            parent_fd = stack[-1][0] if stack else dir_fd
            try:
                os.rmdir(dir_name, dir_fd=parent_fd)
            except FileNotFoundError:
                pass
            except OSError as exc:
                # Entries came back (a writer that got in before the seizure): look again.
                if exc.errno not in _LOOK_AGAIN or looks >= MAX_LOOKS:
                    raise
                looks += 1
                entered = _enter(dir_name, parent_fd)
                if entered is not None:
                    stack.append(entered)
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def _enter(name: str, dir_fd: int) -> tuple[int, str, list[str]] | None:
    """Open the subdirectory ``name``, seize it, remove everything in it but directories, and
    return its descriptor, its name and its subdirectories. If it became a symlink or a file
    meanwhile, unlink that instead; None when there is nothing to enter."""
    try:
        fd = os.open(name, OPEN_DIR, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(name, dir_fd=dir_fd)
        return None
    try:
        seize(fd)
        subdirs = []
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.name)
                    continue
                try:
                    os.unlink(entry.name, dir_fd=fd)
                except FileNotFoundError:
                    pass
                except IsADirectoryError:  # it became a directory since scandir looked
                    subdirs.append(entry.name)
    except BaseException:
        os.close(fd)
        raise
    return fd, name, subdirs


def seize(dir_fd: int) -> None:
    """Make the open directory root's, mode 0700: no other uid may add, rename or remove an
    entry in it any more (its former owner could chmod it back; root's it cannot). Only root
    may do this; as another user it does nothing."""
    if os.geteuid() != 0:
        return
    os.fchown(dir_fd, 0, 0)
    os.fchmod(dir_fd, 0o700)
