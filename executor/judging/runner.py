"""The judging of one submission: prepare (compile once, or check the syntax) → each test in a
fresh box → its checker, output validator or interactor → verdicts → the judged response
(results.py).

Over 300 lines because the three ways a test is judged (a built-in checker, an output
validator after the run, an interactor beside it) share the preparation and the boxes, and
read best together, top-down.

Nothing is carried from one test to the next: every test runs in a box of its own (a fresh uid
and directory) that gets the program's files and, for a compiled language, the compiled files
the preparation read back once. A judge program (output validator, interactor) runs in a box
of the sandbox's companion pool: a test holds at most one box of each pool, so two tests
waiting for each other's uid cannot happen.
"""

import asyncio
import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from executor.judging.checkers import check
from executor.judging.drain import PipeDrain
from executor.judging.models import Verdict
from executor.judging.results import (
    Ran,
    judge_failure,
    judge_message,
    judged_response,
    result_of_run,
    skipped,
    unjudged_response,
)
from executor.judging.verdicts import decide_verdict, interactive_verdict, judge_verdict
from executor.languages.plan import expand_argv, heap_mb_for
from executor.models import CompileResult, JudgedResponse, Status
from executor.output import decode_output
from executor.pipeline import Pipeline
from executor.sandbox import Box, Outcome, ResourceLimits
from executor.submission import (
    JUDGE_DIR,
    Judging,
    Program,
    Submission,
    Test,
    compile_limits,
)
from executor.verdict import decide, decide_compile

# Compiled files are held in memory for the whole request and written into every test's box.
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
MAX_ARTIFACT_FILES = 4096
# The Kattis convention's arguments, relative to the judge program's box.
INPUT_FILE = f"{JUDGE_DIR}/input"
ANSWER_FILE = f"{JUDGE_DIR}/answer"
FEEDBACK_DIR = f"{JUDGE_DIR}/feedback"
JUDGE_MESSAGE = f"{FEEDBACK_DIR}/judgemessage.txt"


@dataclass(frozen=True)
class Prepared:
    """A program ready for its tests: the class to run, the files its compile produced (by
    relative path), and the compile or syntax check (None when there was neither)."""

    program: Program
    main_class: str
    artifacts: Mapping[str, bytes]
    compiled: CompileResult | None

    @property
    def failed(self) -> bool:
        return self.compiled is not None and self.compiled.status is not Status.OK


