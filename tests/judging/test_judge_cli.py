"""`executor judge`: outcomes, the table and the exit status from the issue-10 wire format, and
the command against a real service."""

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from rich.console import Console

from executor.judging.judge_cli import (
    EXIT_AGREED,
    EXIT_DISAGREED,
    EXIT_UNJUDGEABLE,
    SubmissionOutcome,
    add_judge_command,
    build_table,
    exit_status,
    judge_problem,
    main,
    outcome_from_responses,
)
from executor.judging.models import Verdict
from executor.judging.package import Problem, Submission, read_problem
from tests.support import Service, start_service, stop_service

PROBLEMS = Path(__file__).parent.parent / "problems"


def submission(problem: Problem, name: str) -> Submission:
    return next(s for s in problem.submissions if s.name == name)


def response(*tests: tuple[str, Verdict, int | None]) -> dict[str, Any]:
    """An /execute answer in the issue-10 format for tests ``(name, verdict, time_ms)``."""
    verdict = next(
        (v for _, v, _ in tests if v not in (Verdict.ACCEPTED, Verdict.SKIPPED)), Verdict.ACCEPTED
    )
    return {
        "status": "ok",
        "verdict": verdict,
        "tests": [
            {
                "name": name,
                "verdict": v,
                "status": None if v is Verdict.SKIPPED else "ok",
                "time_ms": time_ms,
                "wall_time_ms": time_ms,
                "memory_kb": None if time_ms is None else 9000,
                "exit_code": None if time_ms is None else 0,
                "signal": None,
                "stdout": "",
                "stderr": "",
                "checker_message": None,
            }
            for name, v, time_ms in tests
        ],
        "summary": {"passed": 0, "total": len(tests), "max_time_ms": 0, "max_memory_kb": 0},
    }


def render(problem: Problem, outcomes: list[SubmissionOutcome], time_limit_ms: int | None) -> str:
    console = Console(record=True, width=200)
    console.print(build_table(problem, outcomes, time_limit_ms=time_limit_ms))
    return console.export_text()


AC, WA, TLE, RTE, SKIP = (
    Verdict.ACCEPTED,
    Verdict.WRONG_ANSWER,
    Verdict.TIME_LIMIT_EXCEEDED,
    Verdict.RUNTIME_ERROR,
    Verdict.SKIPPED,
)


def test_an_outcome_takes_the_first_failure_and_the_slowest_test() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    outcome = outcome_from_responses(
        submission(problem, "time_limit_exceeded/spins_on_long.py"),
        [
            response(
                ("sample/1", AC, 31),
                ("secret/large/01", TLE, 2104),
                ("secret/small/01", SKIP, None),
            )
        ],
    )
    assert outcome.verdict is TLE
    assert outcome.test_verdicts == (AC, TLE, SKIP)
    assert (outcome.slowest_test, outcome.slowest_time_ms) == ("secret/large/01", 2104)
    assert outcome.agrees


def test_an_outcome_joins_the_answers_to_several_bodies() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    outcome = outcome_from_responses(
        submission(problem, "wrong_answer/three_digits.py"),
        [response(("sample/1", AC, 20)), response(("secret/large/01", WA, 25))],
    )
    assert (outcome.verdict, outcome.agrees, outcome.slowest_test) == (WA, True, "secret/large/01")


def test_a_compilation_error_without_tests_is_judged_by_the_overall_verdict() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    answer = {"status": "compilation_error", "verdict": "compilation_error", "tests": []}
    outcome = outcome_from_responses(submission(problem, "compile_error/Missing.java"), [answer])
    assert (outcome.verdict, outcome.agrees, outcome.slowest_test) == (
        Verdict.COMPILATION_ERROR,
        True,
        None,
    )


def test_the_table_shows_expected_and_actual_verdicts_and_the_agreement() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    outcomes = [
        outcome_from_responses(
            submission(problem, "accepted/digitsum.py"),
            [
                response(
                    ("sample/1", AC, 20), ("secret/large/01", AC, 45), ("secret/small/01", AC, 19)
                )
            ],
        ),
        outcome_from_responses(
            submission(problem, "wrong_answer/skips_zeros.js"),
            [response(("sample/1", AC, 40), ("secret/large/01", RTE, 41))],
        ),
        SubmissionOutcome(submission(problem, "accepted/digitsum.cpp"), None, (), None, None, None),
    ]
    text = render(problem, outcomes, 1000)
    assert "Digit Sum: time limit 1000 ms, derived from the accepted runs" in text
    lines = {line.split()[1]: line.split() for line in text.splitlines() if line.count("│") > 3}
    assert lines["accepted/digitsum.py"][2:] == [
        "│", "python", "│", "accepted", "│", "accepted", "│", "secret/large/01", "(45", "ms)",
        "│", "yes", "│",
    ]  # fmt: skip
    assert lines["wrong_answer/skips_zeros.js"][-2] == "NO"
    assert lines["accepted/digitsum.cpp"][-2] == "skipped"
    assert "accepted/digitsum.cpp: skipped: language not supported here (.cpp)" in text
    assert exit_status(outcomes) == EXIT_DISAGREED


