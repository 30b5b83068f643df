"""After a crash: a service records its uid range in its runs directory, and a service starting
on that directory cleans what a dead one left (its processes, warm compiler included, its files
in shared places and IPC objects, its run directories) before it reports ready.

A restarted service draws a new random uid base, so the dead one's uids are known only from its
record: ``.service-<uid base>.json`` (mode 0600, in the runs directory, which runs cannot list).
The record names the process (pid, its start time in clock ticks since boot, and the boot id):
a record whose process is gone or is another process now belongs to a dead service; one whose
process lives belongs to a service sharing the directory and is left alone.

``Sandbox.open`` recovers before it returns and ``Sandbox.close`` removes the service's own
record: a service reports ready only after what a dead one left is gone.
"""

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass

from executor.sandbox.identity import RunIdentity
from executor.sandbox.places import SHARED_WRITABLE_DIRS
from executor.sandbox.procfs import pids_of_uid
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.sweep import remove_ipc_objects, remove_owned_files
from executor.sandbox.tree import remove_tree

log = logging.getLogger("executor")

RECORD_PREFIX = ".service-"
RECORD_SUFFIX = ".json"
# How long the dead service's processes may take to die once killed.
KILL_TIMEOUT_S = 5.0
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


@dataclass(frozen=True)
class ServiceRecord:
    """Who holds a uid range on a runs directory: the process, and the range."""

    pid: int
    start_ticks: int
    boot_id: str
    uid_base: int
    uid_count: int

    def alive(self) -> bool:
        """Whether the process that wrote the record still runs."""
        return _boot_id() == self.boot_id and _start_ticks(self.pid) == self.start_ticks


@dataclass(frozen=True)
class UidRange:
    """The uids a service draws its runs, residents and companions from."""

    base: int
    count: int


async def recover_runs_dir(runs_dir: str, *, own: UidRange, helper: SpawnHelper) -> None:
    """Clean what every dead service recorded in ``runs_dir`` left, then record this one (its
    uids ``own``). Only with the uid layer: without it runs are told apart by nothing."""
    await asyncio.to_thread(_recover, runs_dir, own, helper)


def forget_record(runs_dir: str, *, own: UidRange) -> None:
    """Remove this service's record (at a clean shutdown, once its runs are cleaned up)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_record_path(runs_dir, own.base))


def _recover(runs_dir: str, own_uids: UidRange, helper: SpawnHelper) -> None:
    for name in sorted(os.listdir(runs_dir)):
        if not (name.startswith(RECORD_PREFIX) and name.endswith(RECORD_SUFFIX)):
            continue
        path = os.path.join(runs_dir, name)
        record = _read_record(path)
        if record is not None and record.alive():
            continue
        if record is not None:
            _clean_after(record, runs_dir=runs_dir, helper=helper)
        os.unlink(path)
    own = ServiceRecord(
        pid=os.getpid(),
        start_ticks=_start_ticks(os.getpid()) or 0,
        boot_id=_boot_id(),
        uid_base=own_uids.base,
        uid_count=own_uids.count,
    )
    path = _record_path(runs_dir, own_uids.base)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(own), f)


def _clean_after(record: ServiceRecord, *, runs_dir: str, helper: SpawnHelper) -> None:
    """End every process of the dead service's uids (runs and warm compilers: their keepers,
    left as root, end with them), remove the uids' files in shared places, their IPC objects,
    and the run directories they own."""
    uids = range(record.uid_base, record.uid_base + record.uid_count)
    killed = removed_files = 0
    for uid in uids:
        identity = RunIdentity(uid=uid, gid=uid)
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while pids := pids_of_uid(uid):
            killed += len(pids)
            helper.kill_all(identity)
            if time.monotonic() > deadline:
                log.error("recovery: uid %d still has processes %s", uid, pids[:10])
                break
            time.sleep(0.01)
        try:
            removed_files += remove_owned_files(identity, places=SHARED_WRITABLE_DIRS)
            remove_ipc_objects(identity, helper=helper)
        except OSError as exc:
            log.error("recovery: files of uid %d: %s", uid, exc)
    removed_dirs = 0
    dir_fd = os.open(runs_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in os.listdir(dir_fd):
            try:
                owner = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_uid
            except FileNotFoundError:
                continue
            if owner in uids:
                remove_tree(name, dir_fd=dir_fd)
                removed_dirs += 1
    finally:
        os.close(dir_fd)
    log.warning(
        "recovery: a service (pid %d, uids %d-%d) died without cleaning up: killed %d "
        "processes, removed %d run directories and %d files in shared places",
        record.pid,
        record.uid_base,
        record.uid_base + record.uid_count - 1,
        killed,
        removed_dirs,
        removed_files,
    )


def _read_record(path: str) -> ServiceRecord | None:
    try:
        with open(path) as f:
            return ServiceRecord(**json.load(f))
    except (OSError, ValueError, TypeError) as exc:
        log.warning("recovery: unreadable record %s: %s", path, exc)
        return None


def _record_path(runs_dir: str, uid_base: int) -> str:
    return os.path.join(runs_dir, f"{RECORD_PREFIX}{uid_base}{RECORD_SUFFIX}")


def _start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks after boot (field 22 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return int(raw[raw.rfind(b")") + 2 :].split()[19])


def _boot_id() -> str:
    try:
        with open(BOOT_ID_PATH) as f:
            return f.read().strip()
    except OSError:
        return ""
