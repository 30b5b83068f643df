"""What a compile through a warm server may answer with, from its limits."""

import dataclasses

from executor.sandbox import ResourceLimits
from executor.warm_server import ARTIFACTS_MAX_KB, compile_budget

LIMITS = ResourceLimits(
    cpu_time_ms=1000, wall_time_ms=2000, memory_kb=65536, output_kb=64, processes=8,
    file_size_kb=2048, disk_kb=16 * 1024, disk_files=100,
)  # fmt: skip


def test_the_budget_is_the_compile_output_limit_and_what_the_run_may_still_hold() -> None:
    budget = compile_budget(LIMITS, sources={"A.java": b"x" * 1024, "B.java": b""})
    assert budget.diagnostics_bytes == 64 * 1024
    assert budget.artifact_bytes == 16 * 1024 * 1024 - 1024
    assert budget.artifact_files == 98
    assert budget.artifact_file_bytes == 2048 * 1024
    assert budget.response_bytes < 64 * 1024 + 16 * 1024 * 1024 + 1024


def test_the_files_handed_over_never_pass_what_the_service_reads_into_memory() -> None:
    roomy = dataclasses.replace(LIMITS, disk_kb=1024 * 1024)
    assert compile_budget(roomy).artifact_bytes == ARTIFACTS_MAX_KB * 1024


def test_sources_past_the_disk_limit_leave_no_budget() -> None:
    assert compile_budget(LIMITS, sources={"A.java": b"x" * (17 << 20)}).artifact_bytes == 0
