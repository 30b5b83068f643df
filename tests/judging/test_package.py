"""Reading the problem packages under tests/problems, and the /execute bodies made from them."""

from pathlib import Path

import pytest

from executor.judging.checkers import CheckerConfig, CheckerKind, check
from executor.judging.models import JudgingRequest, Verdict
from executor.judging.package import (
    LEGACY,
    MODERN,
    Problem,
    Submission,
    UnsupportedPackage,
    default_checker,
    execute_requests,
    expectation_for,
    read_problem,
)

PROBLEMS = Path(__file__).parent.parent / "problems"


def submission(problem: Problem, name: str) -> Submission:
    return next(s for s in problem.submissions if s.name == name)


def test_a_legacy_package_gives_its_tests_in_order_with_nested_groups() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    assert (problem.name, problem.format_version, problem.interactive) == (
        "Digit Sum",
        LEGACY,
        False,
    )
    assert [t.name for t in problem.tests] == [
        "sample/1",
        "secret/large/01",
        "secret/small/01",
    ]
    assert problem.tests[0].wire() == {
        "name": "sample/1",
        "stdin": "12\n0\n99\n",
        "expected_stdout": "3\n0\n18\n",
    }


def test_the_default_validator_becomes_case_insensitive_tokens() -> None:
    # Kattis' default validator is case-insensitive unless told case_sensitive.
    problem = read_problem(PROBLEMS / "digitsum")
    assert {dict(t.checker or {})["type"] for t in problem.tests} == {"tokens"}
    assert problem.tests[0].checker == {"type": "tokens", "case_sensitive": False}
    assert problem.validator is None


def test_limits_come_from_problem_yaml_in_mib_and_seconds() -> None:
    digitsum = read_problem(PROBLEMS / "digitsum")
    assert (digitsum.time_limit_ms, digitsum.memory_mb, digitsum.output_kb) == (None, 256, None)
    assert (digitsum.time_multiplier, digitsum.time_resolution_ms) == (5.0, 1000)
    circle = read_problem(PROBLEMS / "circlearea")
    assert (circle.time_limit_ms, circle.memory_mb, circle.time_multiplier) == (2000, 256, 2.0)


def test_a_legacy_time_limit_may_come_from_a_timelimit_file() -> None:
    assert read_problem(PROBLEMS / "anypair").time_limit_ms == 2000


@pytest.mark.parametrize(
    ("slowest_ms", "limit_ms"), [(1, 1000), (200, 1000), (201, 2000), (640, 4000)]
)
def test_a_missing_time_limit_is_derived_from_the_slowest_accepted_run(
    slowest_ms: int, limit_ms: int
) -> None:
    # The format: the smallest multiple of time_resolution (1 s) >= slowest * multiplier (5).
    assert read_problem(PROBLEMS / "digitsum").time_limit_from(slowest_ms) == limit_ms


def test_submissions_are_listed_with_their_language_and_expectation() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    judged = {s.name: s.source.language for s in problem.submissions if s.source is not None}
    assert judged == {
        "accepted/DigitSum.java": "java",
        "accepted/digitsum.js": "node",
        "accepted/digitsum.py": "python",
        "compile_error/Missing.java": "java",
        "compile_error/unbalanced.py": "python",
        "run_time_error/recursive.py": "python",
        "run_time_error/safe_integers.js": "node",
        "time_limit_exceeded/Quadratic.java": "java",
        "time_limit_exceeded/spins_on_long.py": "python",
        "wrong_answer/skips_zeros.js": "node",
        "wrong_answer/three_digits.py": "python",
    }
    for s in problem.submissions:
        assert s.expectation is not None
        assert s.expectation.directory == s.name.split("/")[0]


def test_a_submission_in_another_language_is_listed_as_skipped() -> None:
    cpp = submission(read_problem(PROBLEMS / "digitsum"), "accepted/digitsum.cpp")
    assert cpp.source is None
    assert cpp.skip_reason == "language not supported here (.cpp)"
    with pytest.raises(ValueError, match="cannot be judged: language not supported"):
        execute_requests(read_problem(PROBLEMS / "digitsum"), cpp, time_limit_ms=1000)


