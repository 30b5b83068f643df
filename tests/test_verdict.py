"""decide: which evidence makes a limit status, in which order; what else a run's end means."""

import dataclasses
import re
import signal

import pytest

from executor.models import Status
from executor.sandbox import KillReason, Outcome, ResourceLimits
from executor.verdict import (
    compiler_stopped,
    decide,
    decide_compile,
    decide_warm_compile,
    signal_name,
)

LIMITS = ResourceLimits(
    cpu_time_ms=1000, wall_time_ms=2000, memory_kb=65536, output_kb=64, processes=8, file_size_kb=0
)
MARKERS = (re.compile(r"^MemoryError", re.MULTILINE),)
HALF = LIMITS.memory_kb // 2


def outcome(**fields: object) -> Outcome:
    base = dict(
        exit_code=0, signal=None, stdout=b"", stderr=b"", stdout_truncated=False,
        stderr_truncated=False, cpu_time_ms=10, wall_time_ms=20, memory_kb=1000, killed_for=None,
    )  # fmt: skip
    base.update(fields)
    return Outcome(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, Status.OK),
        ({"exit_code": 3}, Status.RUNTIME_ERROR),
        ({"exit_code": None, "signal": signal.SIGSEGV}, Status.RUNTIME_ERROR),
        (
            {"killed_for": KillReason.OUTPUT_LIMIT, "exit_code": None, "signal": 9},
            Status.OUTPUT_LIMIT_EXCEEDED,
        ),
        (
            {"killed_for": KillReason.DISK_LIMIT, "exit_code": None, "signal": 9},
            Status.OUTPUT_LIMIT_EXCEEDED,
        ),
        (
            {"killed_for": KillReason.MEMORY_LIMIT, "exit_code": None, "signal": 9},
            Status.MEMORY_LIMIT_EXCEEDED,
        ),
        (
            {"killed_for": KillReason.WALL_TIME_LIMIT, "exit_code": None, "signal": 9},
            Status.TIME_LIMIT_EXCEEDED,
        ),
        (
            {"killed_for": KillReason.CPU_TIME_LIMIT, "exit_code": None, "signal": 9},
            Status.TIME_LIMIT_EXCEEDED,
        ),
        # The runtime's own report counts with the memory to show for it ...
        (
            {"exit_code": 1, "stderr": b"Traceback...\nMemoryError\n", "memory_kb": HALF},
            Status.MEMORY_LIMIT_EXCEEDED,
        ),
        # ... a program printing it at 9 MB is just failing, on stdout it is nothing at all.
        ({"exit_code": 1, "stderr": b"MemoryError\n", "memory_kb": 9000}, Status.RUNTIME_ERROR),
        ({"exit_code": 1, "stdout": b"MemoryError\n", "memory_kb": HALF}, Status.RUNTIME_ERROR),
        ({"exit_code": 0, "stderr": b"MemoryError\n", "memory_kb": HALF}, Status.OK),
        # Its peak over the limit is evidence whatever its exit: a run that took more than its
        # limit and ended between two samples is over it all the same.
        ({"exit_code": 0, "memory_kb": 70000}, Status.MEMORY_LIMIT_EXCEEDED),
        ({"exit_code": 0, "memory_kb": 65536}, Status.OK),
        # A SIGXCPU it sent itself is no evidence of the time limit; the CPU time is.
        ({"exit_code": None, "signal": signal.SIGXCPU}, Status.RUNTIME_ERROR),
        ({"cpu_time_ms": 1001}, Status.TIME_LIMIT_EXCEEDED),
        # Stopped at its CPU limit, a peak over the memory limit does not change the verdict:
        # the supervisor checks the memory first at each sample, by the measure that enforces
        # it; a resident peak (shared pages counted in full) is no evidence against that.
        (
            {
                "killed_for": KillReason.CPU_TIME_LIMIT,
                "exit_code": None,
                "signal": 9,
                "cpu_time_ms": 1020,
                "memory_kb": 70000,
            },
            Status.TIME_LIMIT_EXCEEDED,
        ),
        ({"cpu_time_ms": 1001, "exit_code": 1, "memory_kb": 70000}, Status.MEMORY_LIMIT_EXCEEDED),
        ({"exit_code": None, "signal": 9, "memory_kb": 70000}, Status.MEMORY_LIMIT_EXCEEDED),
        # The kernel's OOM killer: the run's fault only if it was over its own limit.
        ({"exit_code": None, "signal": 9, "oom_killed": True}, Status.INTERNAL_ERROR),
        (
            {"exit_code": None, "signal": 9, "oom_killed": True, "memory_kb": 70000},
            Status.MEMORY_LIMIT_EXCEEDED,
        ),
    ],
)
def test_decide(fields: dict, status: Status) -> None:
    assert decide(outcome(**fields), limits=LIMITS, oom_markers=MARKERS).status == status


