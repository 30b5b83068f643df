"""The run of one submission: a box, compile (warm or fresh) → run → verdict → response.
A judged submission (tests) goes through judging/runner.py, which compiles through here."""

import logging
from collections.abc import Mapping

from executor.languages.plan import expand_argv, heap_mb_for
from executor.models import CompileResult, ExecuteResponse, Status, StreamFlags
from executor.output import decode_output
from executor.sandbox import (
    Box,
    KillReason,
    Outcome,
    ResourceLimits,
    Runner,
    RunnerRun,
    Sandbox,
    Zygote,
    ZygoteRun,
)
from executor.settings import Settings
from executor.submission import Program, Submission, compile_limits
from executor.verdict import (
    Verdict,
    compiler_stopped,
    decide,
    decide_compile,
    decide_warm_compile,
    signal_name,
)
from executor.warm_server import WarmServer

log = logging.getLogger("executor")


class Pipeline:
    """Runs submissions in the sandbox. ``warm_servers`` and ``zygotes`` (by language) are
    filled once they are up; until then compiles take a fresh compiler process, and runs start
    cold."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        settings: Settings,
        warm_servers: Mapping[str, WarmServer],
        zygotes: Mapping[str, Zygote],
    ) -> None:
        self.sandbox = sandbox
        self.settings = settings
        self.warm_servers = warm_servers
        self.zygotes = zygotes

    async def run(self, submission: Submission, *, runner: Runner | None = None) -> ExecuteResponse:
        """Compile (for compiled languages) and run ``submission`` in a fresh box, or in the
        box of ``runner`` (taken for it: the runner runs it); the box is cleaned up after the
        answer. A compile that fails ends it with the compile's status. Raises SpawnError when
        the runtime cannot be started at all."""
        plan = submission.runtime.plan
        main_class = plan.main_class(
            submission.main, submission.files[submission.main].decode(errors="replace")
        )
        async with self.sandbox.box(submission.files, runner=runner) as box:
            compiled = None
            if plan.compile_argv is not None:
                compiled = await self.compile(submission, box, main_class=main_class)
                if compiled.status != Status.OK:
                    verdict = Verdict(compiled.status, "the compile step failed: see compile")
                    return _response(submission, verdict, outcome=None, compiled=compiled)
            argv = expand_argv(
                plan.run_argv,
                toolchain=submission.runtime.toolchain,
                main=submission.main,
                main_class=main_class,
                heap_mb=heap_mb_for(submission.limits.memory_kb),
                args=submission.args,
                tmp_dir=box.tmp_dir,
            )
            zygote = self.zygotes.get(submission.runtime.language)
            prewarmed = None
            if box.prewarmed and plan.runner is not None:
                (entry,) = expand_argv(
                    (plan.runner.entry,),
                    toolchain=submission.runtime.toolchain,
                    main=submission.main,
                    main_class=main_class,
                )
                prewarmed = RunnerRun(entry=entry, args=submission.args)
            outcome = await box.run(
                argv,
                limits=submission.limits,
                stdin=submission.stdin,
                env=plan.env,
                zygote=(
                    ZygoteRun(zygote, main=submission.main, args=submission.args)
                    if zygote is not None
                    else None
                ),
                runner=prewarmed,
            )
        verdict = decide(
            outcome,
            limits=submission.limits,
            oom_markers=plan.oom_markers,
            process_limit_markers=plan.process_limit_markers,
        )
        return _response(submission, verdict, outcome=outcome, compiled=compiled)

    async def compile(
        self, submission: Submission | Program, box: Box, *, main_class: str
    ) -> CompileResult:
        """Compile every source file (of a submission, or of a judge program) into ``box``:
        through the language's warm server when it can answer and its output can be placed in
        the box, else with a fresh compiler process in the box."""
        runtime = submission.runtime
        plan = runtime.plan
        # What a submission's compile writes stays in its run's box, under its run's limits.
        run_limits = submission.limits if isinstance(submission, Submission) else None
        limits = compile_limits(plan, settings=self.settings, run=run_limits)
        sources = sorted(n for n in submission.files if n.endswith(plan.source_suffix))
        warm_server = self.warm_servers.get(runtime.language)
        if warm_server is not None:
            warm = await warm_server.compile(
                {name: submission.files[name] for name in sources}, limits=limits
            )
            if warm is not None:
                status = decide_warm_compile(exit_code=warm.exit_code, killed_for=warm.killed_for)
                try:
                    if status == Status.OK:
                        await box.add_files(warm.artifacts)
                except (OSError, ValueError) as exc:
                    # A submitted file where the output goes (one named like a package), a
                    # name too long for the file system: the fresh compiler says so itself.
                    log.info("warm compiler output not placed (%s); compiling afresh", exc)
                else:
                    return CompileResult(
                        status=status,
                        stdout="",
                        stderr=_stopped(warm.diagnostics, warm.killed_for, limits),
                        exit_code=warm.exit_code,
                        time_ms=warm.cpu_time_ms,
                        wall_time_ms=warm.wall_time_ms,
                        memory_kb=warm.memory_kb,
                    )
        assert plan.compile_argv is not None  # only called for compiled languages
        argv = expand_argv(
            plan.compile_argv,
            toolchain=runtime.toolchain,
            main=submission.main,
            main_class=main_class,
            heap_mb=heap_mb_for(limits.memory_kb),
            sources=tuple(sources),
            tmp_dir=box.tmp_dir,
        )
        outcome = await box.run(argv, limits=limits, env=plan.env)
        stderr = decode_output(outcome.stderr, truncated=outcome.stderr_truncated)[0]
        return CompileResult(
            status=decide_compile(outcome, limits=limits, oom_markers=plan.oom_markers).status,
            stdout=decode_output(outcome.stdout, truncated=outcome.stdout_truncated)[0],
            stderr=_stopped(stderr, outcome.killed_for, limits),
            exit_code=outcome.exit_code,
            time_ms=outcome.cpu_time_ms,
            wall_time_ms=outcome.wall_time_ms,
            memory_kb=outcome.memory_kb,
        )


def _stopped(messages: str, reason: KillReason | None, limits: ResourceLimits) -> str:
    """A compiler's messages, ended by a line saying which limit stopped it, if one did."""
    if reason is None:
        return messages
    separator = "\n" if messages and not messages.endswith("\n") else ""
    return messages + separator + compiler_stopped(reason, limits)


