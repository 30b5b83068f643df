"""The supervisor on real processes: output captured under a cap, each limit enforced and named,
memory and CPU measured, everything of the run gone when it returns."""

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from executor.sandbox.child import plan_child
from executor.sandbox.sampler import TreeSampler
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.spec import KillReason, Outcome, ResourceLimits, RunSpec
from executor.sandbox.supervise import _Supervisor, run
from tests.support import wait_for

PYTHON = "/usr/bin/python3"  # readable by any uid, unlike an interpreter under /root
LIMITS = ResourceLimits(
    cpu_time_ms=2000, wall_time_ms=5000, memory_kb=256 * 1024, output_kb=64, processes=32,
    file_size_kb=64,
)  # fmt: skip


def supervise(
    helper: SpawnHelper, code: str, tmp_path: Path, *, stdin: bytes = b"", **limits: int
) -> Outcome:
    """Run ``code`` in Python as root (no uid of its own: the session is killed), with the filter
    and the limits given on top of LIMITS."""
    spec_limits = ResourceLimits(**{**LIMITS.__dict__, **limits})
    spec = RunSpec(
        argv=(PYTHON, "-c", code),
        cwd=str(tmp_path),
        env={"PATH": "/usr/bin:/bin"},
        limits=spec_limits,
        stdin=stdin,
    )
    plan = plan_child(spec_limits, identity=None, seccomp=True, namespaces=False, private_tmp=None)
    return asyncio.run(run(spec, plan=plan, helper=helper))


def test_exit_code_output_and_stdin(helper: SpawnHelper, tmp_path: Path) -> None:
    code = "import sys\nprint(sys.stdin.read()[::-1])\nprint('err', file=sys.stderr)\nsys.exit(3)"
    outcome = supervise(helper, code, tmp_path, stdin=b"abc")
    assert (outcome.exit_code, outcome.signal, outcome.killed_for) == (3, None, None)
    assert (outcome.stdout, outcome.stderr) == (b"cba\n", b"err\n")
    assert outcome.memory_kb > 1000 and outcome.wall_time_ms < 5000