def test_an_execute_body_carries_tests_checker_limits_and_stop_on_first_failure() -> None:
    problem = read_problem(PROBLEMS / "digitsum")
    [body] = execute_requests(
        problem, submission(problem, "accepted/digitsum.py"), time_limit_ms=1000
    )
    assert body["language"] == "python"
    assert body["code"].startswith("import sys")
    assert body["limits"] == {"time_ms": 1000, "wall_time_ms": 3000, "memory_mb": 256}
    assert body["checker"] == {"type": "tokens", "case_sensitive": False}
    assert body["stop_on_first_failure"] is True
    assert [t["name"] for t in body["tests"]] == [t.name for t in problem.tests]
    # The body is valid for the request model of issue 10.
    assert JudgingRequest.model_validate(
        {k: body[k] for k in ("tests", "checker", "stop_on_first_failure")}
    ).judged


def test_the_2023_07_format_takes_float_tolerances_from_test_group_yaml() -> None:
    problem = read_problem(PROBLEMS / "circlearea")
    assert problem.format_version == MODERN
    assert [t.name for t in problem.tests] == ["sample/1", "secret/1-tiny", "secret/2-huge"]
    expected = {"type": "float", "abs": 1e-6, "rel": 1e-6, "case_sensitive": False}
    assert all(t.checker == expected for t in problem.tests)
    [body] = execute_requests(problem, submission(problem, "accepted/area.js"), time_limit_ms=2000)
    assert body["checker"] == expected


def test_each_answer_file_passes_its_own_default_checker() -> None:
    for name in ("digitsum", "circlearea"):
        for test in read_problem(PROBLEMS / name).tests:
            answer = test.answer_path.read_bytes()
            checker = dict(test.checker or {})
            config = CheckerConfig(
                kind=CheckerKind(checker["type"]),
                case_sensitive=checker.get("case_sensitive", True),
                abs_tolerance=checker.get("abs"),
                rel_tolerance=checker.get("rel"),
            )
            assert check(answer, expected=answer, config=config).accepted


def test_a_python_output_validator_becomes_a_program_checker() -> None:
    problem = read_problem(PROBLEMS / "anypair")
    assert problem.validator is not None and problem.validator.language == "python"
    assert all(t.checker is None for t in problem.tests)
    [body] = execute_requests(
        problem, submission(problem, "accepted/Halves.java"), time_limit_ms=2000
    )
    assert body["checker"]["type"] == "program"
    assert body["checker"]["language"] == "python"
    assert "ACCEPTED, WRONG_ANSWER = 42, 43" in body["checker"]["code"]
    assert "interactor" not in body


def test_a_java_output_validator_becomes_a_program_checker() -> None:
    problem = read_problem(PROBLEMS / "divisor")
    [body] = execute_requests(
        problem, submission(problem, "accepted/smallest.py"), time_limit_ms=2000
    )
    assert body["checker"]["language"] == "java"
    assert "class DivisorValidator" in body["checker"]["code"]


def test_an_interactive_problem_sends_its_validator_as_the_interactor() -> None:
    problem = read_problem(PROBLEMS / "guess")
    assert problem.interactive
    assert [t.name for t in problem.tests][:2] == ["sample/1", "secret/1-one"]
    [body] = execute_requests(
        problem, submission(problem, "wrong_answer/counts_up.py"), time_limit_ms=1000
    )
    assert body["interactor"]["language"] == "python"
    assert "checker" not in body
    assert body["tests"][1] == {"name": "secret/1-one", "stdin": "1 1\n", "expected_stdout": "1\n"}
    names = {s.name: s.expectation.directory for s in problem.submissions if s.expectation}
    assert names == {
        "accepted/Bisect.java": "accepted",
        "accepted/bisect.js": "accepted",
        "accepted/bisect.py": "accepted",
        "time_limit_exceeded/never_answers.py": "time_limit_exceeded",
        "wrong_answer/counts_up.py": "wrong_answer",
        "wrong_answer/exits_early.js": "wrong_answer",
    }


@pytest.mark.parametrize(
    ("args", "checker"),
    [
        ([], {"type": "tokens", "case_sensitive": False}),
        (["case_sensitive"], {"type": "tokens", "case_sensitive": True}),
        (
            ["float_tolerance", "1e-6"],
            {"type": "float", "abs": 1e-6, "rel": 1e-6, "case_sensitive": False},
        ),
        (
            ["float_absolute_tolerance", "0.5", "case_sensitive"],
            {"type": "float", "abs": 0.5, "case_sensitive": True},
        ),
        (
            ["float_relative_tolerance", "1e-9"],
            {"type": "float", "rel": 1e-9, "case_sensitive": False},
        ),
        (["space_change_sensitive", "case_sensitive"], {"type": "exact"}),
    ],
)
def test_default_validator_flags_map_to_a_checker(args: list[str], checker: dict) -> None:
    assert default_checker(args) == checker


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ignore_case"], "unknown flag 'ignore_case'"),
        (["float_tolerance"], "float_tolerance needs a number >= 0, not None"),
        (["float_tolerance", "-1"], "needs a number >= 0, not '-1'"),
        (["float_tolerance", "nan"], "needs a number >= 0, not 'nan'"),
    ],
)
def test_bad_default_validator_flags_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(UnsupportedPackage, match=message):
        default_checker(args)


