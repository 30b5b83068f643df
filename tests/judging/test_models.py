"""Validation of the judging fields of POST /execute, and the verdict helpers."""

from typing import Any

import pytest
from pydantic import ValidationError

from executor.judging.checkers import CheckerConfig, CheckerKind
from executor.judging.models import (
    JUDGING_BOUNDS,
    JudgingBounds,
    JudgingRequest,
    LinesChecker,
    ProgramChecker,
    TestResult,
    Verdict,
)
from executor.judging.verdicts import (
    decide_verdict,
    overall_verdict,
    summarize,
    validator_verdict,
)
from executor.models import Status


def request(bounds: JudgingBounds | None = None, **fields: Any) -> JudgingRequest:
    context = {JUDGING_BOUNDS: bounds} if bounds is not None else None
    return JudgingRequest.model_validate(fields, context=context)


def error_of(bounds: JudgingBounds | None = None, **fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        request(bounds, **fields)
    return str(caught.value)


def test_a_request_without_judging_fields_is_not_judged() -> None:
    plain = request()
    assert not plain.judged
    assert plain.resolved_tests(stdin="x") == []


def test_a_top_level_expected_stdout_is_one_test_with_the_top_level_stdin() -> None:
    one = request(expected_stdout="3\n")
    assert one.judged
    [test] = one.resolved_tests(stdin="1 2\n")
    assert (test.name, test.stdin, test.expected_stdout) == ("1", "1 2\n", "3\n")


def test_unnamed_tests_are_numbered_from_one_in_order() -> None:
    tests = request(tests=[{"stdin": "a"}, {"name": "big", "stdin": "b"}, {}]).resolved_tests(
        stdin=""
    )
    assert [t.name for t in tests] == ["1", "big", "3"]


def test_per_test_limits_take_the_submission_limit_fields() -> None:
    [test] = request(tests=[{"limits": {"time_ms": 500}}]).resolved_tests(stdin="")
    assert test.limits is not None and test.limits.time_ms == 500
    assert "memory_gb" in error_of(tests=[{"limits": {"memory_gb": 1}}])


def test_the_default_checker_is_lines() -> None:
    assert request(expected_stdout="1").resolved_checker() == LinesChecker()


@pytest.mark.parametrize(
    ("checker", "config"),
    [
        ("exact", CheckerConfig(kind=CheckerKind.EXACT)),
        ("tokens", CheckerConfig(kind=CheckerKind.TOKENS)),
        ({"type": "tokens", "case_sensitive": False}, CheckerConfig(CheckerKind.TOKENS, False)),
        ("float", CheckerConfig(kind=CheckerKind.FLOAT)),
        (
            {"type": "float", "abs": 1e-6, "rel": 1e-4},
            CheckerConfig(CheckerKind.FLOAT, abs_tolerance=1e-6, rel_tolerance=1e-4),
        ),
    ],
)
def test_a_checker_is_a_name_or_an_object(checker: object, config: CheckerConfig) -> None:
    resolved = request(expected_stdout="1", checker=checker).resolved_checker()
    assert resolved is not None and not isinstance(resolved, ProgramChecker)
    assert resolved.to_config() == config


def test_a_program_checker_takes_a_source_like_a_submission() -> None:
    checker = request(
        tests=[{"stdin": "1", "expected_stdout": "1"}],
        checker={"type": "program", "language": "python", "code": "exit(42)"},
    ).resolved_checker()
    assert isinstance(checker, ProgramChecker)
    assert (checker.language, checker.code) == ("python", "exit(42)")
    files = {
        "type": "program",
        "language": "java",
        "files": [{"name": "V.java", "content": "class V {}"}, {"name": "U.java", "content": ""}],
        "main": "V.java",
    }
    assert request(expected_stdout="", checker=files).checker == ProgramChecker(**files)


@pytest.mark.parametrize(
    ("checker", "message"),
    [
        ("diff", "checker 'diff' is not one of exact, lines, tokens, float"),
        ("program", "checker 'program' is not one of exact, lines, tokens, float"),
        ({"type": "float", "abs": -1}, "greater than or equal to 0"),
        ({"type": "float", "rel": "nan"}, "finite number"),
        ({"type": "float", "tolerance": 1e-6}, "Extra inputs are not permitted"),
        ({"type": "lines", "case_sensitive": False}, "Extra inputs are not permitted"),
        ({"type": "regex"}, "does not match any of the expected tags"),
        ({"type": "program", "language": "python"}, "give exactly one of 'code'"),
        (
            {"type": "program", "language": "python", "code": "x", "main": "a.py"},
            "'main' goes with 'files'",
        ),
        (
            {
                "type": "program",
                "language": "python",
                "files": [{"name": "a.py", "content": ""}, {"name": "a.py", "content": ""}],
            },
            "file names must be unique; repeated: ['a.py']",
        ),
        (
            {
                "type": "program",
                "language": "python",
                "files": [{"name": "../v.py", "content": ""}],
            },
            "must not contain '/'",
        ),
    ],
)
def test_a_bad_checker_gets_a_clear_error(checker: object, message: str) -> None:
    assert message in error_of(expected_stdout="1", checker=checker)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tests": []}, "'tests' must hold 1 to 256 tests"),
        ({"tests": [{"name": "a"}, {"name": "a"}]}, "test names must be unique"),
        ({"tests": [{"name": "2"}, {}]}, "unnamed tests are 1, 2, …): ['2']"),
        ({"tests": [{"name": ""}]}, "a test name must be 1 to 128 bytes"),
        ({"tests": [{"name": "a\nb"}]}, "must not contain control or format characters"),
        ({"tests": [{"stdout": "1"}]}, "Extra inputs are not permitted"),
        ({"tests": [{}], "expected_stdout": "1"}, "inside each test, not at the top level"),
        ({"checker": "tokens"}, "'checker' needs 'tests' or 'expected_stdout'"),
        ({"stop_on_first_failure": True}, "'stop_on_first_failure' needs 'tests'"),
        (
            {
                "expected_stdout": "",
                "checker": "lines",
                "interactor": {"language": "py", "code": ""},
            },
            "give 'checker' or 'interactor', not both",
        ),
        ({"interactor": {"language": "python"}}, "give exactly one of 'code'"),
    ],
)
def test_an_inconsistent_request_gets_a_clear_error(fields: dict[str, Any], message: str) -> None:
    assert message in error_of(**fields)