def test_limits_and_service_failures_say_why() -> None:
    killed = outcome(killed_for=KillReason.CPU_TIME_LIMIT, exit_code=None, signal=9)
    assert decide(killed, limits=LIMITS, oom_markers=()).message == (
        "used more than 1000 ms of CPU time"
    )
    oom = decide(outcome(exit_code=None, signal=9, oom_killed=True), limits=LIMITS, oom_markers=())
    assert oom.message is not None and "not the program's fault" in oom.message
    assert decide(outcome(), limits=LIMITS, oom_markers=()).message is None


def test_the_process_limit_is_named_as_what_it_is() -> None:
    """A failure at the process limit is a runtime error that says so, not a memory limit, even
    with the JVM's "unable to create native thread" OutOfMemoryError."""
    failed = outcome(
        exit_code=1,
        peak_tasks=8,
        memory_kb=HALF,
        stderr=b"java.lang.OutOfMemoryError: unable to create native thread\n",
    )
    markers = (re.compile(r"java\.lang\.OutOfMemoryError(?!: unable to create native)"),)
    verdict = decide(failed, limits=LIMITS, oom_markers=markers)
    assert verdict.status == Status.RUNTIME_ERROR
    assert verdict.message == "reached the process limit (8 processes and threads)"


def test_a_runtimes_thread_report_names_the_process_limit_only_with_a_quarter_of_it_seen() -> None:
    """A JVM dies between two samples once the limit refuses a thread: a sample that saw a
    quarter of the limit backs its report; a report with fewer tasks seen is a plain failure."""
    report = b"java.lang.OutOfMemoryError: unable to create native thread\n"
    markers = (re.compile(r"unable to create native thread"),)
    limits = dataclasses.replace(LIMITS, processes=40)
    seen = [
        decide(outcome(exit_code=1, peak_tasks=tasks, stderr=report), limits=limits,
               oom_markers=(), process_limit_markers=markers).message
        for tasks in (9, 10, 15)
    ]  # fmt: skip
    assert seen == [None] + ["reached the process limit (40 processes and threads)"] * 2


def test_a_failing_compiler_is_a_compilation_error() -> None:
    assert decide_compile(outcome(exit_code=1), limits=LIMITS, oom_markers=()).status == (
        Status.COMPILATION_ERROR
    )
    killed = outcome(killed_for=KillReason.WALL_TIME_LIMIT, exit_code=None, signal=9)
    assert decide_compile(killed, limits=LIMITS, oom_markers=()).status == (
        Status.TIME_LIMIT_EXCEEDED
    )
    assert decide_warm_compile(exit_code=0, killed_for=None) == Status.OK
    assert decide_warm_compile(exit_code=1, killed_for=None) == Status.COMPILATION_ERROR
    assert decide_warm_compile(exit_code=None, killed_for=KillReason.MEMORY_LIMIT) == (
        Status.MEMORY_LIMIT_EXCEEDED
    )


@pytest.mark.parametrize("reason", [KillReason.OUTPUT_LIMIT, KillReason.DISK_LIMIT])
def test_a_compiler_past_its_output_or_disk_limit_is_a_compilation_error_on_either_path(
    reason: KillReason,
) -> None:
    killed = outcome(killed_for=reason, exit_code=None, signal=9)
    fresh = decide_compile(killed, limits=LIMITS, oom_markers=())
    assert fresh.status == Status.COMPILATION_ERROR
    assert fresh.message is not None
    assert decide_warm_compile(exit_code=None, killed_for=reason) == Status.COMPILATION_ERROR


def test_a_stopped_compiler_gets_a_line_saying_which_limit() -> None:
    assert compiler_stopped(KillReason.OUTPUT_LIMIT, LIMITS) == (
        f"error: the compiler wrote more than {LIMITS.output_kb} KB to stdout and stderr; "
        "compilation was stopped\n"
    )


def test_signal_names() -> None:
    assert signal_name(None) is None
    assert signal_name(11) == "SIGSEGV"
    assert signal_name(200) == "SIG200"
