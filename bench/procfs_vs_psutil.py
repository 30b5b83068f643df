"""Why executor/sandbox/procfs.py reads /proc by hand: one tree sample, hand-written vs psutil.

Usage: ``.venv/bin/python bench/procfs_vs_psutil.py [--samples N]``. Starts a tree of four
processes (a shell and three sleepers), samples its CPU time and resident memory N times each
way, interleaved, and prints the median microseconds per sample. psutil finds a process's
children by reading the stat file of every process on the machine; procfs.read_tree_stats
follows /proc/<pid>/task/<tid>/children, a few reads for a small tree.
"""

import argparse
import statistics
import subprocess
import time

import psutil

from executor.sandbox.procfs import read_tree_stats, tree_usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    tree = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60 & sleep 60 & wait"])
    try:
        while len(psutil.Process(tree.pid).children()) < 3:
            time.sleep(0.01)

        def by_hand() -> int:
            return len(tree_usage(read_tree_stats([tree.pid]), [tree.pid]).pids)

        def by_psutil() -> int:
            root = psutil.Process(tree.pid)
            procs = [root, *root.children(recursive=True)]
            for proc in procs:
                with proc.oneshot():
                    proc.cpu_times()
                    proc.memory_info()
            return len(procs)

        timings: dict[str, list[float]] = {"procfs": [], "psutil": []}
        for _ in range(args.samples):
            for name, sample in (("procfs", by_hand), ("psutil", by_psutil)):
                started = time.perf_counter()
                assert sample() == 4
                timings[name].append((time.perf_counter() - started) * 1e6)
        hand, ps = (statistics.median(timings[n]) for n in ("procfs", "psutil"))
        print(
            f"one sample of a 4-process tree, {len(psutil.pids())} processes on the machine: "
            f"procfs {hand:.0f} us, psutil {ps:.0f} us ({ps / hand:.1f}x)"
        )
    finally:
        subprocess.run(["pkill", "-P", str(tree.pid)], check=False)
        tree.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