def test_the_operator_bounds_come_from_the_validation_context() -> None:
    bounds = JudgingBounds(max_tests=2, max_test_name_bytes=4, max_program_files=1)
    assert "'tests' must hold 1 to 2 tests" in error_of(bounds, tests=[{}, {}, {}])
    assert "1 to 4 bytes" in error_of(bounds, tests=[{"name": "12345"}])
    two_files = [{"name": "a.py", "content": ""}, {"name": "b.py", "content": ""}]
    interactor = {"language": "python", "files": two_files}
    assert "1 to 1 files" in error_of(bounds, tests=[{}], interactor=interactor)
    assert len(request(bounds, tests=[{}, {}]).resolved_tests(stdin="")) == 2


def test_an_interactor_alone_makes_a_judged_request_with_no_checker() -> None:
    judged = request(interactor={"language": "python", "code": "exit(42)"})
    assert judged.judged
    assert judged.resolved_checker() is None
    assert [t.name for t in judged.resolved_tests(stdin="5")] == ["1"]


# --- verdicts --------------------------------------------------------------------------------


def result(name: str, verdict: Verdict, *, time_ms: int = 1, memory_kb: int = 100) -> TestResult:
    return TestResult(
        name=name,
        verdict=verdict,
        status=Status.OK,
        time_ms=time_ms,
        wall_time_ms=time_ms,
        memory_kb=memory_kb,
        exit_code=0,
        signal=None,
        stdout="",
        stderr="",
        checker_message=None,
    )


@pytest.mark.parametrize(
    ("status", "checked", "verdict"),
    [
        (Status.OK, None, Verdict.ACCEPTED),
        (Status.OK, Verdict.ACCEPTED, Verdict.ACCEPTED),
        (Status.OK, Verdict.WRONG_ANSWER, Verdict.WRONG_ANSWER),
        (Status.OK, Verdict.INTERNAL_ERROR, Verdict.INTERNAL_ERROR),
        (Status.RUNTIME_ERROR, Verdict.ACCEPTED, Verdict.RUNTIME_ERROR),
        (Status.TIME_LIMIT_EXCEEDED, None, Verdict.TIME_LIMIT_EXCEEDED),
        (Status.MEMORY_LIMIT_EXCEEDED, None, Verdict.MEMORY_LIMIT_EXCEEDED),
        (Status.OUTPUT_LIMIT_EXCEEDED, None, Verdict.OUTPUT_LIMIT_EXCEEDED),
        (Status.COMPILATION_ERROR, None, Verdict.COMPILATION_ERROR),
        (Status.INTERNAL_ERROR, None, Verdict.INTERNAL_ERROR),
    ],
)
def test_a_failed_run_outranks_the_checker(
    status: Status, checked: Verdict | None, verdict: Verdict
) -> None:
    assert decide_verdict(status, checked=checked) is verdict


@pytest.mark.parametrize(
    ("exit_code", "verdict"),
    [
        (42, Verdict.ACCEPTED),
        (43, Verdict.WRONG_ANSWER),
        (0, Verdict.INTERNAL_ERROR),  # Kattis: "Any other exit code (including 0!)"
        (1, Verdict.INTERNAL_ERROR),
        (None, Verdict.INTERNAL_ERROR),  # killed by a signal
    ],
)
def test_a_validator_exit_code_other_than_42_or_43_is_a_judge_error(
    exit_code: int | None, verdict: Verdict
) -> None:
    assert validator_verdict(exit_code) is verdict


def test_the_overall_verdict_is_the_first_failure_in_test_order() -> None:
    results = [
        result("1", Verdict.ACCEPTED),
        result("2", Verdict.TIME_LIMIT_EXCEEDED),
        result("3", Verdict.WRONG_ANSWER),
        TestResult.skipped("4"),
    ]
    assert overall_verdict(results) is Verdict.TIME_LIMIT_EXCEEDED
    assert overall_verdict([result("1", Verdict.ACCEPTED)]) is Verdict.ACCEPTED


def test_the_summary_counts_passed_tests_and_takes_maxima_over_those_that_ran() -> None:
    results = [
        result("1", Verdict.ACCEPTED, time_ms=30, memory_kb=900),
        result("2", Verdict.WRONG_ANSWER, time_ms=50, memory_kb=700),
        TestResult.skipped("3"),
    ]
    summary = summarize(results)
    assert (summary.passed, summary.total) == (1, 3)
    assert (summary.max_time_ms, summary.max_memory_kb) == (50, 900)


@pytest.mark.parametrize("name", ["a\x85b", "\u202eab", "a\ud800"])
def test_a_test_name_with_control_or_format_characters_is_refused(name: str) -> None:
    assert "must not contain control or format characters" in error_of(tests=[{"name": name}])
