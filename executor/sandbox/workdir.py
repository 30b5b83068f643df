"""A fresh working directory per run: sources in, owned by the run's uid, always removed."""

import contextlib
import os
import secrets
import stat
from collections.abc import Collection, Generator, Mapping
from dataclasses import dataclass

from executor.sandbox.identity import RunIdentity
from executor.sandbox.tree import remove_tree

# The two directories the service makes in every run's directory: the program's own (its
# sources, its cwd) and its temporary one (TMPDIR and HOME). Not the run's files: its disk_files
# limit does not count them.
BOX = "box"
TMP = "tmp"


@dataclass(frozen=True)
class Workdir:
    """``root`` (mode 0700) holds ``box`` (the cwd, with the sources) and ``tmp`` (the run's
    ``/tmp`` and ``$HOME``: a directory of its own for the home cost a mkdir, a chown and an
    rmdir per run, on the event loop and in the cleanup; Python hello worlds at concurrency 2,
    12 interleaved rounds: 126 against 120 per s)."""

    root: str
    box: str
    tmp: str


def create_workdir(
    runs_dir: str, *, files: Mapping[str, bytes], identity: RunIdentity | None
) -> Workdir:
    """Create a new directory under ``runs_dir`` holding ``files`` (names already validated: no
    '/', no '..'), owned by ``identity`` when given. The name is random, so one run cannot guess
    another's; ``runs_dir`` is mode 0711 so a run can reach its own directory but list none.
    Raises OSError when it cannot (a name the file system refuses, a full disk), having removed
    whatever it made."""
    root = os.path.join(runs_dir, secrets.token_hex(12))
    os.mkdir(root, 0o700)
    work = Workdir(
        root=root,
        box=os.path.join(root, BOX),
        tmp=os.path.join(root, TMP),
    )
    try:
        _fill(work, files=files, identity=identity)
    except BaseException:
        remove_workdir(work)
        raise
    return work


def _fill(work: Workdir, *, files: Mapping[str, bytes], identity: RunIdentity | None) -> None:
    for path in (work.box, work.tmp):
        os.mkdir(path, 0o700)
    # Nothing of the run exists yet, so plain writes are safe here; ownership is handed over last.
    for name, content in files.items():
        fd = os.open(
            os.path.join(work.box, name),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
            0o600,
        )
        with os.fdopen(fd, "wb") as f:
            f.write(content)
    if identity is not None:
        for path in (work.root, work.box, work.tmp):
            os.chown(path, identity.uid, identity.gid, follow_symlinks=False)
        for name in files:
            os.chown(
                os.path.join(work.box, name), identity.uid, identity.gid, follow_symlinks=False
            )


def add_files(
    work: Workdir,
    files: Mapping[str, bytes],
    *,
    identity: RunIdentity | None,
    directories: Collection[str] = (),
) -> None:
    """Write ``files`` into the box, by relative path (``pkg/Name.class``), creating directories,
    and make the (empty) ``directories``, all owned by ``identity``. Call it only while no
    process of the run is alive: it replaces an existing file of that name, opens nothing
    through a symlink (O_NOFOLLOW at every step) and refuses a path with an empty, '.' or '..'
    component. Raises ValueError for such a path."""
    box_fd = os.open(work.box, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for path in directories:
            os.close(_open_dirs(box_fd, _parts(path), identity))
        for path, content in files.items():
            *dirs, name = _parts(path)
            dir_fd = _open_dirs(box_fd, dirs, identity)
            try:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=dir_fd)
                fd = os.open(
                    name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd
                )
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
                _give(name, dir_fd, identity)
            finally:
                os.close(dir_fd)
    finally:
        os.close(box_fd)


def read_file(work: Workdir, path: str, *, max_bytes: int) -> bytes | None:
    """The first ``max_bytes`` of the regular file at ``path`` (relative) in the box, or None
    when there is none there. Safe against what a run may have planted, even with its
    processes still alive: no symlink is followed (O_NOFOLLOW at every step), a FIFO or device
    is neither waited on (O_NONBLOCK) nor read, and a file still growing is read only up to
    ``max_bytes``. Raises ValueError for a path with an empty, '.' or '..' component."""
    *dirs, name = _parts(path)
    try:
        dir_fd = _walk(work.box, dirs)
    except OSError:
        return None
    try:
        return _read_regular(name, dir_fd=dir_fd, max_bytes=max_bytes)
    finally:
        os.close(dir_fd)


