"""Turns a sandbox Outcome and its limits into a status: the only place a status is decided."""

import re
import signal

from executor.models import Status
from executor.sandbox import KillReason, Outcome, ResourceLimits

_STATUS_FOR_KILL = {
    KillReason.OUTPUT_LIMIT: Status.OUTPUT_LIMIT_EXCEEDED,
    KillReason.MEMORY_LIMIT: Status.MEMORY_LIMIT_EXCEEDED,
    KillReason.CPU_TIME_LIMIT: Status.TIME_LIMIT_EXCEEDED,
    KillReason.WALL_TIME_LIMIT: Status.TIME_LIMIT_EXCEEDED,
    KillReason.SHUTDOWN: Status.INTERNAL_ERROR,
}


def decide_status(
    outcome: Outcome, *, limits: ResourceLimits, oom_markers: tuple[re.Pattern[str], ...]
) -> Status:
    """The status of a run, in this order:

    1. the supervisor ended it: the limit it hit (the first one, when several were);
    2. a memory limit the runtime enforced itself: RLIMIT_AS or a heap cap made it fail with its
       out-of-memory message (``oom_markers`` on stderr), or the peak reached the limit;
    3. CPU time over the limit, or killed by SIGXCPU (RLIMIT_CPU);
    4. exit 0 is ``ok``; any other exit or signal is ``runtime_error``.
    """
    if outcome.killed_for is not None:
        return status_for_kill(outcome.killed_for)
    failed = outcome.exit_code != 0
    if failed and (
        outcome.memory_kb > limits.memory_kb
        or _has_marker(outcome.stderr, oom_markers)
        or _has_marker(outcome.stdout, oom_markers)  # the JVM prints its OOM exit on stdout
    ):
        return Status.MEMORY_LIMIT_EXCEEDED
    if outcome.cpu_time_ms > limits.cpu_time_ms or outcome.signal == signal.SIGXCPU:
        return Status.TIME_LIMIT_EXCEEDED
    return Status.OK if not failed else Status.RUNTIME_ERROR


def decide_compile_status(
    outcome: Outcome, *, limits: ResourceLimits, oom_markers: tuple[re.Pattern[str], ...]
) -> Status:
    """The status of a compiler run: its limits as for a program; any other failure, and
    output past the compile-output limit, is ``compilation_error``."""
    status = decide_status(outcome, limits=limits, oom_markers=oom_markers)
    if status in (Status.RUNTIME_ERROR, Status.OUTPUT_LIMIT_EXCEEDED):
        return Status.COMPILATION_ERROR
    return status


def decide_warm_compile_status(*, exit_code: int | None, killed_for: KillReason | None) -> Status:
    """The status of a compile through a warm server: the limit that ended it, else ``ok`` for
    exit 0 and ``compilation_error`` for any other exit."""
    if killed_for is not None:
        return status_for_kill(killed_for)
    return Status.OK if exit_code == 0 else Status.COMPILATION_ERROR


def status_for_kill(reason: KillReason) -> Status:
    """The status of a run the supervisor (or a warm compiler's watchdog) ended at a limit."""
    return _STATUS_FOR_KILL[reason]


def signal_name(number: int | None) -> str | None:
    """``SIGSEGV`` for 11; None for None; ``SIG<n>`` for a number Python does not name."""
    if number is None:
        return None
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def _has_marker(output: bytes, markers: tuple[re.Pattern[str], ...]) -> bool:
    if not markers:
        return False
    # The runtime prints its message last; looking at the tail keeps a flood cheap to scan.
    tail = output[-4096:].decode(errors="replace")
    return any(marker.search(tail) for marker in markers)
