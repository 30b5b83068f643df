"""`executor rehearse` against a real service: runs that can be repeated, and a capacity plan
that does not stop the summary when a language got no submissions."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from executor.rehearsal.workload import build
from tests.support import REPO, Service


def rehearse(service: Service, tmp_path: Path, *extra: str) -> dict:
    """Run `executor rehearse` against ``service`` (every language at its URL); its JSON."""
    summary = tmp_path / "rehearsal.json"
    command = [
        sys.executable, "-m", "executor", "rehearse", "--url", service.url,
        "--no-progress", "--chart", str(tmp_path / "rehearsal.png"), "--json", str(summary),
        *extra,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return dict(json.loads(summary.read_text()))


def replays(service: Service) -> float:
    """executor_idempotent_replays_total, from /metrics."""
    for line in service.client.get("/metrics").text.splitlines():
        if line.startswith("executor_idempotent_replays_total"):
            return float(line.split()[-1])
    raise AssertionError("no executor_idempotent_replays_total in /metrics")


@pytest.mark.system
def test_a_rehearsal_run_twice_runs_twice(service: Service, tmp_path: Path) -> None:
    """1. The same rehearsal (same seed) twice against one service. Expected: both judged every
    submission right, and the service replayed none of the second's (its ids are its own: the
    service keeps answers by Idempotency-Key)."""
    args = ("--languages", "python", "--students", "6", "--submissions-per-student", "1",
            "--concurrency", "2")  # fmt: skip
    first = rehearse(service, tmp_path, *args)
    before = replays(service)
    second = rehearse(service, tmp_path, *args)
    for result in (first, second):
        assert result["summary"]["correct"] == 6, result["summary"]
    assert replays(service) == before


@pytest.mark.system
def test_a_language_without_submissions_leaves_the_plan_out_not_the_summary(
    service: Service, tmp_path: Path
) -> None:
    """1. A rehearsal over Python and Node whose one student writes Python, with
    --replicas-per-language. Expected: exit 0, the summary written, no plan but a plan_error
    naming Node (nothing of it was measured)."""
    seed = next(
        s
        for s in range(100)
        if build(students=1, submissions_per_student=1, seed=s, languages=("python", "node"))[
            0
        ].language
        == "python"
    )
    result = rehearse(
        service, tmp_path, "--languages", "python,node", "--students", "1",
        "--submissions-per-student", "1", "--concurrency", "1", "--seed", str(seed),
        "--replicas-per-language", "1",
    )  # fmt: skip
    assert result["summary"]["correct"] == 1, result["summary"]
    assert "plan" not in result and "node" in result["plan_error"], result
