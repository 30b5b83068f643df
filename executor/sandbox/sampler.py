"""Samples a process tree: CPU time, resident memory now and at its peak, and memory the run pins
outside its processes; used by the supervisor and by resident helpers alike."""

import os
import time

from executor.sandbox.identity import RunIdentity
from executor.sandbox.pinned import held_ipc_kb
from executor.sandbox.procfs import (
    children_of,
    memory_status,
    read_all_stats,
    read_stat,
    read_tree_stats,
    real_uid,
    tree_usage,
)
from executor.sandbox.usage import Usage, UsageScanner

# Orphans (double-forked daemons) are looked for less often: it reads every service thread.
ORPHAN_SCAN_INTERVAL_S = 0.1


class TreeSampler:
    """The tree rooted at ``pid`` plus the orphans of the run re-parented to the service (a
    child subreaper): ours by uid when the run has one, else by session.

    After each ``sample()``: ``cpu_time_ms`` is the tree's CPU time so far; ``rss_kb`` its
    memory now: resident sizes, page tables (VmPTE), and what it pins outside processes (System
    V objects, and tmpfs files and socket buffers as ``scanner`` last measured them: only told
    apart with a uid of the run's own); ``peak_rss_kb`` the highest reading, including each
    process's own peak since exec (VmHWM), which catches a short peak between two samples;
    ``tasks`` and ``peak_tasks`` its processes and threads (what RLIMIT_NPROC counts);
    ``held`` the scanner's latest measure. With ``own_ipc_namespace`` (the run unshared one),
    System V objects are not looked for: a run's are all in its own namespace, invisible here.
    """

    def __init__(
        self,
        pid: int,
        *,
        identity: RunIdentity | None,
        scanner: UsageScanner | None,
        own_ipc_namespace: bool = False,
    ) -> None:
        self.pid = pid
        self.identity = identity
        self.scanner = scanner
        self.own_ipc_namespace = own_ipc_namespace
        self.cpu_time_ms = 0
        self.rss_kb = 0
        self.peak_rss_kb = 0
        self.page_tables_kb = 0
        self.tasks = 0
        self.peak_tasks = 0
        self.held = Usage()
        self._orphans: list[int] = []
        self._next_orphan_scan = 0.0

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
        if self.scanner is not None and self.identity is not None:
            self.held = self.scanner.usage(self.identity.uid)
        statuses = [memory_status(pid) for pid in usage.pids]
        self.page_tables_kb = sum(status.page_tables_kb for status in statuses)
        outside_kb = self.page_tables_kb + self.held_outside_processes_kb()
        self.rss_kb = usage.rss_kb + outside_kb
        peaks = sum(status.peak_rss_kb for status in statuses)
        self.peak_rss_kb = max(self.peak_rss_kb, peaks + outside_kb, self.rss_kb)
        self.tasks = usage.tasks
        self.peak_tasks = max(self.peak_tasks, usage.tasks)

    def held_outside_processes_kb(self) -> int:
        """What the run pins that no process's resident size or page tables show, in KB:
        System V objects, tmpfs files and socket buffers as last measured. 0 without a uid of
        its own."""
        if self.identity is None:
            return 0
        ipc_kb = 0 if self.own_ipc_namespace else held_ipc_kb(self.identity)
        return ipc_kb + self.held.held_memory_kb

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
