"""A zygote's own processes end with it: what it was forking when it died is killed and reaped."""

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from executor.sandbox.libc import set_child_subreaper
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.zygote import Zygote

# Stands in for languages/python/zygote.py at the moment that matters: it has forked the
# child that makes the next spare, and that child has forked the spare but not announced it
# yet (here it never does). It writes the two pids to $PIDS for the test.
ZYGOTE_KILLED_MID_FORK = """
import os, sys, time
middle = os.fork()
if middle == 0:
    spare = os.fork()
    if spare == 0:
        time.sleep(60)
        os._exit(0)
    with open(os.environ["PIDS"], "w") as f:
        f.write(f"{os.getpid()} {spare}")
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def test_a_zygote_stopped_mid_fork_leaves_no_process_and_no_zombie(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """1. As a child subreaper (as the service is), start a zygote that dies while its child
    makes a spare it has not announced. 2. Stop the zygote. Expected: neither that child nor the
    spare is left, alive or as a zombie of this process (before, both were: the spare's pid was
    never announced, and once the zygote was gone nobody waited for either)."""
    pids_path = tmp_path / "pids"
    set_child_subreaper(True)
    zygote = Zygote(
        (sys.executable, "-c", ZYGOTE_KILLED_MID_FORK),
        helper=helper,
        env={"PIDS": str(pids_path), "PATH": "/usr/bin:/bin"},
    )
    left: list[int] = []
    try:
        zygote.start()
        deadline = time.monotonic() + 10
        while not pids_path.exists() or len(pids_path.read_text().split()) < 2:
            assert time.monotonic() < deadline, "the stand-in zygote never forked its spare"
            time.sleep(0.01)
        forked = [int(pid) for pid in pids_path.read_text().split()]
        zygote.stop()
        left = [pid for pid in forked if os.path.exists(f"/proc/{pid}")]
        assert left == [], f"left behind: {[_state(pid) for pid in left]}"
    finally:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        zygote.stop()
        set_child_subreaper(False)


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return f"{pid} gone"
    return f"{pid} state {stat.rsplit(')', 1)[1].split()[0]}"
