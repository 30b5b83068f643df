"""Turns a sandbox Outcome and its limits into a verdict: the only place a status is decided."""

import re
import signal
from dataclasses import dataclass

from executor.models import Status
from executor.sandbox import KillReason, Outcome, ResourceLimits

# A runtime's own report that it ran out of memory counts when the run used at least this
# share of its limit: heaps are capped at 3/4 of it, Python's address space at it plus 64 MB.
MEMORY_EVIDENCE_FRACTION = 0.5
# A runtime's own report that it could not start a thread counts when a sample saw at least
# this share of the process limit. Not half: a JVM goes from its ~15 startup threads to the
# limit, fails and exits between two samples (at a limit of 40, 3 of 20 runs under Docker's
# capabilities were last seen at 15 tasks; sampling at 5 ms while the count climbs missed as
# many). A forged report only changes the message of the forger's own runtime_error.
PROCESS_EVIDENCE_FRACTION = 0.25
_STATUS_FOR_KILL = {
    KillReason.OUTPUT_LIMIT: Status.OUTPUT_LIMIT_EXCEEDED,
    KillReason.MEMORY_LIMIT: Status.MEMORY_LIMIT_EXCEEDED,
    KillReason.CPU_TIME_LIMIT: Status.TIME_LIMIT_EXCEEDED,
    KillReason.WALL_TIME_LIMIT: Status.TIME_LIMIT_EXCEEDED,
    # Files are output too: more than the run may hold is reported as its output limit.
    KillReason.DISK_LIMIT: Status.OUTPUT_LIMIT_EXCEEDED,
    KillReason.SHUTDOWN: Status.INTERNAL_ERROR,
}


@dataclass(frozen=True)
class Verdict:
    """A run's status, and a message when the status needs a word (which limit, or that the
    service, not the program, failed)."""

    status: Status
    message: str | None = None


def decide(
    outcome: Outcome,
    *,
    limits: ResourceLimits,
    oom_markers: tuple[re.Pattern[str], ...],
    process_limit_markers: tuple[re.Pattern[str], ...] = (),
) -> Verdict:
    """The verdict of a run, in this order; a limit status only with evidence that the limit
    was reached:

    1. the supervisor ended it at a limit (the first one it found: at a sample past both its
       memory and its CPU limits, the memory; a run racing for both, its memory close to its
       limit and growing, goes on a little past its CPU limit to see which it reaches: see
       supervise._limit_passed);
    2. the kernel's out-of-memory killer ended it: its own fault if its peak was over its
       limit, else the service's (``internal_error``: the replica ran short);
    3. its peak memory was over the limit, whatever its exit (a run that takes more than its
       limit and ends between two of the supervisor's samples is over it all the same), or it
       failed with the runtime's out-of-memory report at the end of stderr (``oom_markers``) and
       at least MEMORY_EVIDENCE_FRACTION of the limit used (a program can print the message,
       but not fake its peak);
    4. its CPU time passed the limit (a SIGXCPU it sent itself is not evidence);
    5. exit 0 is ``ok``; any other exit or signal is ``runtime_error``, with a message when the
       tree reached its process limit (seen by the sampler, or reported by the runtime
       (``process_limit_markers``) with at least PROCESS_EVIDENCE_FRACTION of the limit's
       processes seen). Only the message rests on this, never the status.
    """
    if outcome.killed_for is not None:
        return Verdict(
            status_for_kill(outcome.killed_for), _kill_message(outcome.killed_for, limits)
        )
    memory_mb = limits.memory_kb // 1024
    if outcome.oom_killed:
        if outcome.memory_kb > limits.memory_kb:
            return Verdict(Status.MEMORY_LIMIT_EXCEEDED, f"used more than {memory_mb} MB of memory")
        return Verdict(
            Status.INTERNAL_ERROR,
            "the replica ran out of memory and the kernel stopped this run while it was within "
            f"its own limit ({outcome.memory_kb // 1024} of {memory_mb} MB): not the program's "
            "fault; submit it again",
        )
    if outcome.memory_kb > limits.memory_kb:
        return Verdict(Status.MEMORY_LIMIT_EXCEEDED, f"used more than {memory_mb} MB of memory")
    failed = outcome.exit_code != 0
    if (
        failed
        and outcome.memory_kb >= limits.memory_kb * MEMORY_EVIDENCE_FRACTION
        and _stderr_reports(outcome.stderr, oom_markers)
    ):
        return Verdict(
            Status.MEMORY_LIMIT_EXCEEDED,
            f"the runtime ran out of the memory its {memory_mb} MB limit allows",
        )
    if outcome.cpu_time_ms > limits.cpu_time_ms:
        return Verdict(
            Status.TIME_LIMIT_EXCEEDED, f"used more than {limits.cpu_time_ms} ms of CPU time"
        )
    if not failed:
        return Verdict(Status.OK)
    if outcome.peak_tasks >= limits.processes or (
        outcome.peak_tasks >= limits.processes * PROCESS_EVIDENCE_FRACTION
        and _stderr_reports(outcome.stderr, process_limit_markers)
    ):
        return Verdict(
            Status.RUNTIME_ERROR,
            f"reached the process limit ({limits.processes} processes and threads)",
        )
    return Verdict(Status.RUNTIME_ERROR)