def test_a_signal_is_reported_as_a_signal(helper: SpawnHelper, tmp_path: Path) -> None:
    outcome = supervise(helper, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", tmp_path)
    assert (outcome.exit_code, outcome.signal, outcome.killed_for) == (None, 11, None)


def test_stdin_cannot_be_written(helper: SpawnHelper, tmp_path: Path) -> None:
    code = "import os\ntry:\n    os.write(0, b'x')\nexcept OSError as e:\n    print(e.errno)"
    assert supervise(helper, code, tmp_path, stdin=b"in").stdout == b"1\n"  # EPERM: sealed


def test_output_past_the_cap_is_cut_and_the_run_stopped(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    outcome = supervise(helper, "while True: print('x' * 1000)", tmp_path, output_kb=4)
    assert outcome.killed_for is KillReason.OUTPUT_LIMIT
    assert len(outcome.stdout) == 4096 and outcome.stdout_truncated
    assert outcome.wall_time_ms < 2000


def test_cpu_time_limit(helper: SpawnHelper, tmp_path: Path) -> None:
    outcome = supervise(helper, "while True: pass", tmp_path, cpu_time_ms=200)
    assert outcome.killed_for is KillReason.CPU_TIME_LIMIT
    assert 200 <= outcome.cpu_time_ms < 1500


def test_wall_time_limit_stops_a_sleeper(helper: SpawnHelper, tmp_path: Path) -> None:
    outcome = supervise(helper, "import time\ntime.sleep(30)", tmp_path, wall_time_ms=300)
    assert outcome.killed_for is KillReason.WALL_TIME_LIMIT
    assert 300 <= outcome.wall_time_ms < 2000


def test_a_stopped_program_is_killed_at_the_wall_limit(helper: SpawnHelper, tmp_path: Path) -> None:
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)"
    outcome = supervise(helper, code, tmp_path, wall_time_ms=300)
    assert outcome.killed_for is KillReason.WALL_TIME_LIMIT


def test_a_sample_past_both_the_memory_and_the_cpu_limit_names_the_memory(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """A real process holding 32 MB that has spun for 100 ms, sampled under a 16 MB and 50 ms
    limit: the memory is named. Page faults count as CPU time, so a memory hog can pass its
    time limit on its way to its memory limit (on this VM, 512 MB of fresh file pages cost up
    to 4.4 s of CPU); the memory is what it went for."""
    code = "x = b'x' * (32 << 20)\nwhile True: pass"
    proc = subprocess.Popen([PYTHON, "-c", code], start_new_session=True)
    try:
        wait_for(lambda: _cpu_ms(proc.pid) >= 100, timeout_s=10, what="100 ms of CPU")
        limits = ResourceLimits(**{**LIMITS.__dict__, "cpu_time_ms": 50, "memory_kb": 16384})
        spec = RunSpec(argv=(PYTHON,), cwd=str(tmp_path), env={}, limits=limits, stdin=b"")
        plan = plan_child(limits, identity=None, seccomp=False, namespaces=False, private_tmp=None)
        supervisor = _Supervisor(
            spec, plan=plan, helper=helper, scanner=None, zygote=None, prewarmed=None
        )
        supervisor.sampler = TreeSampler(proc.pid, identity=None, scanner=None)
        supervisor.sampler.sample()
        assert supervisor.sampler.rss_kb > 32768 and supervisor.sampler.cpu_time_ms > 50
        assert asyncio.run(supervisor._limit_passed()) is KillReason.MEMORY_LIMIT
    finally:
        proc.kill()
        proc.wait()


# A program racing for both limits (supervise.MEMORY_RACE_FRACTION): it fills its memory to
# about 94% of a 64 MB limit at once, spins to just under its 500 ms of CPU, then grows by 256 KB
# every 4 ms of CPU, so that it passes its memory limit about 60 ms of CPU after its CPU limit.
RACING = """
import time
def rss_kb():
    return int(open('/proc/self/statm').read().split()[1]) * 4
chunks = []
while rss_kb() < 60 * 1024:
    chunks.append(b'x' * (1 << 20))
while time.process_time() < 0.48:
    pass
while True:
    chunks.append(b'x' * (256 << 10))
    t = time.process_time()
    while time.process_time() - t < 0.004:
        pass
"""


def test_a_run_racing_for_both_limits_gets_the_one_it_reaches_first(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """1. Run RACING under 500 ms of CPU and 64 MB. Expected: memory_limit_exceeded, its CPU
    time past 500 ms but within the grace (a quarter more): at its CPU limit its memory was
    over 90% of its limit and growing, so it went on, and reached its memory limit first."""
    outcome = supervise(helper, RACING, tmp_path, cpu_time_ms=500, memory_kb=64 * 1024)
    assert outcome.killed_for is KillReason.MEMORY_LIMIT
    assert 500 < outcome.cpu_time_ms <= 625 + 40  # the grace, and one sample's lateness
    assert outcome.memory_kb > 64 * 1024


def test_a_run_near_its_memory_limit_that_stopped_growing_gets_no_grace(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """1. Fill the memory to about 94% of a 64 MB limit, then spin, under 500 ms of CPU.
    Expected: time_limit_exceeded at the first sample past 500 ms: close to its memory limit,
    but no longer growing, it races for nothing but CPU."""
    code = RACING.split("while time.process_time() < 0.48")[0] + "while True:\n    pass\n"
    outcome = supervise(helper, code, tmp_path, cpu_time_ms=500, memory_kb=64 * 1024)
    assert outcome.killed_for is KillReason.CPU_TIME_LIMIT
    assert 500 < outcome.cpu_time_ms < 560  # no grace: a sample or two of lateness
    assert outcome.memory_kb < 64 * 1024


def test_the_grace_ends_when_the_memory_stops_growing(helper: SpawnHelper, tmp_path: Path) -> None:
    """A real process holding about 40 MB that has spun for 100 ms, sampled twice under a CPU
    limit 10 ms below what it used (its grace a quarter of that more) and a memory limit it is
    95% of. Expected: the first sample (its memory grew from nothing) starts the grace and kills
    nothing; the second, right after (no growth, still within the grace), kills it for CPU."""
    code = "x = b'x' * (32 << 20)\nwhile True: pass"
    proc = subprocess.Popen([PYTHON, "-c", code], start_new_session=True)
    try:
        wait_for(lambda: _cpu_ms(proc.pid) >= 100, timeout_s=10, what="100 ms of CPU")
        sampler = TreeSampler(proc.pid, identity=None, scanner=None)
        sampler.sample()
        memory_kb = int(sampler.rss_kb / 0.95)
        cpu_ms = int(sampler.cpu_time_ms) - 10
        limits = ResourceLimits(
            **{**LIMITS.__dict__, "cpu_time_ms": cpu_ms, "memory_kb": memory_kb}
        )
        spec = RunSpec(argv=(PYTHON,), cwd=str(tmp_path), env={}, limits=limits, stdin=b"")
        plan = plan_child(limits, identity=None, seccomp=False, namespaces=False, private_tmp=None)
        supervisor = _Supervisor(
            spec, plan=plan, helper=helper, scanner=None, zygote=None, prewarmed=None
        )
        supervisor.sampler = sampler
        assert asyncio.run(supervisor._limit_passed()) is None
        assert supervisor.cpu_grace_until_ms == cpu_ms * 1.25
        sampler.sample()
        assert asyncio.run(supervisor._limit_passed()) is KillReason.CPU_TIME_LIMIT
    finally:
        proc.kill()
        proc.wait()


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def test_memory_over_the_limit_is_killed_and_measured(helper: SpawnHelper, tmp_path: Path) -> None:
    code = "import time\nx = bytearray(200 << 20)\nx[::4096] = b'1' * len(x[::4096])\ntime.sleep(5)"
    outcome = supervise(helper, code, tmp_path, memory_kb=64 * 1024)
    assert outcome.killed_for is KillReason.MEMORY_LIMIT
    assert outcome.memory_kb > 64 * 1024


@pytest.mark.parametrize("mb", [8, 32, 96])
def test_peak_memory_is_measured_for_a_short_run(
    helper: SpawnHelper, tmp_path: Path, mb: int
) -> None:
    code = f"x = bytearray({mb} << 20)\nx[::4096] = b'1' * len(x[::4096])"
    outcome = supervise(helper, code, tmp_path)
    assert outcome.killed_for is None and outcome.exit_code == 0
    assert mb * 1024 <= outcome.memory_kb < (mb + 40) * 1024


def test_a_child_holding_stdout_is_ended_with_its_parent(
    helper: SpawnHelper, tmp_path: Path
) -> None:
    """1. The program starts a child that keeps stdout open and sleeps, then exits.
    Expected: the run ends at once (the child is killed), not at the wall limit."""
    code = "import subprocess\nsubprocess.Popen(['sleep', '30'])\nprint('parent done')"
    outcome = supervise(helper, code, tmp_path, wall_time_ms=5000)
    assert outcome.stdout == b"parent done\n" and outcome.killed_for is None
    assert outcome.wall_time_ms < 2000
