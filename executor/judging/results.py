"""A judged submission's answer: each test's result from its run (output cut to the operator's
cap), and the response from the results (verdict, summary, the deciding test's run fields)."""

from dataclasses import dataclass

from executor.judging.models import TestResult, Verdict
from executor.judging.verdicts import overall_verdict, summarize
from executor.models import CompileResult, JudgedResponse, Status, StreamFlags
from executor.output import decode_output
from executor.sandbox import Outcome
from executor.submission import Submission
from executor.verdict import signal_name

# Kept of a failing judge program's stderr in the message that says how it failed.
JUDGE_STDERR_BYTES = 512
_NO_OUTPUT = StreamFlags(stdout=False, stderr=False)


@dataclass(frozen=True)
class Ran:
    """A test's result, and what the response's top-level fields need of it."""

    result: TestResult
    truncated: StreamFlags
    invalid_utf8: StreamFlags


def result_of_run(
    name: str,
    verdict: Verdict,
    status: Status,
    outcome: Outcome,
    *,
    cap_bytes: int,
    message: str | None,
    checker_message: str | None,
) -> Ran:
    """A test's result from its run: stdout and stderr cut to ``cap_bytes`` each (the
    operator's test_output_kb); a run the supervisor ended at a limit has no exit code and no
    signal (its status says why)."""
    stdout_cut = outcome.stdout_truncated or len(outcome.stdout) > cap_bytes
    stderr_cut = outcome.stderr_truncated or len(outcome.stderr) > cap_bytes
    stdout, stdout_invalid = decode_output(outcome.stdout[:cap_bytes], truncated=stdout_cut)
    stderr, stderr_invalid = decode_output(outcome.stderr[:cap_bytes], truncated=stderr_cut)
    ended_by_us = outcome.killed_for is not None
    result = TestResult(
        name=name,
        verdict=verdict,
        status=status,
        time_ms=outcome.cpu_time_ms,
        wall_time_ms=outcome.wall_time_ms,
        memory_kb=outcome.memory_kb,
        exit_code=None if ended_by_us else outcome.exit_code,
        signal=None if ended_by_us else signal_name(outcome.signal),
        stdout=stdout,
        stderr=stderr,
        checker_message=checker_message,
        message=message,
    )
    return Ran(
        result,
        truncated=StreamFlags(stdout=stdout_cut, stderr=stderr_cut),
        invalid_utf8=StreamFlags(stdout=stdout_invalid, stderr=stderr_invalid),
    )


def skipped(name: str) -> Ran:
    """The result of a test not run (an earlier one failed, with stop_on_first_failure)."""
    return Ran(TestResult.skipped(name), truncated=_NO_OUTPUT, invalid_utf8=_NO_OUTPUT)


def judged_response(
    submission: Submission, ran: list[Ran], compiled: CompileResult | None
) -> JudgedResponse:
    """The response: the verdict, every test, the summary; the top-level run fields are those
    of the test that decided the verdict (the first that did not pass, else the last that
    ran)."""
    results = [r.result for r in ran]
    ran_tests = [r for r in ran if r.result.verdict is not Verdict.SKIPPED]
    deciding = next(
        (r for r in ran_tests if r.result.verdict is not Verdict.ACCEPTED), ran_tests[-1]
    )
    first = deciding.result
    return JudgedResponse(
        status=first.status or Status.OK,
        message=first.message,
        stdout=first.stdout,
        stderr=first.stderr,
        exit_code=first.exit_code,
        signal=first.signal,
        time_ms=first.time_ms or 0,
        wall_time_ms=first.wall_time_ms or 0,
        memory_kb=first.memory_kb or 0,
        truncated=deciding.truncated,
        invalid_utf8=deciding.invalid_utf8,
        compile=compiled,
        language=submission.runtime.language,
        version=submission.runtime.version,
        verdict=overall_verdict(results),
        tests=results,
        summary=summarize(results),
    )


def unjudged_response(
    submission: Submission,
    verdict: Verdict,
    compiled: CompileResult | None,
    *,
    message: str,
) -> JudgedResponse:
    """The response when no test could run: the compile (or syntax check) failed
    (``compilation_error``, the compile's status), or the judge program did not compile
    (``internal_error``). ``tests`` is empty; the summary counts the tests."""
    judging = submission.judging
    total = len(judging.tests) if judging is not None else 0
    if verdict is Verdict.COMPILATION_ERROR and compiled is not None:
        status = compiled.status
    else:
        status = Status.INTERNAL_ERROR
    return JudgedResponse(
        status=status,
        message=message,
        stdout="",
        stderr="",
        exit_code=None,
        signal=None,
        time_ms=0,
        wall_time_ms=0,
        memory_kb=0,
        truncated=_NO_OUTPUT,
        invalid_utf8=_NO_OUTPUT,
        compile=compiled,
        language=submission.runtime.language,
        version=submission.runtime.version,
        verdict=verdict,
        tests=[],
        summary=summarize([]).model_copy(update={"total": total}),
    )


def judge_failure(what: str, outcome: Outcome) -> str:
    """How a judge program failed, for the test's message: a judge error, not the
    submission's fault."""
    if outcome.killed_for is not None:
        how = f"was stopped at its limit ({outcome.killed_for.value})"
    elif outcome.oom_killed:
        how = "was killed by the kernel (the replica ran out of memory)"
    elif outcome.exit_code is None:
        how = f"was killed by {signal_name(outcome.signal)}"
    else:
        how = f"exited with {outcome.exit_code} (not 42 or 43)"
    stderr = decode_output(outcome.stderr[-JUDGE_STDERR_BYTES:], truncated=False)[0].strip()
    return f"judge error: the {what} {how}" + (f": {stderr}" if stderr else "")


def judge_message(data: bytes | None) -> str | None:
    """A judge program's judgemessage.txt as text, or None when it wrote none."""
    if not data:
        return None
    return decode_output(data, truncated=True)[0].strip() or None
