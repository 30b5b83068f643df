"""`executor judge PROBLEM_DIR [--url URL]`: judge a problem package's submissions via /execute.

Reads the package (package.py), sends each submission it can judge to a running service (or to
one it starts on a free loopback port), shows a progress bar, then prints one row per
submission: its expected result, the verdict, its slowest test and whether the two agree.
Without a time limit in the package, the accepted submissions run first under the service's
largest time limit and the limit is derived from the slowest of them, as the format says.
Exit status: 0 when every judged submission agrees, 1 when one does not (or could not be
judged), 2 when the package cannot be read or the service cannot be reached. Skipped
submissions (other languages, unknown directories) do not change it.

Over 300 lines: one command, from reading the package through the service it starts to the
report, read top-down.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from executor.judging.models import Verdict
from executor.judging.package import (
    Problem,
    Submission,
    UnsupportedPackage,
    execute_requests,
    read_problem,
)

EXIT_AGREED = 0
EXIT_DISAGREED = 1
EXIT_UNJUDGEABLE = 2
SERVICE_READY_TIMEOUT_S = 120.0
SERVICE_STOP_TIMEOUT_S = 30.0
# A judged body runs its tests one after another; the answer may take each test's wall limit.
REQUEST_SLACK_S = 30.0
LIMIT_NAMES = ("time_ms", "wall_time_ms", "memory_mb", "output_kb")


@dataclass(frozen=True)
class SubmissionOutcome:
    """What judging one submission gave. ``verdict`` is None when it was not judged (skipped,
    or the service refused it: ``error`` says why); ``agrees`` is None when skipped."""

    submission: Submission
    verdict: Verdict | None
    test_verdicts: tuple[Verdict, ...]
    slowest_test: str | None
    slowest_time_ms: int | None
    agrees: bool | None
    error: str | None = None

    @property
    def skipped(self) -> bool:
        return self.submission.source is None or self.submission.expectation is None


def add_judge_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Declare ``judge`` on the CLI's subcommands (cli.py dispatches it to ``run_judge``)."""
    judge = commands.add_parser(
        "judge", help="judge a Kattis problem package's submissions through the service"
    )
    judge.add_argument("problem_dir", type=Path, help="the problem package directory")
    judge.add_argument(
        "--url", help="a running service (default: start one on a free loopback port)"
    )
    judge.add_argument(
        "--all-tests",
        action="store_true",
        help="run every test even after a failure (default: stop at the first, as Kattis does)",
    )


def run_judge(args: argparse.Namespace) -> int:
    """Run ``executor judge`` with parsed arguments; returns the exit status."""
    console = Console()
    errors = Console(stderr=True)
    try:
        problem = read_problem(args.problem_dir)
    except UnsupportedPackage as exc:
        print(f"executor judge: {exc}", file=sys.stderr)
        return EXIT_UNJUDGEABLE
    for warning in problem.warnings:
        print(f"executor judge: warning: {warning}", file=sys.stderr)
    try:
        with _service(args.url) as url, httpx.Client(base_url=url) as client:
            maxima = _limit_maxima(client)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
                transient=True,
            ) as progress:
                outcomes, time_limit_ms = judge_problem(
                    problem,
                    client,
                    maxima=maxima,
                    stop_on_first_failure=not args.all_tests,
                    progress=progress,
                )
    except ServiceUnavailable as exc:
        print(f"executor judge: {exc}", file=sys.stderr)
        return EXIT_UNJUDGEABLE
    console.print(build_table(problem, outcomes, time_limit_ms=time_limit_ms))
    return exit_status(outcomes)


def main(argv: list[str] | None = None) -> int:
    """``python -m executor.judging.judge_cli PROBLEM_DIR [--url URL]``."""
    parser = argparse.ArgumentParser(prog="executor")
    add_judge_command(parser.add_subparsers(dest="command", required=True))
    return run_judge(parser.parse_args(["judge", *(sys.argv[1:] if argv is None else argv)]))


class ServiceUnavailable(Exception):
    """The service could not be started or reached."""


