"""A fresh working directory per run: sources in, owned by the run's uid, always removed."""

import os
import secrets
import shutil
from dataclasses import dataclass

from executor.sandbox.identity import RunIdentity


@dataclass(frozen=True)
class Workdir:
    """``root`` (mode 0700) holds ``box`` (the cwd, with the sources), ``home`` and ``tmp``."""

    root: str
    box: str
    home: str
    tmp: str


def create_workdir(
    parent: str, *, files: dict[str, bytes], identity: RunIdentity | None
) -> Workdir:
    """Create a new directory under ``parent`` holding ``files`` (names already validated: no
    '/', no '..'), owned by ``identity`` when given. The name is random, so one run cannot guess
    another's; ``parent`` is mode 0711 so a run can reach its own directory but list none."""
    root = os.path.join(parent, secrets.token_hex(12))
    os.mkdir(root, 0o700)
    work = Workdir(
        root=root,
        box=os.path.join(root, "box"),
        home=os.path.join(root, "home"),
        tmp=os.path.join(root, "tmp"),
    )
    for path in (work.box, work.home, work.tmp):
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
        for path in (work.root, work.box, work.home, work.tmp):
            os.chown(path, identity.uid, identity.gid, follow_symlinks=False)
        for name in files:
            os.chown(
                os.path.join(work.box, name), identity.uid, identity.gid, follow_symlinks=False
            )
    return work


def prepare_parent(parent: str) -> None:
    """Create the directory that holds every run's workdir: root-owned, mode 0711."""
    os.makedirs(parent, exist_ok=True)
    os.chmod(parent, 0o711)


def remove_workdir(work: Workdir) -> None:
    """Remove the whole tree without following any symlink the run planted (rmtree works on
    directory descriptors here: ``shutil.rmtree.avoids_symlink_attacks`` is true on Linux)."""
    shutil.rmtree(work.root, ignore_errors=True)
