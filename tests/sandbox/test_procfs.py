"""Reading /proc: a process tree's members, CPU time and memory, owners, System V objects."""

import os
import subprocess
import sys
import time

from executor.sandbox.procfs import (
    children_of,
    memory_status,
    pids_of_uid,
    read_stat,
    read_tree_stats,
    real_uid,
    tree_usage,
)

# A parent that starts a child that spins, then both wait to be killed.
TREE = (
    "import subprocess, sys, time\n"
    "spin = 'x = bytearray(8 << 20)\\nwhile True: pass'\n"
    "child = subprocess.Popen([sys.executable, '-c', spin])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def test_read_stat_of_this_process() -> None:
    stat = read_stat(os.getpid())
    assert stat is not None
    assert (stat.pid, stat.ppid, stat.state) == (os.getpid(), os.getppid(), "R")
    assert stat.rss_pages > 0
    assert real_uid(os.getpid()) == os.getuid()
    status = memory_status(os.getpid())
    assert status.peak_rss_kb >= stat.rss_pages * 4 and status.page_tables_kb > 0
    assert stat.threads >= 1


def test_a_gone_process_reads_as_none() -> None:
    done = subprocess.run(["/bin/true"], check=True)
    assert done.returncode == 0
    assert read_stat(2**22 + 1) is None and real_uid(2**22 + 1) is None


def test_a_tree_is_followed_through_children_files() -> None:
    """1. Start a parent whose child spins with 8 MB resident. 2. Read the tree from the
    parent. Expected: both processes, the child's CPU time and memory counted."""
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while True:
            usage = tree_usage(read_tree_stats([parent.pid]), [parent.pid])
            if usage.cpu_time_ms >= 50 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert set(usage.pids) == {parent.pid, child} and usage.tasks == 2
        assert children_of(parent.pid) == [child]
        assert usage.cpu_time_ms >= 50
        assert usage.rss_kb >= 8 * 1024
    finally:
        subprocess.run(["pkill", "-KILL", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.communicate()


def test_pids_of_uid_finds_a_process_of_another_uid() -> None:
    sleeper = subprocess.Popen(["sleep", "30"], user=65534, group=65534, extra_groups=[])
    try:
        assert sleeper.pid in pids_of_uid(65534)
        assert real_uid(sleeper.pid) == 65534
    finally:
        sleeper.kill()
        sleeper.wait()
