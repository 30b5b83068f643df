"""Measures what each run holds outside its processes: its files (in its own directory and, by
uid, in the shared places) and its socket buffers, from one background thread for the whole
replica: no scan ever runs on the event loop, and a scan stops as soon as a run is past its
caps, so its cost is bounded by the caps."""

import contextlib
import dataclasses
import os
import stat
import threading
import time
from dataclasses import dataclass, field

from executor.sandbox.libc import filesystem_magic
from executor.sandbox.places import opened_dir, opened_dir_at, owned_entries
from executor.sandbox.sockets import unix_socket_kb_by_uid, unix_socket_kb_in
from executor.sandbox.tree import OPEN_DIR
from executor.sandbox.workdir import BOX, TMP

# Each file or directory on a memory filesystem counts at least this much memory: an empty one
# still pins an inode and a dentry.
MIN_MEMORY_KB = 4
# statfs f_type of the filesystems whose files are memory (linux/magic.h).
MEMORY_FILESYSTEM_MAGICS = (0x01021994, 0x858458F6)  # TMPFS_MAGIC, RAMFS_MAGIC
# The scanner sleeps at least this long between rounds, and at least SCAN_DUTY_FACTOR times
# as long as the last round took: scanning costs at most 1 / (1 + factor) of one CPU, however
# many files the runs hold.
MIN_INTERVAL_S = 0.1
SCAN_DUTY_FACTOR = 4

# What the service made in a run's directory, which its disk_files limit does not count.
SERVICE_DIRECTORIES = frozenset({BOX, TMP})


@dataclass(frozen=True)
class Watch:
    """A run to measure: its uid, its directory (everything in it is the run's), the caps past
    which counting its files stops (it is over them either way), and, when it runs in a network
    namespace of its own, that namespace (an open /proc/<pid>/ns/net; None: the service's)."""

    uid: int
    work_root: str
    max_files: int
    max_disk_kb: int
    netns_fd: int | None = None


@dataclass(frozen=True)
class Usage:
    """What a run holds outside its processes: ``files`` entries of any kind, ``disk_kb``
    allocated, ``memory_kb`` the part of it on memory filesystems (tmpfs), and ``socket_kb``
    queued in its sockets: memory that no resident size shows. ``over`` is set when the file
    count stopped early, past ``max_files`` or ``max_disk_kb``."""

    files: int = 0
    disk_kb: int = 0
    memory_kb: int = 0
    socket_kb: int = 0
    over: bool = False

    @property
    def held_memory_kb(self) -> int:
        """Memory the run pins outside its processes: tmpfs files and socket buffers."""
        return self.memory_kb + self.socket_kb


@dataclass
class _Tally:
    watch: Watch
    files: int = 0
    disk_kb: int = 0
    memory_kb: int = 0
    seen: set[tuple[int, int]] = field(default_factory=set)

    @property
    def over(self) -> bool:
        return self.files > self.watch.max_files or self.disk_kb > self.watch.max_disk_kb

    def add(self, st: os.stat_result, *, memory: bool) -> None:
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in self.seen:  # a hard link counts once
                return
            self.seen.add((st.st_dev, st.st_ino))
        kb = st.st_blocks // 2
        self.files += 1
        self.disk_kb += kb
        if memory:
            self.memory_kb += max(kb, MIN_MEMORY_KB)

    def add_tree(
        self, top_fd: int, *, memory: bool, uncounted: frozenset[str] = frozenset()
    ) -> None:
        """Everything below ``top_fd``, at any depth, one descriptor per level; stops once over.
        The directories named ``uncounted`` right below ``top_fd`` are entered but do not count
        as files themselves."""
        levels = [(os.dup(top_fd), _entries(top_fd))]
        try:
            while levels and not self.over:
                fd, entries = levels[-1]
                if not entries:
                    os.close(fd)
                    levels.pop()
                    continue
                name, st = entries.pop()
                if not (len(levels) == 1 and name in uncounted and stat.S_ISDIR(st.st_mode)):
                    self.add(st, memory=memory)
                if stat.S_ISDIR(st.st_mode):
                    with contextlib.suppress(OSError):
                        sub = os.open(name, OPEN_DIR, dir_fd=fd)
                        levels.append((sub, _entries(sub)))
        finally:
            for fd, _ in levels:
                os.close(fd)

    def result(self, *, socket_kb: int) -> Usage:
        return Usage(self.files, self.disk_kb, self.memory_kb, socket_kb, self.over)