def test_skipped_submissions_do_not_change_the_exit_status() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    agreeing = outcome_from_responses(
        submission(problem, "accepted/digitsum.py"), [response(("sample/1", AC, 20))]
    )
    skipped = SubmissionOutcome(
        submission(problem, "accepted/digitsum.cpp"), None, (), None, None, None
    )
    assert exit_status([agreeing, skipped]) == EXIT_AGREED
    assert exit_status([skipped]) == EXIT_AGREED


def test_the_judge_command_parses_its_arguments() -> None:
    parser = argparse.ArgumentParser(prog="executor")
    add_judge_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["judge", "some/dir", "--url", "http://127.0.0.1:1", "--all-tests"])
    assert (args.command, args.problem_dir, args.url, args.all_tests) == (
        "judge",
        Path("some/dir"),
        "http://127.0.0.1:1",
        True,
    )


def test_a_directory_that_is_no_package_exits_with_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == EXIT_UNJUDGEABLE
    assert "problem.yaml: missing (is this a problem package?)" in capsys.readouterr().err


def test_an_unreachable_service_exits_with_two(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) on loopback: nothing listens there, the connection is refused.
    assert main([str(PROBLEMS / "anypair"), "--url", "http://127.0.0.1:9"]) == EXIT_UNJUDGEABLE
    assert "cannot read the service's /info" in capsys.readouterr().err


@pytest.fixture(scope="module")
def judge_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_service(tmp_path_factory.mktemp("judge"), warm=True)
    yield service
    stop_service(service)


def test_each_request_the_judge_sends_is_answered_by_the_service(judge_service: Service) -> None:
    """1. Judge the Python-validator problem through a real service.
    2. Every judged submission gets an answer from it, never a transport error: an outcome
       with a verdict once the service judges tests (issue 10), an HTTP error until then."""
    problem = read_problem(PROBLEMS / "anypair")
    with httpx.Client(base_url=judge_service.url) as client:
        outcomes, time_limit_ms = judge_problem(problem, client, maxima={"time_ms": 20000})
    assert time_limit_ms == 2000
    assert len(outcomes) == len(problem.submissions)
    for outcome in outcomes:
        assert outcome.verdict is not None or (outcome.error or "").startswith("HTTP ")


@pytest.mark.parametrize("name", ["digitsum", "circlearea", "anypair", "divisor", "guess"])
def test_every_submission_of_our_problems_gets_its_expected_verdict(
    name: str, judge_service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """1. Run `executor judge tests/problems/<name> --url <service>`.
    2. Every Python, Java and JavaScript submission agrees with its directory (exit 0); the
       C++ one is listed as skipped."""
    status = main([str(PROBLEMS / name), "--url", judge_service.url])
    output = capsys.readouterr().out
    assert status == EXIT_AGREED, output


@pytest.mark.system
def test_without_a_url_the_judge_starts_a_service_and_stops_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """1. Run `executor judge tests/problems/anypair` with no --url.
    2. It starts `executor serve` on a free port, waits for /readyz, judges, prints a row for
       every submission (exit 0 or 1: agreement needs the service to judge tests).
    3. When it returns, the service it started is gone, and so is every process it started:
       none is left under this process or orphaned to init."""
    # Services other tests started are still running, and their runner pools replace runners
    # in the background: what they start now is theirs, not a leak of the judge's service.
    others = psutil.Process().children()
    before = set(psutil.process_iter())
    status = main([str(PROBLEMS / "anypair")])
    output = capsys.readouterr().out
    assert status in (EXIT_AGREED, EXIT_DISAGREED)
    for name in ("accepted/Halves.java", "accepted/big.js", "wrong_answer/halves_even.py"):
        assert name in output
    assert _started_since(before, excluding=others) == []


def _started_since(before: set[psutil.Process], excluding: list[psutil.Process]) -> list[str]:
    """Processes alive now but not in ``before``, under this process or orphaned (parent 1),
    other than ``excluding`` and their descendants. (A process's identity is its pid and start
    time; start times alone cannot be compared with the clock: psutil derives them from the boot
    time in whole seconds.)"""
    me = psutil.Process()
    left = []
    for process in psutil.process_iter():
        try:
            if process in before or process in excluding:
                continue
            parents = process.parents()
            if me not in parents and process.ppid() != 1:
                continue
            if any(parent in excluding for parent in parents):
                continue
            left.append(f"{process.pid} {process.name()} {process.cmdline()[:3]}")
        except psutil.NoSuchProcess:
            continue
    return left
