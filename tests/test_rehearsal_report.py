"""The rehearsal's report: a wrong verdict carries what the service measured and said, so that a
failure in CI (a memory hog stopped at its CPU limit under load) explains itself."""

from executor.rehearsal import report
from executor.rehearsal.runner import LoadShape, Outcome, Rehearsal
from executor.rehearsal.workload import Submission, build


def _memory_hog() -> Submission:
    return next(
        s
        for s in build(students=20, submissions_per_student=10, seed=13)
        if s.kind == "memory_limit" and s.language == "python"
    )


def _outcome(submission: Submission, **fields: object) -> Outcome:
    base: dict[str, object] = {
        "submission": submission,
        "submitted_s": 1.0,
        "finished_s": 2.5,
        "status": "time_limit_exceeded",
        "verdict": "time_limit_exceeded",
        "judged_by": "rehearsal",
        "attempts": 1,
        "retry_reasons": (),
        "may_have_run_twice": False,
        "url": "http://127.0.0.1:20019",
        "wall_time_ms": 2210,
        "error": None,
    }
    return Outcome(**(base | fields))  # type: ignore[arg-type]


def test_a_wrong_verdict_names_the_time_memory_message_and_replica() -> None:
    """1. Summarize a rehearsal whose memory hog got time_limit_exceeded, with the service's
    time_ms, memory_kb and message. Expected: the wrong example names them all and the replica."""
    hog = _memory_hog()
    outcome = _outcome(
        hog, time_ms=1004, memory_kb=98304, message="used more than 1000 ms of CPU time"
    )
    rehearsal = Rehearsal(
        submissions=[hog], urls={"python": "http://127.0.0.1:20019"}, shape=LoadShape(concurrency=1)
    )
    rehearsal.outcomes.append(outcome)
    rehearsal.ended_at = 3.0
    summary = report.summarize(rehearsal)
    assert summary["wrong_examples"] == [
        f"{hog.submission_id} python memory_limit: expected memory_limit_exceeded, got "
        "time_limit_exceeded (time_ms 1004, wall_time_ms 2210, memory_kb 98304, "
        "'used more than 1000 ms of CPU time', on http://127.0.0.1:20019)"
    ]
