"""Judging through POST /execute against a real service: every verdict in every language, the
checkers on tricky outputs, output validators (Python, Java), the interactive problem, stop on
first failure, tests at once, large tests, and the unjudged answer left as it was."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    LANGUAGES,
    PROGRAMS,
    Service,
    leftovers,
    processes_of_uids,
    program,
    settled,
    start_service,
    wait_for,
)

PROBLEMS = Path(__file__).parent.parent / "problems"
SPIN_LIMITS = {"time_ms": 1000, "wall_time_ms": 5000}
FLOOD_LIMITS = {"output_kb": 64, "time_ms": 5000, "wall_time_ms": 10000}
MEMORY_LIMITS = {"memory_mb": 128, "time_ms": 5000, "wall_time_ms": 10000}
ONE_TEST = {"tests": [{"stdin": "21\n", "expected_stdout": "42\n"}]}
UNJUDGED_FIELDS = {
    "status", "message", "stdout", "stderr", "exit_code", "signal", "time_ms", "wall_time_ms",
    "memory_kb", "truncated", "invalid_utf8", "compile", "language", "version",
}  # fmt: skip
TEST_FIELDS = {
    "name", "verdict", "status", "time_ms", "wall_time_ms", "memory_kb", "exit_code", "signal",
    "stdout", "stderr", "checker_message", "message",
}  # fmt: skip


def assert_nothing_left(service: Service) -> None:
    """No process of a run uid or a companion uid is left once the cleanups are done (waiting
    a little: the service's own deferred Java self-test may be running in a box just then)."""
    pool = settled(service)["isolation"]["companion_uid_pool"]
    wait_for(
        lambda: leftovers(service) == [] and processes_of_uids(pool["base"], pool["size"]) == [],
        timeout_s=10,
        what="the runs' processes to be gone",
    )


def source(path: Path) -> dict[str, Any]:
    """A program's request fields (``language`` and ``code``) from a file of tests/problems."""
    language = {".py": "python", ".js": "node", ".java": "java"}[path.suffix]
    return {"language": language, "code": path.read_text()}


def problem_tests(name: str) -> list[dict[str, str]]:
    """The secret tests of tests/problems/<name>, as request tests."""
    data = PROBLEMS / name / "data" / "secret"
    return [
        {
            "name": p.stem,
            "stdin": p.read_text(),
            "expected_stdout": p.with_suffix(".ans").read_text(),
        }
        for p in sorted(data.glob("*.in"))
    ]


def validator(name: str) -> dict[str, Any]:
    """tests/problems/<name>'s output validator as a request's judge program."""
    [path] = [p for p in (PROBLEMS / name / "output_validators").glob("*/*") if p.is_file()]
    return source(path)


VERDICTS = {
    "accepted": ("twice", ONE_TEST),
    "wrong_answer": ("twice", {"tests": [{"stdin": "21\n", "expected_stdout": "43\n"}]}),
    "time_limit_exceeded": ("spin", {"expected_stdout": "", "limits": SPIN_LIMITS}),
    "memory_limit_exceeded": ("memory_hog", {"expected_stdout": "", "limits": MEMORY_LIMITS}),
    "output_limit_exceeded": ("flood", {"expected_stdout": "", "limits": FLOOD_LIMITS}),
    "runtime_error": ("exit3", {"expected_stdout": "leaving with 3\n"}),
    "compilation_error": ("syntax_error", {"expected_stdout": ""}),
    "internal_error": (
        "twice",
        {
            **ONE_TEST,
            "checker": {"type": "program", **source(PROGRAMS / "python" / "broken_validator.py")},
        },
    ),
}


@pytest.mark.parametrize("verdict", VERDICTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_verdict_in_every_language(service: Service, language: str, verdict: str) -> None:
    case, fields = VERDICTS[verdict]
    if language == "java" and case == "syntax_error":
        case = "compile_error"
    result = service.run_program(language, case, **fields)
    assert result["verdict"] == verdict, result
    assert set(result) == UNJUDGED_FIELDS | {"verdict", "tests", "summary"}
    if verdict == "compilation_error":
        assert result["tests"] == [] and result["summary"]["total"] == 1
        assert result["compile"]["status"] == "compilation_error"
        assert result["compile"]["stderr"], "the compiler's or interpreter's message"
        return
    [test] = result["tests"]
    assert set(test) == TEST_FIELDS
    assert test["verdict"] == verdict and test["name"] == "1"
    assert result["summary"]["passed"] == (verdict == "accepted")
    if verdict == "internal_error":
        assert test["status"] == "ok"  # the program did nothing wrong: the judge failed
        assert "judge error: the output validator exited with 3" in test["message"]
        assert "validator bug" in test["message"]
    assert_nothing_left(service)


@pytest.mark.parametrize(
    ("language", "where", "message"),
    [
        ("python", 'File "syntax_error.py", line 1', "SyntaxError: '(' was never closed"),
        ("node", "syntax_error.js:1", "SyntaxError: missing ) after argument list"),
    ],
)
def test_a_syntax_error_is_a_compilation_error_with_the_interpreters_message(
    service: Service, language: str, where: str, message: str
) -> None:
    """1. A source that does not parse, with tests, in files (so its name shows).
    2. The syntax check runs in the sandbox before any test.
    Expected: compilation_error, the interpreter's message in compile.stderr, no test run."""
    suffix = {"python": ".py", "node": ".js"}[language]
    code = program(language, "syntax_error")["code"]
    result = service.execute(
        {
            "language": language,
            "files": [{"name": f"syntax_error{suffix}", "content": code}],
            "tests": [{"stdin": "", "expected_stdout": ""}] * 2,
        }
    )
    assert (result["verdict"], result["status"]) == ("compilation_error", "compilation_error")
    assert where in result["compile"]["stderr"] and message in result["compile"]["stderr"]
    assert result["compile"]["exit_code"] == 1
    assert result["tests"] == [] and result["summary"]["total"] == 2


def test_a_correct_interpreted_program_reports_its_syntax_check_as_compile(
    service: Service,
) -> None:
    result = service.run_program("python", "twice", **ONE_TEST)
    assert result["verdict"] == "accepted", result
    assert result["compile"]["status"] == "ok" and result["compile"]["stderr"] == ""


CHECKER_CASES: list[tuple[object, list[tuple[str, str, str]]]] = [
    # (checker, [(output, expected, verdict)])
    ("exact", [("42\n", "42\n", "accepted"), ("42", "42\n", "wrong_answer"),
               ("42\r\n", "42\n", "wrong_answer")]),
    ("lines", [("1 2  \r\n3\n\n\n", "1 2\n3\n", "accepted"), ("1 2\n3", "1 2\n3\n", "accepted"),
               (" 1 2\n3\n", "1 2\n3\n", "wrong_answer"), ("1  2\n", "1 2\n", "wrong_answer")]),
    ("tokens", [("1\n\n2   3\r\n", "1 2 3", "accepted"), ("YES", "yes", "wrong_answer"),
                ("1 2 3 4", "1 2 3", "wrong_answer"), ("", "1", "wrong_answer"),
                ("  \n", "", "accepted")]),
    ({"type": "tokens", "case_sensitive": False}, [("YES\n", "yes\n", "accepted")]),
    ("float", [("1e-7", "0.0000001", "accepted"), ("-0", "0", "accepted"),
               ("nan", "nan", "accepted"), ("nan", "1.0", "wrong_answer"),
               ("2.00000001", "2", "accepted"), ("1.0 2.0 extra", "1.0 2.0", "wrong_answer")]),
    ({"type": "float", "abs": 1e-6}, [("0.0000001", "1e-7", "accepted")]),
    ({"type": "float", "abs": 1e-3}, [("3.1416", "3.14159", "accepted")]),
    ({"type": "float", "abs": 1e-6, "rel": 0}, [("3.1416", "3.14159", "wrong_answer")]),
    ({"type": "float", "rel": 1e-6}, [("1000000.5", "1000000", "accepted")]),
]  # fmt: skip


@pytest.mark.parametrize(("checker", "cases"), CHECKER_CASES)
def test_each_checker_judges_tricky_outputs_as_written(
    service: Service, checker: object, cases: list[tuple[str, str, str]]
) -> None:
    """1. A program writes its stdin back byte for byte (the output the checker sees).
    2. One test per tricky output: trailing spaces, CRLF, missing final newline, 1e-7 against
       0.0000001, -0 against 0, nan, extra output after the answer, empty output, case.
    Expected: each test's verdict, and a message saying where a rejected output differs."""
    tests = [{"stdin": out, "expected_stdout": expected} for out, expected, _ in cases]
    result = service.run_program("python", "echo_bytes", tests=tests, checker=checker)
    assert [t["verdict"] for t in result["tests"]] == [v for _, _, v in cases], result
    for test in result["tests"]:
        assert (test["checker_message"] is None) == (test["verdict"] == "accepted")


def test_the_default_checker_is_lines(service: Service) -> None:
    result = service.run_program(
        "python", "echo_bytes", tests=[{"stdin": "7  \r\n", "expected_stdout": "7"}]
    )
    assert result["verdict"] == "accepted", result


@pytest.mark.parametrize(
    ("problem", "submission", "verdict", "message"),
    [
        ("anypair", "accepted/one_and_rest.py", "accepted", "ok"),
        ("anypair", "accepted/Halves.java", "accepted", "ok"),
        ("anypair", "wrong_answer/halves_even.py", "wrong_answer", "the two numbers must differ"),
        ("divisor", "accepted/Largest.java", "accepted", "ok"),
        ("divisor", "accepted/smallest.py", "accepted", "ok"),
        ("divisor", "wrong_answer/one.js", "wrong_answer", "1 is not between 1 and"),
    ],
)
def test_output_validators_in_python_and_java_judge_with_their_message(
    service: Service, problem: str, submission: str, verdict: str, message: str
) -> None:
    """1. A submission and a problem's tests, its output validator (Python for anypair, Java
       for divisor) as the `program` checker.
    2. The validator runs sandboxed per test: `validator input answer feedback_dir < output`.
    Expected: the verdict from its exit code (42/43), judgemessage.txt as checker_message."""
    result = service.execute(
        {
            **source(PROBLEMS / problem / "submissions" / submission),
            "tests": problem_tests(problem),
            "checker": {"type": "program", **validator(problem)},
        }
    )
    assert result["verdict"] == verdict, result
    messages = [t["checker_message"] or "" for t in result["tests"]]
    assert any(message in m for m in messages), messages
    assert_nothing_left(service)


GUESS = PROBLEMS / "guess"


@pytest.mark.parametrize(
    ("submission", "verdict", "message"),
    [
        ("accepted/bisect.py", "accepted", "found"),
        ("accepted/Bisect.java", "accepted", "found"),
        ("accepted/bisect.js", "accepted", "found"),
        ("wrong_answer/counts_up.py", "wrong_answer", "more than 30 questions"),
        ("time_limit_exceeded/never_answers.py", "time_limit_exceeded", None),
        ("wrong_answer/exits_early.js", "wrong_answer", "ended after 0 questions"),
    ],
)
def test_the_interactive_problem_judges_each_kind_of_submission(
    service: Service, submission: str, verdict: str, message: str | None
) -> None:
    """1. Guess the number: the interactor (Python) and the submission run at once, each as
       a uid of its own, connected by two pipes.
    2. A correct bisection; one that asks too many questions; one that never answers; one that
       leaves at once.
    Expected: the verdict by Kattis' rules, never a hang (the one that never answers ends at
    its own wall limit), the interactor's judgemessage.txt, nothing left of either uid."""
    limits = {"time_ms": 2000, "wall_time_ms": 3000}
    started = time.monotonic()
    result = service.execute(
        {
            **source(GUESS / "submissions" / submission),
            "tests": problem_tests("guess"),
            "interactor": validator("guess"),
            "limits": limits,
            "stop_on_first_failure": True,
        }
    )
    elapsed_ms = (time.monotonic() - started) * 1000
    assert result["verdict"] == verdict, result
    failing = next((t for t in result["tests"] if t["verdict"] != "accepted"), result["tests"][0])
    if message is not None:
        assert message in (failing["checker_message"] or ""), failing
    if verdict == "time_limit_exceeded":
        # One test ran to the wall limit; the others were skipped, nothing waited longer.
        assert failing["wall_time_ms"] < limits["wall_time_ms"] + 1000
        assert elapsed_ms < 4 * limits["wall_time_ms"]
    assert_nothing_left(service)


# An interactor that reads one guess, then answers it (a moment later, as a slower one would)
# and judges: 42 for 1, 43 otherwise. Python ignores SIGPIPE: a write to a submission that has
# gone raises BrokenPipeError, which ends it with exit 1 or 120.
ANSWERS_LATE = """
import sys, time
guess = sys.stdin.readline().strip()
time.sleep(0.2)
print("correct" if guess == "1" else "wrong", flush=True)
sys.exit(42 if guess == "1" else 43)
"""


@pytest.mark.parametrize(("guess", "verdict"), [("1", "accepted"), ("2", "wrong_answer")])
def test_a_submission_that_leaves_before_the_interactors_reply_gets_its_judgement(
    service: Service, guess: str, verdict: str
) -> None:
    """1. The submission prints its guess and exits without reading the reply; the interactor
    answers 200 ms later and judges. Three times each. Expected: the interactor's judgement
    every time (accepted for the right guess, wrong_answer for the wrong one), never a judge
    error for the reply it could not deliver: what the interactor writes to a submission that
    has ended is taken and discarded, so it ends as it decides."""
    for _ in range(3):
        result = service.execute(
            {
                "language": "python",
                "code": f"print({guess}, flush=True)",
                "tests": [{"stdin": "1\n"}],
                "interactor": {"language": "python", "code": ANSWERS_LATE},
            }
        )
        assert result["verdict"] == verdict, result


def test_a_crashing_interactor_is_a_judge_error(service: Service) -> None:
    result = service.execute(
        {
            **source(GUESS / "submissions" / "accepted" / "bisect.py"),
            "tests": problem_tests("guess")[:1],
            "interactor": source(PROGRAMS / "python" / "broken_validator.py"),
        }
    )
    assert result["verdict"] == "internal_error", result
    assert "judge error: the interactor exited with 3" in result["tests"][0]["message"]


def test_after_a_judge_error_the_tests_not_started_are_skipped(service: Service) -> None:
    """1. Three tests, an output validator that fails (exit 3) on each, no
    stop_on_first_failure. Expected: the first test a judge error, the other two skipped (a
    broken judge is not run again: one that hangs would cost its limits on every test)."""
    result = service.execute(
        {
            "language": "python",
            "code": "print(input())",
            "tests": [{"stdin": f"{n}\n", "expected_stdout": f"{n}\n"} for n in range(3)],
            "checker": {
                "type": "program",
                **source(PROGRAMS / "python" / "broken_validator.py"),
            },
        }
    )
    verdicts = [test["verdict"] for test in result["tests"]]
    assert verdicts == ["internal_error", "skipped", "skipped"], result
    assert result["verdict"] == "internal_error", result


def test_stop_on_first_failure_skips_the_later_tests(service: Service) -> None:
    tests = [
        {"stdin": "1\n", "expected_stdout": "2\n"},
        {"stdin": "2\n", "expected_stdout": "5\n"},
        {"name": "last", "stdin": "3\n", "expected_stdout": "6\n"},
    ]
    stopped = service.run_program("python", "twice", tests=tests, stop_on_first_failure=True)
    assert [t["verdict"] for t in stopped["tests"]] == ["accepted", "wrong_answer", "skipped"]
    skipped = stopped["tests"][2]
    assert skipped["name"] == "last" and skipped["status"] is None and skipped["time_ms"] is None
    assert stopped["summary"]["passed"] == 1 and stopped["summary"]["total"] == 3
    assert stopped["verdict"] == "wrong_answer" and stopped["stdout"] == "4\n"
    every = service.run_program("python", "twice", tests=tests)
    assert [t["verdict"] for t in every["tests"]] == ["accepted", "wrong_answer", "accepted"]


def test_a_tests_limits_override_the_submissions_within_the_maxima(service: Service) -> None:
    tests = [{"stdin": "", "expected_stdout": ""}, {"stdin": "", "limits": {"time_ms": 300}}]
    result = service.run_program("python", "spin", tests=tests, limits=SPIN_LIMITS)
    assert [t["verdict"] for t in result["tests"]] == ["time_limit_exceeded"] * 2
    assert result["tests"][1]["time_ms"] < 1000 <= result["tests"][0]["time_ms"]
    too_high = service.execute(
        {
            "language": "python",
            **program("python", "twice"),
            "tests": [{"limits": {"time_ms": 10**9}}],
        },
        expect=422,
    )
    assert "tests[0].limits.time_ms" in too_high["error"]["message"]


def test_without_tests_the_answer_is_what_it_always_was(service: Service) -> None:
    result = service.run_program("python", "twice", stdin="21\n")
    assert set(result) == UNJUDGED_FIELDS
    assert (result["status"], result["stdout"], result["compile"]) == ("ok", "42\n", None)


def test_each_test_runs_in_a_fresh_box_with_nothing_carried_over(service: Service) -> None:
    """1. A Java program (compiled once) writes a file in its directory and prints whether it
    was already there. 2. Three tests. Expected: never there; the class files
    were there every time (the program ran)."""
    code = (
        "import java.nio.file.*;\n"
        "public class Marks { public static void main(String[] a) throws Exception {\n"
        '  Path p = Path.of("mark"); System.out.println(Files.exists(p));\n'
        '  Files.writeString(p, "x"); } }\n'
    )
    tests = [{"stdin": "", "expected_stdout": "false\n"}] * 3
    result = service.execute({"language": "java", "code": code, "tests": tests})
    assert result["verdict"] == "accepted", result


def test_an_interactor_without_a_source_is_refused(service: Service) -> None:
    body = {
        "language": "python",
        **program("python", "twice"),
        "tests": [{}],
        "interactor": {"language": "python"},
    }
    error = service.execute(body, expect=422)["error"]
    assert "interactor" in error["message"]


@pytest.fixture(scope="module")
def parallel_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_service(tmp_path_factory.mktemp("parallel"), {"EXECUTOR_TESTS_PARALLEL": "2"})
    with service:
        yield service


def test_tests_at_once_overlap_and_hold_one_run_slot_each(parallel_service: Service) -> None:
    """1. EXECUTOR_TESTS_PARALLEL=2; a submission with four tests, each sleeping a second.
    2. /info is read while it runs.
    Expected: two tests at a time (their run intervals overlap pairwise), two run slots held
    while they run, every test judged."""
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(parallel_service.info()["load"]["running"])

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = parallel_service.run_program(
            "python", "timestamps", tests=[{"stdin": ""}] * 4, checker="tokens"
        )
    finally:
        done.set()
        watcher.join()
    assert result["verdict"] == "accepted", result
    spans = [tuple(map(float, t["stdout"].split())) for t in result["tests"]]
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]  # 1 and 2 overlap
    assert max(seen) == 2


@pytest.mark.system
def test_an_interactive_run_cannot_deadlock_a_replica_with_one_slot(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """1. A replica with one run slot (one run uid). 2. Two interactive submissions at once.
    Expected: both judged: the interactor's uid comes from the companion pool, never from the
    one the submission holds."""
    service = start_service(tmp_path_factory.mktemp("one-slot"), {"EXECUTOR_MAX_CONCURRENCY": "1"})
    body = {
        **source(GUESS / "submissions" / "accepted" / "bisect.py"),
        "tests": problem_tests("guess"),
        "interactor": validator("guess"),
    }
    results: list[dict[str, Any]] = []
    with service:
        threads = [
            threading.Thread(target=lambda: results.append(service.execute(body))) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert [r["verdict"] for r in results] == ["accepted", "accepted"]


@pytest.fixture(scope="module")
def large_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_service(
        tmp_path_factory.mktemp("large"),
        {"EXECUTOR_MAX_BODY_KB": str(32 * 1024), "EXECUTOR_MAX_OUTPUT_KB": str(16 * 1024)},
    )
    with service:
        yield service


def test_large_tests_are_judged_within_a_bounded_multiple_of_the_body(
    large_service: Service,
) -> None:
    """1. Two tests of 6 MB in and 6 MB expected out each (a 24 MB body, under a 32 MB bound).
    2. The program writes its input back. Expected: accepted by the exact checker; the
    service's peak resident memory grew by less than four times the body."""
    line = ("0123456789" * 10 + "\n").encode()
    data = (line * (6 * 1024 * 1024 // len(line))).decode()
    body_bytes = 4 * len(data)
    before_kb = _peak_rss_kb(large_service)
    result = large_service.run_program(
        "python", "echo_bytes",
        tests=[{"stdin": data, "expected_stdout": data}] * 2,
        checker="exact", limits={"output_kb": 8 * 1024},
    )  # fmt: skip
    assert [t["verdict"] for t in result["tests"]] == ["accepted", "accepted"], result["summary"]
    assert len(result["tests"][0]["stdout"].encode()) <= 1024  # the response keeps 1 KB
    grown_kb = _peak_rss_kb(large_service) - before_kb
    assert grown_kb * 1024 < 4 * body_bytes, f"peak grew by {grown_kb} KB"


def _peak_rss_kb(service: Service) -> int:
    status = Path(f"/proc/{service.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))


@pytest.mark.system
def test_without_the_warm_compiler_the_class_files_are_read_back_from_the_compile_box(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """1. A service with EXECUTOR_WARM_COMPILER=false: javac runs fresh in a box of its own.
    2. A Java submission judged by a Java output validator. Expected: both compiled once, their
    class files read back (no link followed) and given to every test's and validation's box."""
    service = start_service(tmp_path_factory.mktemp("cold"), {"EXECUTOR_WARM_COMPILER": "false"})
    with service:
        result = service.execute(
            {
                **source(PROBLEMS / "divisor" / "submissions" / "accepted" / "Largest.java"),
                "tests": problem_tests("divisor"),
                "checker": {"type": "program", **validator("divisor")},
            }
        )
    assert result["verdict"] == "accepted", result
    assert result["summary"]["passed"] == len(problem_tests("divisor"))


@pytest.mark.parametrize(
    ("case", "verdict"),
    [
        ("hostile_validator_link", "wrong_answer"),
        ("hostile_validator_fifo", "wrong_answer"),
        ("hostile_validator_daemon", "accepted"),
    ],
)
def test_a_hostile_output_validator_cannot_make_the_service_read_or_wait_for_it(
    service: Service, case: str, verdict: str
) -> None:
    """1. An output validator (code from the request, as untrusted as the submission) plants
    judgemessage.txt as a link to /etc/shadow, or as a FIFO nobody writes to, or leaves a
    detached child behind.
    2. The service reads the judge message back after the validator ends.
    Expected: its verdict; no message (the link is not followed, the FIFO not opened, so
    nothing hangs); nothing of the validator's uid left after the cleanup."""
    result = service.run_program(
        "python",
        "twice",
        **ONE_TEST,
        checker={"type": "program", **source(PROGRAMS / "python" / f"{case}.py")},
    )
    assert result["verdict"] == verdict, result
    assert result["tests"][0]["checker_message"] is None
    assert_nothing_left(service)