@pytest.mark.parametrize(
    ("directory", "verdicts", "agrees"),
    [
        ("accepted", [Verdict.ACCEPTED] * 3, True),
        ("accepted", [Verdict.ACCEPTED, Verdict.WRONG_ANSWER], False),
        ("wrong_answer", [Verdict.ACCEPTED, Verdict.WRONG_ANSWER, Verdict.SKIPPED], True),
        ("wrong_answer", [Verdict.ACCEPTED, Verdict.ACCEPTED], False),  # required: one WA
        ("wrong_answer", [Verdict.TIME_LIMIT_EXCEEDED], False),
        ("time_limit_exceeded", [Verdict.ACCEPTED, Verdict.TIME_LIMIT_EXCEEDED], True),
        ("run_time_error", [Verdict.RUNTIME_ERROR], True),
        ("run_time_error", [Verdict.MEMORY_LIMIT_EXCEEDED], True),  # a crash in the format
        ("run_time_error", [Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR], True),  # legacy
        ("compile_error", [Verdict.COMPILATION_ERROR], True),
        ("compile_error", [Verdict.ACCEPTED], False),
        ("accepted", [Verdict.INTERNAL_ERROR], False),
        ("accepted", [Verdict.SKIPPED], False),  # nothing ran: nothing to agree with
    ],
)
def test_an_expectation_reads_the_verdicts_of_the_tests_that_ran(
    directory: str, verdicts: list[Verdict], agrees: bool
) -> None:
    expectation = expectation_for(directory, format_version=LEGACY)
    assert expectation is not None
    assert expectation.agrees(verdicts) is agrees


def test_the_2023_07_format_reads_directories_more_strictly() -> None:
    # 2023-07: run_time_error permits only AC and RTE; time_limit_exceeded only AC and TLE.
    rte = expectation_for("run_time_error", format_version=MODERN)
    tle = expectation_for("time_limit_exceeded", format_version=MODERN)
    assert rte is not None and tle is not None
    assert not rte.agrees([Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR])
    assert not tle.agrees([Verdict.WRONG_ANSWER, Verdict.TIME_LIMIT_EXCEEDED])
    assert expectation_for("partially_accepted", format_version=MODERN) is None


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_group_flags_are_inherited_and_overridden_by_the_closest_testdata_yaml(
    tmp_path: Path,
) -> None:
    problem = read_problem(
        write(
            tmp_path / "p",
            {
                "problem.yaml": "name: p\nvalidator_flags: case_sensitive\n",
                "data/testdata.yaml": "output_validator_flags: float_tolerance 0.5\n",
                "data/secret/a/1.in": "",
                "data/secret/a/1.ans": "",
                "data/secret/b/testdata.yaml": "output_validator_flags: ''\n",
                "data/secret/b/1.in": "",
                "data/secret/b/1.ans": "",
                "data/secret/b/.hidden/1.in": "",
            },
        )
    )
    assert [(t.name, t.checker) for t in problem.tests] == [
        ("secret/a/1", {"type": "float", "abs": 0.5, "rel": 0.5, "case_sensitive": True}),
        ("secret/b/1", {"type": "tokens", "case_sensitive": True}),
    ]


def test_tests_with_different_checkers_go_in_consecutive_bodies(tmp_path: Path) -> None:
    problem = read_problem(
        write(
            tmp_path / "p",
            {
                "problem.yaml": "name: p\n",
                "data/sample/1.in": "",
                "data/sample/1.ans": "",
                "data/secret/testdata.yaml": "output_validator_flags: case_sensitive\n",
                **{f"data/secret/{n}.in": "" for n in "abc"},
                **{f"data/secret/{n}.ans": "" for n in "abc"},
                "submissions/accepted/s.py": "print()\n",
            },
        )
    )
    bodies = execute_requests(
        problem, submission(problem, "accepted/s.py"), time_limit_ms=1000, max_tests=2
    )
    assert [[t["name"] for t in b["tests"]] for b in bodies] == [
        ["sample/1"],
        ["secret/a", "secret/b"],
        ["secret/c"],
    ]
    assert [b["checker"]["case_sensitive"] for b in bodies] == [False, True, True]


