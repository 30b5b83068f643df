"""Checks the hostile suite makes as root beside the service under attack: called in the test
process when the service runs on this host, or run inside its container through ``docker exec``
(the container's files, /tmp, /dev/shm and System V IPC are its own).

Standard library only, and every argument and result is JSON, so that the same function serves
both places: ``python -I -c "<this file>" NAME JSON_ARGS`` prints ``NAME(*JSON_ARGS)`` as JSON.
"""

import json
import os
import shutil
import stat
import sys
from collections.abc import Collection

__all__ = [
    "capacity_mb",
    "existing",
    "file_state",
    "files_of_uids",
    "find_box",
    "ipc_objects_of_uids",
    "kinds",
    "leftovers",
    "listdir",
    "make_shared_dir",
    "marked_files",
    "plant_secret",
    "remove",
    "service_code",
    "write_text",
    "zombies",
]

# Files whose content a hostile program may have marked: the service's code and its settings.
CODE_SUFFIXES = (".py", ".pth", ".cfg")
_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "link"))


def files_of_uids(
    first_uid: int, count: int, places: list[str], skip: Collection[str] = ()
) -> list[str]:
    """Every entry under ``places`` (whole trees, links not followed, directories in ``skip``
    not entered) owned by a uid or gid in [first_uid, first_uid + count)."""
    uids = range(first_uid, first_uid + count)
    found = []
    pending = list(places)  # iterative: a run may leave a tree deeper than the recursion limit
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid in uids or st.st_gid in uids:
                found.append(f"{entry.path} uid={st.st_uid}")
            elif stat.S_ISDIR(st.st_mode) and entry.path not in skip:
                pending.append(entry.path)
    return found


def ipc_objects_of_uids(first_uid: int, count: int) -> list[str]:
    """System V shared memory, message queues and semaphores owned or created by a uid in
    [first_uid, first_uid + count), in this IPC namespace."""
    uids = range(first_uid, first_uid + count)
    found = []
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as f:
            lines = f.read().splitlines()
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split(), strict=False))
            if int(row["uid"]) in uids or int(row["cuid"]) in uids:
                found.append(f"{kind} {line.split()}")
    return found


def zombies() -> list[str]:
    """Every zombie process in this PID namespace: in a container, a child of PID 1 (the
    service) that it never reaped."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":\t", 1) for line in f.read().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("State", "").startswith("Z"):
            found.append(f"{pid} {fields['Name']} ppid={fields['PPid']} uid={fields['Uid']}")
    return found


def leftovers(
    first_uid: int,
    count: int,
    places: list[str],
    skip: list[str],
    with_zombies: bool,
    runner_uids: Collection[int] = (),
    shared_places: Collection[str] = (),
) -> dict[str, list[str]]:
    """``files_of_uids``, ``ipc_objects_of_uids`` and, if asked, ``zombies`` at once (one
    ``docker exec``). Files of the uids ``runner_uids`` (runners waiting for a run: their run
    directories are their own) are not leftovers, but in ``shared_places``. The uid, not the
    runner's /proc/<pid>/cwd: root without CAP_SYS_PTRACE (a container's) cannot read that."""
    found = {
        "files": [
            entry
            for entry in files_of_uids(first_uid, count, places, skip)
            if not _a_runners_own(entry, runner_uids, shared_places)
        ],
        "ipc": ipc_objects_of_uids(first_uid, count),
    }
    if with_zombies:
        found["zombies"] = zombies()
    return found


def _a_runners_own(
    entry: str, runner_uids: Collection[int], shared_places: Collection[str]
) -> bool:
    path, uid = entry.rsplit(" uid=", 1)
    shared = any(path == place or path.startswith(place + "/") for place in shared_places)
    return int(uid) in runner_uids and not shared


def capacity_mb(path: str) -> int:
    """Size of the filesystem holding ``path``, in MB."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize // (1024 * 1024)


def service_code(spawn_helper: str | None) -> dict[str, object]:
    """Where the service's code lives: ``repo``, the directory holding its ``executor`` package
    (the repository on a host, site-packages in an image), and ``targets``, files whose change
    would run code as root: two of its modules, the standard library's os.py, the venv's
    pyvenv.cfg, and the native spawn helper when it has one."""
    import executor  # here, not at the top: a probe run in a container imports only what it uses

    package = os.path.dirname(executor.__file__)
    targets = [
        os.path.join(package, "app.py"),
        os.path.join(package, "sandbox", "box.py"),
        os.__file__,
        os.path.join(sys.prefix, "pyvenv.cfg"),
    ]
    if spawn_helper is not None:
        targets.append(spawn_helper)
    return {"repo": os.path.dirname(package), "targets": targets}


def marked_files(root: str, mark: str) -> list[str]:
    """Paths under ``root`` (links not followed) whose name holds ``mark``, or code files
    (``CODE_SUFFIXES``) whose content does."""
    found = []
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            if mark in name:
                found.append(path)
            elif name.endswith(CODE_SUFFIXES) and os.path.isfile(path):
                with open(path, "rb") as f:
                    if mark.encode() in f.read():
                        found.append(path)
    return found


def existing(paths: list[str]) -> list[str]:
    """Those of ``paths`` that exist, even as a dangling link."""
    return [path for path in paths if os.path.lexists(path)]


def kinds(paths: list[str]) -> dict[str, str]:
    """Each path's kind, links not followed: file, dir, link, other or missing."""
    found = {}
    for path in paths:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            found[path] = "missing"
            continue
        found[path] = next((kind for test, kind in _KINDS if test(mode)), "other")
    return found


def listdir(path: str) -> list[str]:
    return sorted(os.listdir(path))


def find_box(run_root: str, before: list[str], secret: str) -> str | None:
    """The workspace (``<run dir>/box``) of a run directory not in ``before`` whose
    a-secret.txt holds ``secret``, or None while there is none."""
    for name in sorted(set(os.listdir(run_root)) - set(before)):
        box = os.path.join(run_root, name, "box")
        try:
            with open(os.path.join(box, "a-secret.txt")) as f:
                if f.read() == secret:
                    return box
        except OSError:
            continue
    return None


def write_text(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def make_shared_dir(path: str) -> None:
    """A root-owned, world-writable, sticky directory (like /tmp/.X11-unix)."""
    os.mkdir(path, 0o1777)
    os.chmod(path, 0o1777)


def plant_secret(path: str, content: str) -> dict[str, object]:
    """A new root-only (0600) file holding ``content``; returns its ``file_state``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    return file_state(path)


def file_state(path: str) -> dict[str, object]:
    """Owner, group, permission bits, size, modification time and content of a file."""
    st = os.lstat(path)
    with open(path) as f:
        content = f.read()
    return {
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mode": stat.S_IMODE(st.st_mode),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "content": content,
    }


def remove(path: str) -> None:
    """Remove a file or a whole tree (links not followed)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _main(argv: list[str]) -> None:
    name, args = argv[1], json.loads(argv[2])
    if name not in __all__:
        raise SystemExit(f"no probe {name!r}; one of {__all__}")
    json.dump(globals()[name](*args), sys.stdout)


if __name__ == "__main__":
    _main(sys.argv)