def judge_problem(
    problem: Problem,
    client: httpx.Client,
    *,
    maxima: dict[str, int],
    stop_on_first_failure: bool = True,
    progress: Progress | None = None,
) -> tuple[list[SubmissionOutcome], int | None]:
    """Judge every submission of ``problem`` in package order; returns the outcomes and the
    time limit used (None if no submission could be judged). ``maxima`` are the service's
    limit maxima (``/info``); the package's limits are cut down to them."""
    judged = [s for s in problem.submissions if s.source is not None and s.expectation]
    task = progress.add_task("judging", total=len(judged)) if progress is not None else None
    outcomes: dict[str, SubmissionOutcome] = {}

    def judge_one(submission: Submission, time_limit_ms: int) -> SubmissionOutcome:
        if progress is not None and task is not None:
            progress.update(task, description=submission.name)
        bodies = execute_requests(
            problem,
            submission,
            time_limit_ms=time_limit_ms,
            stop_on_first_failure=stop_on_first_failure,
        )
        outcome = _send(client, submission, bodies, maxima=maxima, stop=stop_on_first_failure)
        if progress is not None and task is not None:
            progress.advance(task)
        return outcome

    time_limit_ms = problem.time_limit_ms
    if time_limit_ms is None:
        # Derive the limit from the accepted submissions, run under the largest one allowed.
        probe_ms = maxima.get("time_ms", 10_000)
        for submission in judged:
            if submission.name.split("/")[0] == "accepted":
                outcomes[submission.name] = judge_one(submission, probe_ms)
        times = [o.slowest_time_ms for o in outcomes.values() if o.agrees and o.slowest_time_ms]
        time_limit_ms = problem.time_limit_from(max(times)) if times else None
        if time_limit_ms is None:
            return [_not_judged(s, outcomes) for s in problem.submissions], None
        time_limit_ms = min(time_limit_ms, probe_ms)
    for submission in judged:
        if submission.name not in outcomes:
            outcomes[submission.name] = judge_one(submission, time_limit_ms)
    return [_not_judged(s, outcomes) for s in problem.submissions], time_limit_ms


def outcome_from_responses(
    submission: Submission, responses: Sequence[dict[str, Any]]
) -> SubmissionOutcome:
    """The outcome of a submission from the /execute answers to its bodies, in order (the
    issue-10 wire format: ``verdict``, ``tests`` of ``{name, verdict, time_ms, …}``)."""
    if submission.expectation is None:
        raise ValueError(f"{submission.name} has no expectation to judge against")
    tests = [test for response in responses for test in response.get("tests") or []]
    verdicts = [Verdict(test["verdict"]) for test in tests]
    overall = next(
        (v for v in (Verdict(r["verdict"]) for r in responses) if v is not Verdict.ACCEPTED),
        Verdict.ACCEPTED,
    )
    timed = [t for t in tests if t.get("time_ms") is not None]
    slowest = max(timed, key=lambda t: int(t["time_ms"]), default=None)
    return SubmissionOutcome(
        submission=submission,
        verdict=overall,
        test_verdicts=tuple(verdicts),
        slowest_test=None if slowest is None else str(slowest["name"]),
        slowest_time_ms=None if slowest is None else int(slowest["time_ms"]),
        agrees=submission.expectation.agrees(verdicts or [overall]),
    )


def build_table(
    problem: Problem, outcomes: Sequence[SubmissionOutcome], *, time_limit_ms: int | None
) -> Table:
    """One row per submission: its directory (the expected result), language, verdict, slowest
    test and agreement; why a submission was skipped or not judged is in the table's caption."""
    limit = "none (nothing judged)" if time_limit_ms is None else f"{time_limit_ms} ms"
    derived = ", derived from the accepted runs" if problem.time_limit_ms is None else ""
    table = Table(title=f"{problem.name}: time limit {limit}{derived}", caption_justify="left")
    table.add_column("submission", no_wrap=True)
    for column in ("language", "expected", "verdict", "slowest test", "agrees"):
        table.add_column(column)
    notes = []
    for outcome in outcomes:
        submission = outcome.submission
        expected = submission.expectation.directory if submission.expectation else "?"
        language = submission.source.language if submission.source else "-"
        if outcome.skipped:
            row = ("-", "-", "[dim]skipped[/dim]")
            notes.append(f"{submission.name}: skipped: {submission.skip_reason}")
        elif outcome.verdict is None:
            row = ("-", "-", "[red]error[/red]")
            notes.append(f"{submission.name}: {_cut(outcome.error or '')}")
        else:
            slowest = (
                f"{outcome.slowest_test} ({outcome.slowest_time_ms} ms)"
                if outcome.slowest_test is not None
                else "-"
            )
            agreement = "[green]yes[/green]" if outcome.agrees else "[red]NO[/red]"
            row = (outcome.verdict.value, slowest, agreement)
        table.add_row(submission.name, language, expected, *row)
    if notes:
        table.caption = "\n".join(notes)
    return table