def _response(
    submission: Submission,
    verdict: Verdict,
    *,
    outcome: Outcome | None,
    compiled: CompileResult | None,
) -> ExecuteResponse:
    """The one place an ExecuteResponse is built: from the run's outcome, or, when the
    program never ran (its compile failed), with empty output and zero cost. A run the
    supervisor ended at a limit has no exit code and no signal: its status says why."""
    runtime = submission.runtime
    if outcome is None:
        stdout = stderr = ""
        stdout_invalid = stderr_invalid = False
        truncated = StreamFlags(stdout=False, stderr=False)
    else:
        stdout, stdout_invalid = decode_output(outcome.stdout, truncated=outcome.stdout_truncated)
        stderr, stderr_invalid = decode_output(outcome.stderr, truncated=outcome.stderr_truncated)
        truncated = StreamFlags(stdout=outcome.stdout_truncated, stderr=outcome.stderr_truncated)
    ended_by_us = outcome is None or outcome.killed_for is not None
    return ExecuteResponse(
        status=verdict.status,
        message=verdict.message,
        stdout=stdout,
        stderr=stderr,
        exit_code=None if ended_by_us or outcome is None else outcome.exit_code,
        signal=None if ended_by_us or outcome is None else signal_name(outcome.signal),
        time_ms=outcome.cpu_time_ms if outcome else 0,
        wall_time_ms=outcome.wall_time_ms if outcome else 0,
        memory_kb=outcome.memory_kb if outcome else 0,
        truncated=truncated,
        invalid_utf8=StreamFlags(stdout=stdout_invalid, stderr=stderr_invalid),
        compile=compiled,
        language=runtime.language,
        version=runtime.version,
    )
