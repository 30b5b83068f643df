"""From a run's status and a checker's answer to a test's verdict; from tests to the overall one."""

from collections.abc import Sequence

from executor.judging.models import Summary, TestResult, Verdict
from executor.sandbox import Outcome
from executor.wire import Status

VALIDATOR_ACCEPTED = 42  # the Kattis output validator convention
VALIDATOR_WRONG_ANSWER = 43

_FOR_STATUS = {
    Status.RUNTIME_ERROR: Verdict.RUNTIME_ERROR,
    Status.TIME_LIMIT_EXCEEDED: Verdict.TIME_LIMIT_EXCEEDED,
    Status.MEMORY_LIMIT_EXCEEDED: Verdict.MEMORY_LIMIT_EXCEEDED,
    Status.OUTPUT_LIMIT_EXCEEDED: Verdict.OUTPUT_LIMIT_EXCEEDED,
    Status.COMPILATION_ERROR: Verdict.COMPILATION_ERROR,
    Status.INTERNAL_ERROR: Verdict.INTERNAL_ERROR,
}


def decide_verdict(status: Status, *, checked: Verdict | None) -> Verdict:
    """A test's verdict: the run's failure if it failed, else the checker's verdict (``checked``:
    accepted, wrong_answer or internal_error), else accepted when there was nothing to check."""
    if status is not Status.OK:
        return _FOR_STATUS[status]
    return checked if checked is not None else Verdict.ACCEPTED


def validator_verdict(exit_code: int | None) -> Verdict:
    """An output validator's or interactor's judgement from its exit code: 42 accepted, 43 wrong
    answer, anything else (another code, a signal: ``None``) a judge error, never the
    submission's fault."""
    if exit_code == VALIDATOR_ACCEPTED:
        return Verdict.ACCEPTED
    if exit_code == VALIDATOR_WRONG_ANSWER:
        return Verdict.WRONG_ANSWER
    return Verdict.INTERNAL_ERROR


def judge_verdict(outcome: Outcome) -> Verdict:
    """A judge program's judgement from its run: ``validator_verdict`` of its exit code, and
    ``internal_error`` when it was ended at one of its limits or by the kernel."""
    if outcome.killed_for is not None or outcome.oom_killed:
        return Verdict.INTERNAL_ERROR
    return validator_verdict(outcome.exit_code)


def interactive_verdict(status: Status, *, judged: Verdict, judge_first: bool) -> Verdict:
    """A test's verdict on an interactive problem, as Kattis' problemtools decides it, from the
    submission's run ``status``, the interactor's judgement ``judged`` and which ended first:

    1. the interactor failed (``internal_error``), or ended first with ``wrong_answer``: its
       judgement, whatever its ending did to the submission afterwards (a broken pipe, a wait
       until the time limit);
    2. the submission failed (a limit, a crash): that failure;
    3. otherwise the interactor's judgement."""
    if judged is Verdict.INTERNAL_ERROR or (judged is Verdict.WRONG_ANSWER and judge_first):
        return judged
    if status is not Status.OK:
        return _FOR_STATUS[status]
    return judged


def overall_verdict(results: Sequence[TestResult]) -> Verdict:
    """The first verdict, in test order, that is neither accepted nor skipped; else accepted."""
    for result in results:
        if result.verdict not in (Verdict.ACCEPTED, Verdict.SKIPPED):
            return result.verdict
    return Verdict.ACCEPTED


def summarize(results: Sequence[TestResult]) -> Summary:
    """Accepted tests of all, and the largest CPU time and memory among those that ran."""
    return Summary(
        passed=sum(r.verdict is Verdict.ACCEPTED for r in results),
        total=len(results),
        max_time_ms=max((r.time_ms for r in results if r.time_ms is not None), default=0),
        max_memory_kb=max((r.memory_kb for r in results if r.memory_kb is not None), default=0),
    )
