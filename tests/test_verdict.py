"""decide_status: the order in which limits, runtime OOM messages and exits become a status."""

import re
import signal

import pytest

from executor.models import Status
from executor.sandbox import KillReason, Outcome, ResourceLimits
from executor.verdict import decide_status, signal_name

LIMITS = ResourceLimits(
    cpu_time_ms=1000, wall_time_ms=2000, memory_kb=65536, output_kb=64, processes=8, file_size_kb=0
)
MARKERS = (re.compile(r"^MemoryError", re.MULTILINE),)


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
        ({"exit_code": 1, "stderr": b"Traceback...\nMemoryError\n"}, Status.MEMORY_LIMIT_EXCEEDED),
        ({"exit_code": 0, "stderr": b"MemoryError\n"}, Status.OK),
        ({"exit_code": None, "signal": signal.SIGXCPU}, Status.TIME_LIMIT_EXCEEDED),
        ({"cpu_time_ms": 1001}, Status.TIME_LIMIT_EXCEEDED),
        ({"exit_code": None, "signal": 9, "memory_kb": 70000}, Status.MEMORY_LIMIT_EXCEEDED),
    ],
)
def test_decide_status(fields: dict, status: Status) -> None:
    assert decide_status(outcome(**fields), limits=LIMITS, oom_markers=MARKERS) == status


def test_signal_names() -> None:
    assert signal_name(11) == "SIGSEGV"
    assert signal_name(None) is None
    assert signal_name(99) == "SIG99"
