"""Reads /proc: the processes of a run's tree, their CPU time and resident memory.

Hand-written rather than psutil, because the supervisor samples every run's tree every 20 ms
on the event loop: psutil finds children by reading the stat file of every process on the
machine, this module follows /proc/<pid>/task/<tid>/children. Measured by
bench/procfs_vs_psutil.py (figures in bench/RESULTS.md): about 35x faster for a small tree on
a machine running a hundred processes. psutil also cannot read /proc/sysvipc.
"""

import os
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcStat:
    """One line of /proc/<pid>/stat, reduced to what the supervisor needs."""

    pid: int
    ppid: int
    session: int
    state: str
    cpu_ticks: int  # utime + stime + cutime + cstime: the process and the children it reaped
    rss_pages: int
    threads: int


@dataclass(frozen=True, slots=True)
class IpcObject:
    """One System V IPC object from /proc/sysvipc: a shm segment, message queue or semaphore set."""

    kind: str  # "shm", "msg" or "sem"
    ipc_id: int
    owner_uid: int  # may be changed by its creator (IPC_SET)
    creator_uid: int  # never changes: the uid that made it
    held_bytes: int  # memory it pins: a segment's resident + swapped pages, a queue's messages


@dataclass(frozen=True, slots=True)
class TreeUsage:
    """CPU time and resident memory summed over a process tree at one instant."""

    cpu_time_ms: int
    rss_kb: int
    pids: tuple[int, ...]
    tasks: int  # processes and their threads: what RLIMIT_NPROC counts


# Columns of /proc/sysvipc/<kind> that count memory an object holds, in bytes.
_HELD_COLUMNS = {"shm": ("rss", "swap"), "msg": ("cbytes",), "sem": ()}


def read_stat(pid: int) -> ProcStat | None:
    """Parse /proc/<pid>/stat, or return None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name sits in parentheses and may itself hold spaces or ')'.
    rest = raw[raw.rfind(b")") + 2 :].split()
    if len(rest) < 22:
        return None
    return ProcStat(
        pid=pid,
        ppid=int(rest[1]),
        session=int(rest[3]),
        state=rest[0].decode(),
        cpu_ticks=int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14]),
        rss_pages=int(rest[21]),
        threads=int(rest[17]),
    )


def children_of(pid: int) -> list[int]:
    """The children of every thread of ``pid`` (from /proc/<pid>/task/<tid>/children, which
    needs CONFIG_PROC_CHILDREN); empty if the process is gone. Raises FileNotFoundError when the
    kernel has no such files, so the caller can scan all of /proc instead."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        # ESRCH, not ENOENT, when the process is reaped between the lookup and the read: seen
        # once in CI as a 500 (test_a_dead_warm_compiler_falls_back_to_fresh_javac).
        return []
    found: list[int] = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(child) for child in f.read().split())
        except ProcessLookupError:
            continue
        except FileNotFoundError:
            if os.path.exists(f"/proc/{pid}/task/{tid}"):
                raise  # the thread exists: this kernel has no children files
    return found


def read_tree_stats(roots: Iterable[int]) -> dict[int, ProcStat]:
    """``roots`` and all their descendants, by following children files: a few reads for a
    small tree, where read_all_stats reads every process on the machine."""
    stats: dict[int, ProcStat] = {}
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in stats:
            continue
        stat = read_stat(pid)
        if stat is None:
            continue
        stats[pid] = stat
        stack.extend(children_of(pid))
    return stats


def read_all_stats() -> dict[int, ProcStat]:
    """Every process visible in /proc, keyed by pid."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def real_uid(pid: int) -> int | None:
    """The real uid of a process from /proc/<pid>/status (reliable even for a process that made
    itself non-dumpable, whose /proc directory then belongs to root), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


@dataclass(frozen=True, slots=True)
class MemoryStatus:
    """From /proc/<pid>/status: ``peak_rss_kb`` (VmHWM, the peak resident memory since the
    last exec) and ``page_tables_kb`` (VmPTE: memory no resident size shows, which a process
    can grow to gigabytes by touching sparse address space)."""

    peak_rss_kb: int = 0
    page_tables_kb: int = 0


def memory_status(pid: int) -> MemoryStatus:
    """The process's MemoryStatus; zeros if it is gone or a zombie."""
    peak = tables = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    peak = int(line.split()[1])
                elif line.startswith(b"VmPTE:"):
                    tables = int(line.split()[1])
                    break  # VmPTE comes after VmHWM
    except (FileNotFoundError, ProcessLookupError):
        pass
    return MemoryStatus(peak_rss_kb=peak, page_tables_kb=tables)


def pids_of_uid(uid: int) -> list[int]:
    """All processes (zombies included) whose real uid is ``uid``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            pid = int(name)
            try:
                owner = os.stat(f"/proc/{pid}").st_uid
            except FileNotFoundError:
                continue
            # A non-dumpable process shows as root in the directory owner: ask status then.
            if owner == uid or (owner == 0 and real_uid(pid) == uid):
                found.append(pid)
    return found


def sysv_ipc_objects(kinds: Iterable[str] = ("shm", "msg", "sem")) -> list[IpcObject]:
    """The System V IPC objects of the caller's IPC namespace. They belong to no process: a
    segment or queue lives, and holds its memory, until someone removes it."""
    found = []
    for kind in kinds:
        try:
            with open(f"/proc/sysvipc/{kind}", "rb") as f:
                header, *rows = f.read().splitlines()
        except (FileNotFoundError, ValueError):
            continue  # a kernel without System V IPC
        columns = {name: i for i, name in enumerate(header.decode().split())}
        held = [columns[c] for c in _HELD_COLUMNS[kind]]
        for row in rows:
            fields = row.split()
            found.append(
                IpcObject(
                    kind=kind,
                    ipc_id=int(fields[1]),  # shmid, msqid or semid
                    owner_uid=int(fields[columns["uid"]]),
                    creator_uid=int(fields[columns["cuid"]]),
                    held_bytes=sum(int(fields[i]) for i in held),
                )
            )
    return found


def tree_usage(stats: dict[int, ProcStat], roots: Iterable[int]) -> TreeUsage:
    """Sum CPU and RSS over ``roots`` and all their descendants in ``stats``."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    seen: list[int] = []
    stack = [pid for pid in roots if pid in stats]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.append(pid)
        stack.extend(children.get(pid, ()))
    ticks = sum(stats[pid].cpu_ticks for pid in seen)
    pages = sum(stats[pid].rss_pages for pid in seen)
    return TreeUsage(
        cpu_time_ms=ticks * 1000 // os.sysconf("SC_CLK_TCK"),
        rss_kb=pages * (os.sysconf("SC_PAGE_SIZE") // 1024),
        pids=tuple(seen),
        tasks=sum(stats[pid].threads for pid in seen),
    )


def memory_event_files() -> list[str]:
    """Where the kernel counts out-of-memory kills for this process's memory cgroup: in a
    container its cgroup is mounted at /sys/fs/cgroup (v2: memory.events; v1:
    memory/memory.oom_control); on a host, below the path /proc/self/cgroup gives."""
    paths = []
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if number == "0" and path != "/":
            paths.append(f"/sys/fs/cgroup{path}/memory.events")
        elif "memory" in controllers.split(",") and path != "/":
            paths.append(f"/sys/fs/cgroup/memory{path}/memory.oom_control")
    return [*paths, "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"]