def exit_status(outcomes: Sequence[SubmissionOutcome]) -> int:
    """0 when every judged submission agrees with its directory, else 1. Skipped ones do not
    count; a submission the service could not judge is a disagreement."""
    judged = [o for o in outcomes if not o.skipped]
    return EXIT_AGREED if all(o.agrees for o in judged) else EXIT_DISAGREED


def _send(
    client: httpx.Client,
    submission: Submission,
    bodies: Sequence[dict[str, Any]],
    *,
    maxima: dict[str, int],
    stop: bool,
) -> SubmissionOutcome:
    """POST the bodies in order (after a failing one, with ``stop``, the rest are not sent)."""
    responses: list[dict[str, Any]] = []
    for body in bodies:
        body = {**body, "limits": _clamped(body["limits"], maxima)}
        wall_s = body["limits"].get("wall_time_ms", 5000) / 1000
        timeout = httpx.Timeout(10.0, read=len(body["tests"]) * wall_s * 2 + REQUEST_SLACK_S)
        try:
            response = client.post("/execute", json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            return _failed(submission, f"request failed: {exc}")
        answer = response.json() if _is_json(response) else {}
        if response.status_code != 200:
            message = answer.get("error", {}).get("message", response.text[:200])
            return _failed(submission, f"HTTP {response.status_code}: {message}")
        if "verdict" not in answer:
            return _failed(submission, "the service did not judge the tests (no 'verdict')")
        responses.append(answer)
        if stop and answer["verdict"] != Verdict.ACCEPTED:
            break
    return outcome_from_responses(submission, responses)


def _clamped(limits: dict[str, int], maxima: dict[str, int]) -> dict[str, int]:
    return {k: min(v, maxima[k]) if k in maxima else v for k, v in limits.items()}


def _limit_maxima(client: httpx.Client) -> dict[str, int]:
    """The service's limit maxima from /info (``{"time_ms": 20000, …}``)."""
    try:
        limits = client.get("/info", timeout=10.0).json().get("limits", {})
    except (httpx.HTTPError, ValueError) as exc:
        raise ServiceUnavailable(f"cannot read the service's /info: {exc}") from None
    return {name: int(limits[name]["max"]) for name in LIMIT_NAMES if name in limits}


def _failed(submission: Submission, error: str) -> SubmissionOutcome:
    return SubmissionOutcome(submission, None, (), None, None, agrees=False, error=error)


def _not_judged(
    submission: Submission, outcomes: dict[str, SubmissionOutcome]
) -> SubmissionOutcome:
    """The submission's outcome, or an unjudged one (skipped, or no time limit found)."""
    if submission.name in outcomes:
        return outcomes[submission.name]
    if submission.source is None or submission.expectation is None:
        return SubmissionOutcome(submission, None, (), None, None, agrees=None)
    return _failed(submission, "no accepted submission gave a time limit")


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/json")


@contextmanager
def _service(url: str | None) -> Iterator[str]:
    """The service's base URL: ``url``, or that of an ``executor serve`` started here on a free
    loopback port, stopped (SIGTERM, then SIGKILL) on exit."""
    if url is not None:
        yield url.rstrip("/")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "executor", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, process, log)
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=SERVICE_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Any) -> None:
    """Wait until /readyz answers 200; raise ServiceUnavailable if the service exits first or
    is not ready in time."""
    deadline = time.monotonic() + SERVICE_READY_TIMEOUT_S
    with httpx.Client(base_url=base, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode(errors="replace")
                raise ServiceUnavailable(f"the service exited with {process.returncode}:\n{tail}")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.1)
    raise ServiceUnavailable(f"the service was not ready after {SERVICE_READY_TIMEOUT_S:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