def read_files(
    work: Workdir, *, skip: Collection[str], max_files: int, max_bytes: int
) -> dict[str, bytes] | None:
    """Every regular file in the box (at any depth, by relative path) except those named in
    ``skip``; None when there are more than ``max_files`` of them or they hold more than
    ``max_bytes`` together. Follows no symlink and opens no FIFO or device (as read_file)."""
    found: dict[str, bytes] = {}
    left = max_bytes
    box_fd = os.open(work.box, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    files = _regular_files(box_fd, "")
    try:
        for path, dir_fd, name in files:
            if path in skip:
                continue
            if len(found) == max_files:
                return None
            content = _read_regular(name, dir_fd=dir_fd, max_bytes=left + 1)
            if content is None:
                continue
            left -= len(content)
            if left < 0:
                return None
            found[path] = content
    finally:
        files.close()  # closes the directories it holds open
        os.close(box_fd)
    return found


def _parts(path: str) -> list[str]:
    parts = path.split("/")
    if any(part in ("", ".", "..") or "\x00" in part for part in parts):
        raise ValueError(f"refusing the path {path!r}")
    return parts


def _open_dirs(box_fd: int, dirs: list[str], identity: RunIdentity | None) -> int:
    """A descriptor of the directory ``dirs`` below the box, made (owned by ``identity``)
    where missing; no symlink followed."""
    dir_fd = os.dup(box_fd)
    try:
        for part in dirs:
            try:
                os.mkdir(part, 0o700, dir_fd=dir_fd)
                _give(part, dir_fd, identity)
            except FileExistsError:
                pass
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
    except BaseException:
        os.close(dir_fd)
        raise
    return dir_fd


def _walk(box: str, dirs: list[str]) -> int:
    dir_fd = os.open(box, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in dirs:
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
    except BaseException:
        os.close(dir_fd)
        raise
    return dir_fd


def _regular_files(dir_fd: int, prefix: str) -> Generator[tuple[str, int, str], None, None]:
    """(relative path, its directory's descriptor, name) of the regular files below ``dir_fd``,
    depth first; a directory that turns into something else meanwhile is skipped."""
    with os.scandir(dir_fd) as listing:
        entries = list(listing)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            try:
                sub_fd = os.open(
                    entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd
                )
            except OSError:
                continue
            try:
                yield from _regular_files(sub_fd, f"{prefix}{entry.name}/")
            finally:
                os.close(sub_fd)
        elif entry.is_file(follow_symlinks=False):
            yield f"{prefix}{entry.name}", dir_fd, entry.name


def _read_regular(name: str, *, dir_fd: int, max_bytes: int) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        left = max_bytes
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _give(name: str, dir_fd: int, identity: RunIdentity | None) -> None:
    if identity is not None:
        os.chown(name, identity.uid, identity.gid, dir_fd=dir_fd, follow_symlinks=False)


def prepare_runs_dir(runs_dir: str) -> None:
    """Create the directory that holds every run's workdir: owned by the service, mode 0711."""
    os.makedirs(runs_dir, exist_ok=True)
    os.chmod(runs_dir, 0o711)


def remove_workdir(work: Workdir) -> None:
    """Remove the whole tree, however deep, without following any symlink the run planted and
    whatever a process still alive writes meanwhile (see tree.remove_tree; shutil.rmtree
    recurses, and a run can nest directories deeper than Python's recursion limit). Never
    raises: what cannot be removed stays (the caller checks, and a run cannot make the service
    fail)."""
    parent_fd = os.open(os.path.dirname(work.root), os.O_RDONLY | os.O_DIRECTORY)
    try:
        remove_tree(os.path.basename(work.root), dir_fd=parent_fd)
    except OSError:
        pass
    finally:
        os.close(parent_fd)