class JudgingRunner:
    """Judges submissions that have tests, through the pipeline's sandbox and compilers."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.sandbox = pipeline.sandbox
        self.settings = pipeline.settings

    async def run(self, submission: Submission, *, parallel: int) -> JudgedResponse:
        """Prepare the submission (and its judge program), then run its tests in order, at
        most ``parallel`` at once (the caller holds that many run slots). A compile or syntax
        check that fails ends it with ``compilation_error``; a judge program that does not
        compile with ``internal_error``. Raises SpawnError when a runtime cannot start."""
        judging = submission.judging
        if judging is None:
            raise ValueError("the submission has no tests to judge")
        prepared = await self._prepare(submission.program, companion=False, check_syntax=True)
        if prepared.failed:
            return unjudged_response(
                submission,
                Verdict.COMPILATION_ERROR,
                prepared.compiled,
                message="the compile step failed: see compile",
            )
        judge = None
        if judging.judge is not None:
            judge = await self._prepare(judging.judge, companion=True, check_syntax=False)
            if judge.failed:
                what = "interactor" if judging.interactive else "output validator"
                stderr = judge.compiled.stderr if judge.compiled is not None else ""
                return unjudged_response(
                    submission,
                    Verdict.INTERNAL_ERROR,
                    prepared.compiled,
                    message=f"the {what} did not compile (a judge error): {stderr[:2000]}",
                )
        ran = await self._run_tests(submission, judging, prepared, judge, parallel=parallel)
        return judged_response(submission, ran, prepared.compiled)

    # --- preparation ------------------------------------------------------------------------

    async def _prepare(self, program: Program, *, companion: bool, check_syntax: bool) -> Prepared:
        """Compile ``program`` once in a box of its own and read back what the compiler wrote,
        or, with ``check_syntax``, check an interpreted program's syntax in the sandbox."""
        plan = program.runtime.plan
        main_class = plan.main_class(
            program.main, program.files[program.main].decode("utf-8", "replace")
        )
        if plan.compile_argv is not None:
            async with self.sandbox.box(program.files, companion=companion) as box:
                compiled = await self.pipeline.compile(program, box, main_class=main_class)
                if compiled.status is not Status.OK:
                    return Prepared(program, main_class, {}, compiled)
                artifacts = await box.read_files(
                    skip=set(program.files),
                    max_files=MAX_ARTIFACT_FILES,
                    max_bytes=MAX_ARTIFACT_BYTES,
                )
            if artifacts is None:
                too_large = compiled.model_copy(
                    update={
                        "status": Status.COMPILATION_ERROR,
                        "stderr": f"the compiler wrote more than {MAX_ARTIFACT_FILES} files or "
                        f"{MAX_ARTIFACT_BYTES // (1024 * 1024)} MB",
                    }
                )
                return Prepared(program, main_class, {}, too_large)
            return Prepared(program, main_class, artifacts, compiled)
        if check_syntax and plan.check_argv is not None:
            return Prepared(program, main_class, {}, await self._check_syntax(program))
        return Prepared(program, main_class, {}, None)

    async def _check_syntax(self, program: Program) -> CompileResult:
        """Run the language's syntax check in a box of its own (never in the service: a hostile
        source can crash a parser), under the compile limits."""
        plan = program.runtime.plan
        limits = compile_limits(plan, settings=self.settings)
        sources = tuple(sorted(n for n in program.files if n.endswith(plan.source_suffix)))
        async with self.sandbox.box(program.files) as box:
            assert plan.check_argv is not None  # only called for a plan with a check
            argv = expand_argv(
                plan.check_argv,
                toolchain=program.runtime.toolchain,
                main=program.main,
                heap_mb=heap_mb_for(limits.memory_kb),
                sources=sources or (program.main,),
                tmp_dir=box.tmp_dir,
            )
            outcome = await box.run(argv, limits=limits, env=plan.env)
        return CompileResult(
            status=decide_compile(outcome, limits=limits, oom_markers=plan.oom_markers).status,
            stdout=decode_output(outcome.stdout, truncated=outcome.stdout_truncated)[0],
            stderr=decode_output(outcome.stderr, truncated=outcome.stderr_truncated)[0],
            exit_code=outcome.exit_code,
            time_ms=outcome.cpu_time_ms,
            wall_time_ms=outcome.wall_time_ms,
            memory_kb=outcome.memory_kb,
        )

    # --- tests ------------------------------------------------------------------------------

    async def _run_tests(
        self,
        submission: Submission,
        judging: Judging,
        prepared: Prepared,
        judge: Prepared | None,
        *,
        parallel: int,
    ) -> list[Ran]:
        """Every test, in order, at most ``parallel`` at once (the semaphore lets them in in
        order); with ``stop_on_first_failure``, a test not yet started once one failed is
        skipped. Once a test is a judge error (``internal_error``: a validator or interactor
        that failed, or a replica short of memory), the tests not yet started are skipped
        whatever the request asked: a judge program that hangs would otherwise cost its full
        limits on every test (256 tests of 20 s each), for answers no one can use."""
        ran: list[Ran | None] = [None] * len(judging.tests)
        turns = asyncio.Semaphore(parallel)
        failed = judge_failed = False

        async def one(index: int, test: Test) -> None:
            nonlocal failed, judge_failed
            async with turns:
                if judge_failed or (failed and judging.stop_on_first_failure):
                    ran[index] = skipped(test.name)
                    return
                result = await self._run_test(submission, judging, prepared, judge, test)
                ran[index] = result
                if result.result.verdict is not Verdict.ACCEPTED:
                    failed = True
                if result.result.verdict is Verdict.INTERNAL_ERROR:
                    judge_failed = True

        try:
            async with asyncio.TaskGroup() as group:
                for index, test in enumerate(judging.tests):
                    group.create_task(one(index, test))
        except BaseExceptionGroup as failed_tests:
            # The others were cancelled; the caller sees the failure as a single test would
            # raise it (SpawnError), not wrapped in a group.
            raise failed_tests.exceptions[0] from None
        return [
            r if r is not None else skipped(t.name) for r, t in zip(ran, judging.tests, strict=True)
        ]

    async def _run_test(
        self,
        submission: Submission,
        judging: Judging,
        prepared: Prepared,
        judge: Prepared | None,
        test: Test,
    ) -> Ran:
        if judge is not None and judging.interactive:
            return await self._run_interactive(submission, judging, prepared, judge, test)
        plan = prepared.program.runtime.plan
        async with self.sandbox.box(prepared.program.files) as box:
            if prepared.artifacts:
                await box.add_files(prepared.artifacts)
            outcome = await box.run(
                self._argv(prepared, box, limits=test.limits, args=submission.args),
                limits=test.limits,
                stdin=test.stdin.encode(),
                env=plan.env,
            )
        run = decide(outcome, limits=test.limits, oom_markers=plan.oom_markers)
        checked: Verdict | None = None
        checker_message = message = None
        if run.status is Status.OK and judge is not None:
            checked, checker_message, message = await self._validate(judging, judge, test, outcome)
        elif (
            run.status is Status.OK
            and judging.checker is not None
            and test.expected_stdout is not None
        ):
            # The raw bytes, not the decoded text: a checker compares what was written.
            answer = await asyncio.to_thread(
                check,
                outcome.stdout,
                expected=test.expected_stdout.encode(),
                config=judging.checker,
            )
            checked = Verdict.ACCEPTED if answer.accepted else Verdict.WRONG_ANSWER
            checker_message = answer.message or None
        verdict = decide_verdict(run.status, checked=checked)
        return self._result_of(
            test.name,
            verdict,
            run.status,
            outcome,
            message=run.message or message,
            checker_message=checker_message,
        )

    async def _validate(
        self, judging: Judging, judge: Prepared, test: Test, outcome: Outcome
    ) -> tuple[Verdict, str | None, str | None]:
        """Run the output validator on the submission's output (the Kattis convention:
        ``validator input_file answer_file feedback_dir < output``). Returns its verdict, its
        judgemessage.txt, and, when it failed, how (a judge error, never the submission's)."""
        limits = judging.judge_limits
        async with self.sandbox.box(judge.program.files, companion=True) as box:
            await self._add_judge_files(box, judge, test)
            validated = await box.run(
                self._argv(
                    judge, box, limits=limits, args=(INPUT_FILE, ANSWER_FILE, FEEDBACK_DIR + "/")
                ),
                limits=limits,
                stdin=outcome.stdout,
                env=judge.program.runtime.plan.env,
            )
            feedback = await box.read_file(JUDGE_MESSAGE, max_bytes=self._cap_bytes)
        verdict = judge_verdict(validated)
        failure = (
            judge_failure("output validator", validated)
            if verdict is Verdict.INTERNAL_ERROR
            else None
        )
        return verdict, judge_message(feedback), failure

    async def _run_interactive(
        self,
        submission: Submission,
        judging: Judging,
        prepared: Prepared,
        judge: Prepared,
        test: Test,
    ) -> Ran:
        """Run the submission and the interactor at once, each in its own box (its own uid),
        the interactor's stdout the submission's stdin and the reverse (two pipes). Each side
        takes its two descriptors when it starts, so when one side ends the other reads
        end-of-file instead of waiting: no side can hang the other past its own limits. What
        the interactor writes once the submission has ended is taken and discarded (PipeDrain),
        so that it judges as it decides, not as a race with that exit. The interactor's wall
        limit is the submission's plus its own."""
        plan = prepared.program.runtime.plan
        judge_plan = judge.program.runtime.plan
        judge_limits = _interactor_limits(judging.judge_limits, test.limits)
        async with self.sandbox.box(prepared.program.files) as box:
            if prepared.artifacts:
                await box.add_files(prepared.artifacts)
            async with self.sandbox.box(judge.program.files, companion=True) as judge_box:
                await self._add_judge_files(judge_box, judge, test)
                to_program_r, to_program_w = os.pipe()
                to_judge_r, to_judge_w = os.pipe()
                # The interactor's replies to a submission that has ended are taken (drain.py).
                drain = PipeDrain(os.dup(to_program_r))
                judge_started: list[float] = []

                async def run_judge() -> Outcome:
                    judge_started.append(time.monotonic())  # the descriptors are handed over now
                    return await judge_box.run(
                        self._argv(
                            judge,
                            judge_box,
                            limits=judge_limits,
                            args=(INPUT_FILE, ANSWER_FILE, FEEDBACK_DIR + "/"),
                        ),
                        limits=judge_limits,
                        env=judge_plan.env,
                        stdin_fd=to_judge_r,
                        stdout_fd=to_program_w,
                    )

                judge_task = asyncio.create_task(run_judge())
                try:
                    started = time.monotonic()
                    outcome = await box.run(
                        self._argv(prepared, box, limits=test.limits, args=submission.args),
                        limits=test.limits,
                        env=plan.env,
                        stdin_fd=to_program_r,
                        stdout_fd=to_judge_w,
                    )
                    drain.start()
                    judged_outcome = await judge_task
                finally:
                    drain.close()
                    if not judge_task.done():
                        judge_task.cancel()
                        await asyncio.gather(judge_task, return_exceptions=True)
                    if not judge_started:  # cancelled before it took its descriptors
                        os.close(to_judge_r)
                        os.close(to_program_w)
                feedback = await judge_box.read_file(JUDGE_MESSAGE, max_bytes=self._cap_bytes)
        run = decide(outcome, limits=test.limits, oom_markers=plan.oom_markers)
        judged = judge_verdict(judged_outcome)
        # Which side ended first: each side's start plus its wall time, on one clock.
        judge_first = (
            judge_started[0] + judged_outcome.wall_time_ms / 1000
            <= started + outcome.wall_time_ms / 1000
        )
        verdict = interactive_verdict(run.status, judged=judged, judge_first=judge_first)
        failure = (
            judge_failure("interactor", judged_outcome)
            if judged is Verdict.INTERNAL_ERROR
            else None
        )
        return self._result_of(
            test.name,
            verdict,
            run.status,
            outcome,
            message=failure if verdict is Verdict.INTERNAL_ERROR else run.message,
            checker_message=judge_message(feedback),
        )

    async def _add_judge_files(self, box: Box, judge: Prepared, test: Test) -> None:
        """The judge program's compiled files, the test's input and answer files, and an empty
        feedback directory."""
        answer = test.expected_stdout if test.expected_stdout is not None else ""
        await box.add_files(
            {**judge.artifacts, INPUT_FILE: test.stdin.encode(), ANSWER_FILE: answer.encode()},
            directories=(FEEDBACK_DIR,),
        )

    def _result_of(
        self,
        name: str,
        verdict: Verdict,
        status: Status,
        outcome: Outcome,
        *,
        message: str | None,
        checker_message: str | None,
    ) -> Ran:
        return result_of_run(
            name,
            verdict,
            status,
            outcome,
            cap_bytes=self._cap_bytes,
            message=message,
            checker_message=checker_message,
        )

    @property
    def _cap_bytes(self) -> int:
        """Of each test's stdout, stderr and judge message, what the response keeps (each)."""
        return self.settings.test_output_kb * 1024

    def _argv(
        self, prepared: Prepared, box: Box, *, limits: ResourceLimits, args: tuple[str, ...]
    ) -> tuple[str, ...]:
        program = prepared.program
        return expand_argv(
            program.runtime.plan.run_argv,
            toolchain=program.runtime.toolchain,
            main=program.main,
            main_class=prepared.main_class,
            heap_mb=heap_mb_for(limits.memory_kb),
            args=args,
            tmp_dir=box.tmp_dir,
        )


def _interactor_limits(judge_limits: ResourceLimits, test_limits: ResourceLimits) -> ResourceLimits:
    """The interactor waits for the submission: it lives as long as the submission may, plus
    its own wall limit to finish, so the submission's own limit is always reached first."""
    return dataclasses.replace(
        judge_limits, wall_time_ms=test_limits.wall_time_ms + judge_limits.wall_time_ms
    )