def decide_compile(
    outcome: Outcome, *, limits: ResourceLimits, oom_markers: tuple[re.Pattern[str], ...]
) -> Verdict:
    """The verdict of a compiler run: its limits as for a program; any other failure, and
    output past the compile-output limit, is ``compilation_error``."""
    verdict = decide(outcome, limits=limits, oom_markers=oom_markers)
    if verdict.status in (Status.RUNTIME_ERROR, Status.OUTPUT_LIMIT_EXCEEDED):
        return Verdict(Status.COMPILATION_ERROR, verdict.message)
    return verdict


def decide_warm_compile(*, exit_code: int | None, killed_for: KillReason | None) -> Status:
    """The status of a compile through a warm server, as decide_compile's for a fresh one: the
    limit that ended it (its output or disk limits: ``compilation_error``), else ``ok`` for exit
    0 and ``compilation_error`` for any other exit."""
    if killed_for is not None:
        status = status_for_kill(killed_for)
        return Status.COMPILATION_ERROR if status == Status.OUTPUT_LIMIT_EXCEEDED else status
    return Status.OK if exit_code == 0 else Status.COMPILATION_ERROR


def compiler_stopped(reason: KillReason, limits: ResourceLimits) -> str:
    """The line that ends a compiler's messages when it was stopped at a limit, warm or fresh:
    ``error: the compiler used more than 10000 ms of CPU time; compilation was stopped``."""
    return f"error: the compiler {_kill_message(reason, limits)}; compilation was stopped\n"


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


def _stderr_reports(stderr: bytes, markers: tuple[re.Pattern[str], ...]) -> bool:
    """Whether the tail of stderr holds one of the runtime's own reports (it prints them as it
    dies, Node followed by a native stack trace; only stderr counts, where the runtimes write
    it; the tail keeps a flood cheap to scan)."""
    tail = stderr[-4096:].decode(errors="replace")
    return any(marker.search(tail) for marker in markers)


def _kill_message(reason: KillReason, limits: ResourceLimits) -> str:
    return {
        KillReason.OUTPUT_LIMIT: f"wrote more than {limits.output_kb} KB to stdout and stderr",
        KillReason.MEMORY_LIMIT: f"used more than {limits.memory_kb // 1024} MB of memory",
        KillReason.CPU_TIME_LIMIT: f"used more than {limits.cpu_time_ms} ms of CPU time",
        KillReason.WALL_TIME_LIMIT: f"ran longer than {limits.wall_time_ms} ms",
        KillReason.DISK_LIMIT: (
            f"held more than {limits.disk_kb // 1024} MB or {limits.disk_files} files on disk"
        ),
        KillReason.SHUTDOWN: "the service shut down before the run ended",
    }[reason]
