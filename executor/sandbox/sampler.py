"""Samples a process tree: CPU time, resident memory now and at its peak, and memory the run pins
outside its processes; used by the supervisor and by resident helpers alike."""

import os
import time

from executor.sandbox.identity import RunIdentity
from executor.sandbox.pinned import held_file_kb, held_ipc_kb, memory_backed_places
from executor.sandbox.procfs import (
    children_of,
    peak_rss_kb,
    read_all_stats,
    read_stat,
    read_tree_stats,
    real_uid,
    tree_usage,
)

# Orphans (double-forked daemons) are looked for less often: it reads every service thread.
ORPHAN_SCAN_INTERVAL_S = 0.1
# Files in memory-backed places are measured at most this often: a scan lists whole directories.
HELD_FILES_INTERVAL_S = 0.1


class TreeSampler:
    """The tree rooted at ``pid`` plus the orphans of the run re-parented to the service (a
    child subreaper): ours by uid when the run has one, else by session.

    After each ``sample()``: ``cpu_time_ms`` is the tree's CPU time so far, ``rss_kb`` its
    resident memory now plus what it pins outside processes (System V objects, files on memory
    filesystems: only told apart with a uid of the run's own), ``peak_rss_kb`` the highest
    reading, including each process's own peak since exec (VmHWM), which catches a short peak
    between two samples. ``held_limit_kb`` bounds the scan of pinned files.
    """

    def __init__(self, pid: int, *, identity: RunIdentity | None, held_limit_kb: int) -> None:
        self.pid = pid
        self.identity = identity
        self.held_limit_kb = held_limit_kb
        self.cpu_time_ms = 0
        self.rss_kb = 0
        self.peak_rss_kb = 0
        self.held_files_kb = 0
        self._orphans: list[int] = []
        self._next_orphan_scan = 0.0
        self._next_files_scan = 0.0
        self._memory_places = memory_backed_places() if identity is not None else ()

    def sample(self) -> None:
        """Read the tree once and update the figures."""
        now = time.monotonic()
        if now >= self._next_orphan_scan:
            self._orphans = self._find_orphans()
            self._next_orphan_scan = now + ORPHAN_SCAN_INTERVAL_S
        roots = [self.pid, *self._orphans]
        try:
            stats = read_tree_stats(roots)
        except FileNotFoundError:  # no children files in this kernel: read every process
            stats = read_all_stats()
        usage = tree_usage(stats, roots)
        self.cpu_time_ms = max(self.cpu_time_ms, usage.cpu_time_ms)
        held_kb = self.held_outside_processes_kb(force=False)
        self.rss_kb = usage.rss_kb + held_kb
        peaks = sum(peak_rss_kb(pid) for pid in usage.pids)
        self.peak_rss_kb = max(self.peak_rss_kb, peaks + held_kb, self.rss_kb)

    def held_outside_processes_kb(self, *, force: bool) -> int:
        """What the run pins that no process's resident size shows, in KB; files are scanned
        every HELD_FILES_INTERVAL_S, or now with ``force``. 0 without a uid of the run's own."""
        if self.identity is None:
            return 0
        now = time.monotonic()
        if self._memory_places and (force or now >= self._next_files_scan):
            self.held_files_kb = held_file_kb(
                self.identity, places=self._memory_places, stop_above_kb=self.held_limit_kb
            )
            self._next_files_scan = now + HELD_FILES_INTERVAL_S
        return held_ipc_kb(self.identity) + self.held_files_kb

    def _find_orphans(self) -> list[int]:
        me = os.getpid()
        try:
            children = children_of(me)
        except FileNotFoundError:
            children = [st.pid for st in read_all_stats().values() if st.ppid == me]
        orphans = []
        for pid in children:
            if pid == self.pid:
                continue
            if self.identity is not None:
                if real_uid(pid) == self.identity.uid:
                    orphans.append(pid)
            else:
                stat = read_stat(pid)
                if stat is not None and stat.session == self.pid:
                    orphans.append(pid)
        return orphans