class UsageScanner:
    """Keeps the latest Usage of every watched run, measured in rounds by one thread.

    ``shared`` are the world-writable places a run can leave files in (see places.py): its
    entries there count, whole trees for its directories, found at any depth below the
    world-writable directories of others. ``start`` and ``stop`` run and end the thread.
    """

    def __init__(self, *, shared: tuple[str, ...], runs_dir: str) -> None:
        self.shared = shared
        self.runs_dir = runs_dir
        self._watches: dict[int, Watch] = {}
        self._usage: dict[int, Usage] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._memory: dict[str, bool] = {}

    def start(self) -> None:
        """Find which places are memory filesystems, and start scanning."""
        self._memory = {
            path: filesystem_magic(path) in MEMORY_FILESYSTEM_MAGICS
            for path in (*self.shared, self.runs_dir)
        }
        self._thread = threading.Thread(target=self._loop, name="usage-scanner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread (waits for the round under way)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def watch(self, watch: Watch) -> None:
        """Measure ``watch.uid`` from the next round on (with new caps if already watched)."""
        with self._lock:
            old = self._watches.get(watch.uid)
            if old is not None and old.netns_fd is not None:
                watch = dataclasses.replace(watch, netns_fd=old.netns_fd)
            self._watches[watch.uid] = watch
            self._usage.setdefault(watch.uid, Usage())

    def unwatch(self, uid: int) -> None:
        """Stop measuring ``uid`` (and close its namespace descriptor)."""
        with self._lock:
            watch = self._watches.pop(uid, None)
            self._usage.pop(uid, None)
        if watch is not None and watch.netns_fd is not None:
            os.close(watch.netns_fd)

    def enter_namespace(self, uid: int, pid: int) -> None:
        """The run of ``uid`` lives in the network namespace of its process ``pid``: measure its
        sockets there. Does nothing if the namespace cannot be opened (the process is gone)."""
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        with self._lock:
            watch = self._watches.get(uid)
            if watch is None or watch.netns_fd is not None:
                os.close(fd)
                return
            self._watches[uid] = dataclasses.replace(watch, netns_fd=fd)

    def usage(self, uid: int) -> Usage:
        """The latest measure of ``uid`` (zeros before the first round, or if not watched)."""
        return self._usage.get(uid, Usage())

    def measure(self, uid: int) -> Usage:
        """Measure ``uid`` now, in the calling thread (blocking: call it off the event loop),
        and keep the result as its latest."""
        with self._lock:
            watch = self._watches.get(uid)
        if watch is None:
            return Usage()
        usage = self._measure(watch, sockets=self._sockets([watch]))
        with self._lock:
            if uid in self._watches:
                self._usage[uid] = usage
        return usage

    def _loop(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            with self._lock:
                watches = list(self._watches.values())
            sockets = self._sockets(watches)
            for watch in watches:
                usage = self._measure(watch, sockets=sockets)
                with self._lock:
                    if watch.uid in self._watches:
                        self._usage[watch.uid] = usage
            elapsed = time.monotonic() - started
            self._stopping.wait(max(MIN_INTERVAL_S, elapsed * SCAN_DUTY_FACTOR))

    def _sockets(self, watches: list[Watch]) -> dict[tuple[int | None, int], int]:
        """KB in sockets by (namespace descriptor, uid): one dump of the service's network
        namespace, one of each run's own. A dump that fails counts nothing (and is logged
        by nobody: the scanner must keep going)."""
        found: dict[tuple[int | None, int], int] = {}
        for netns_fd in {w.netns_fd for w in watches}:
            try:
                held = unix_socket_kb_by_uid() if netns_fd is None else unix_socket_kb_in(netns_fd)
            except OSError:
                continue
            found.update({(netns_fd, uid): kb for uid, kb in held.items()})
        return found

    def _measure(self, watch: Watch, *, sockets: dict[tuple[int | None, int], int]) -> Usage:
        socket_kb = sockets.get((watch.netns_fd, watch.uid), 0)
        tally = _Tally(watch)
        with opened_dir(watch.work_root) as fd:
            if fd is not None:
                memory = self._memory.get(self.runs_dir, False)
                tally.add_tree(fd, memory=memory, uncounted=SERVICE_DIRECTORIES)
        for place in self.shared:
            memory = self._memory.get(place, False)
            with opened_dir(place) as place_fd:
                if place_fd is None:
                    continue
                with contextlib.closing(owned_entries(place_fd, watch.uid)) as entries:
                    for parent_fd, name, st in entries:
                        tally.add(st, memory=memory)
                        if stat.S_ISDIR(st.st_mode):
                            with (
                                contextlib.suppress(OSError),
                                opened_dir_at(name, parent_fd) as sub,
                            ):
                                tally.add_tree(sub, memory=memory)
                        if tally.over:
                            return tally.result(socket_kb=socket_kb)
        return tally.result(socket_kb=socket_kb)


def _entries(dir_fd: int) -> list[tuple[str, os.stat_result]]:
    found = []
    with contextlib.suppress(OSError), os.scandir(dir_fd) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                found.append((entry.name, entry.stat(follow_symlinks=False)))
    return found