def test_test_data_keeps_its_bytes_and_refuses_what_is_not_utf8(tmp_path: Path) -> None:
    root = write(
        tmp_path / "p",
        {"problem.yaml": "name: p\n", "data/secret/1.ans": "", "submissions/accepted/s.js": ""},
    )
    (root / "data/secret/1.in").write_bytes(b"1\r\n2\r\n")
    problem = read_problem(root)
    assert problem.tests[0].wire()["stdin"] == "1\r\n2\r\n"  # no newline translation
    (root / "data/secret/1.in").write_bytes(b"\xff\n")
    with pytest.raises(UnsupportedPackage, match=r"1\.in: not UTF-8"):
        execute_requests(problem, submission(problem, "accepted/s.js"), time_limit_ms=1000)


def test_a_multi_file_submission_names_its_entry_file(tmp_path: Path) -> None:
    problem = read_problem(
        write(
            tmp_path / "p",
            {
                "problem.yaml": "name: p\n",
                "data/secret/1.in": "",
                "data/secret/1.ans": "",
                "submissions/accepted/py/__main__.py": "import helper\n",
                "submissions/accepted/py/helper.py": "X = 1\n",
                "submissions/accepted/java/A.java": "class A {}\n",
                "submissions/accepted/java/Main.java": (
                    "class Main { static void main(String[] a) {} }"
                ),
                "submissions/accepted/mixed/a.py": "",
                "submissions/accepted/mixed/b.js": "",
                "submissions/unknown_dir/s.py": "",
            },
        )
    )
    py = submission(problem, "accepted/py")
    assert py.source is not None
    assert py.source.wire()["main"] == "__main__.py"
    assert [f["name"] for f in py.source.wire()["files"]] == ["__main__.py", "helper.py"]
    java = submission(problem, "accepted/java")
    assert java.source is not None and java.source.main == "Main.java"
    assert (
        submission(problem, "accepted/mixed").skip_reason == "more than one language (node, python)"
    )
    unknown = submission(problem, "unknown_dir/s.py")
    assert unknown.expectation is None
    assert unknown.skip_reason == "unknown expected-verdict directory 'unknown_dir'"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "problem.yaml: missing"),
        ({"problem.yaml": "- a list\n"}, "must be a YAML map"),
        ({"problem.yaml": "name: [unclosed\n"}, "not valid YAML"),
        ({"problem.yaml": "name: p\n"}, "data/secret: no test cases"),
        (
            {
                "problem.yaml": "validation: custom\n",
                "data/secret/1.in": "",
                "data/secret/1.ans": "",
            },
            "custom validation, but no output validator",
        ),
        (
            {
                "problem.yaml": "validation: custom\n",
                "output_validators/v/v.cpp": "",
            },
            "output validator cannot be run here: language not supported here \\(.cpp\\)",
        ),
        (
            {"problem.yaml": "validation: custom\n", "output_validators/v/build": ""},
            "build/run scripts",
        ),
        (
            {"problem.yaml": "problem_format_version: 2023-07-draft\ntype: multi-pass\n"},
            "problem type \\['multi-pass'\\] cannot be judged here",
        ),
        ({"problem.yaml": "name: p\n", "data/secret/1.in": ""}, "no answer file 1.ans"),
        (
            {
                "problem.yaml": "limits:\n  memory: 0\n",
                **{f"data/secret/1.{e}": "" for e in ("in", "ans")},
            },
            "limits.memory",
        ),
    ],
)
def test_a_package_we_cannot_judge_is_refused_with_the_reason(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    root = write(tmp_path / "p", files)
    root.mkdir(exist_ok=True)
    with pytest.raises(UnsupportedPackage, match=message):
        read_problem(root)


def test_warnings_name_what_is_not_judged_as_kattis_would(tmp_path: Path) -> None:
    problem = read_problem(
        write(
            tmp_path / "p",
            {
                "problem.yaml": "name: p\ntype: scoring\nvalidator_flags: space_change_sensitive\n",
                "data/secret/1.in": "",
                "data/secret/1.ans": "",
            },
        )
    )
    assert problem.warnings == (
        "a scoring problem: judged as pass-fail, scores are ignored",
        "secret/1: space_change_sensitive treated as exact (stricter on letter case than Kattis)",
    )
