"""Judging in the real images, in containers of the replica's size (--cpus 0.5 --memory 1g,
Docker's default capabilities and seccomp: uid drop and seccomp, no namespaces)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.testing import ContainerService
from tests.judging.test_runner import problem_tests, source, validator
from tests.support import container_name

pytestmark = pytest.mark.docker

PROBLEMS = Path(__file__).parent.parent / "problems"
# Java compiles (submission and validator) at 0.5 CPU before the first test.
LIMITS = {"time_ms": 4000, "wall_time_ms": 15000}


@pytest.fixture(scope="module")
def python_container(docker: str, images: dict[str, str]) -> Iterator[ContainerService]:
    with ContainerService.start(
        images["python"], name=container_name("python"), docker=docker
    ) as running:
        yield running


@pytest.fixture(scope="module")
def java_container(docker: str, images: dict[str, str]) -> Iterator[ContainerService]:
    with ContainerService.start(
        images["java"], name=container_name("java"), docker=docker, warm=True
    ) as running:
        yield running


@pytest.mark.parametrize(
    ("submission", "verdict"),
    [("accepted/bisect.py", "accepted"), ("wrong_answer/counts_up.py", "wrong_answer")],
)
def test_the_interactive_problem_is_judged_in_the_python_image(
    python_container: ContainerService, submission: str, verdict: str
) -> None:
    """1. Guess the number in the Python image: submission and interactor as two uids of the
    container's pools, connected by pipes. Expected: the verdict; the interactor's message."""
    result = python_container.execute(
        {
            **source(PROBLEMS / "guess" / "submissions" / submission),
            "tests": problem_tests("guess"),
            "interactor": validator("guess"),
            "limits": LIMITS,
        }
    )
    assert result["verdict"] == verdict, result
    assert all(t["checker_message"] for t in result["tests"]), result["tests"]
    info = python_container.info()
    # One companion uid per run slot.
    assert info["isolation"]["companion_uid_pool"]["size"] == info["load"]["concurrency"]


def test_a_java_submission_is_judged_by_a_java_validator_in_the_java_image(
    java_container: ContainerService,
) -> None:
    """1. Some Divisor in the Java image: the submission compiled once, the Java output
    validator compiled once, each test and each validation in a box of its own.
    Expected: accepted on every test, the validator's message on each."""
    result = java_container.execute(
        {
            **source(PROBLEMS / "divisor" / "submissions" / "accepted" / "Largest.java"),
            "tests": problem_tests("divisor"),
            "checker": {"type": "program", **validator("divisor")},
            "limits": LIMITS,
        }
    )
    assert result["verdict"] == "accepted", result
    assert [t["checker_message"] for t in result["tests"]] == ["ok"] * len(result["tests"])
    assert result["compile"]["status"] == "ok"
