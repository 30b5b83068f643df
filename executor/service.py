"""The execution pipeline: admit (bounded queue) → plan → workdir → compile → run → verdict."""

import asyncio
import base64
import binascii
import codecs
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from executor.errors import (
    BodyTooLarge,
    InvalidSubmission,
    LimitTooHigh,
    ServiceBusy,
    ServiceUnavailable,
)
from executor.languages.plan import LanguagePlan, Toolchain, expand_argv, heap_mb_for
from executor.languages.registry import Runtime, RuntimeRegistry, all_plans
from executor.models import (
    CompileResult,
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    RuntimeInfo,
    Status,
    StreamFlags,
)
from executor.sandbox import janitor, supervise
from executor.sandbox.child import plan_child
from executor.sandbox.identity import IdentityPool, RunIdentity
from executor.sandbox.launch import Launcher
from executor.sandbox.layers import Isolation
from executor.sandbox.spec import Outcome, ResourceLimits, RunSpec
from executor.sandbox.workdir import Workdir, add_files, create_workdir, remove_workdir
from executor.settings import Settings
from executor.verdict import decide_status, signal_name, status_for_kill
from executor.warm_compiler import WarmCompile, WarmJavac, compiler_identity

log = logging.getLogger("executor")

CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"
LIMIT_NAMES = ("time_ms", "wall_time_ms", "memory_mb", "output_kb", "processes", "file_size_kb")


@dataclass(frozen=True)
class Submission:
    """A validated request: decoded files, the entry file, and resolved limits."""

    runtime: Runtime
    files: dict[str, bytes]
    main: str
    stdin: bytes
    args: list[str]
    limits: ResourceLimits


class Executor:
    """Runs submissions on this replica. Lives on ``app.state``; one per process."""

    def __init__(
        self,
        settings: Settings,
        *,
        isolation: Isolation,
        launcher: Launcher,
        pool: IdentityPool | None,
    ) -> None:
        self.settings = settings
        self.isolation = isolation
        self.launcher = launcher
        self.pool = pool
        self.registry = RuntimeRegistry([])
        self.concurrency = settings.concurrency()
        self.queue_size = settings.queue_size()
        self.ready = False
        self.draining = False
        self._slots = asyncio.Semaphore(self.concurrency)
        self._waiting = 0
        self._running = 0
        self._cleanups: set[asyncio.Task[None]] = set()
        # Warm compilers by language, started after discovery; absent or not ready → fresh one.
        self.warm_compilers: dict[str, WarmJavac] = {}

    # -- startup -------------------------------------------------------------------------------

    async def discover_runtimes(self) -> list[str]:
        """Find each language's toolchains and keep, per language, the first that answers its
        version probe and passes its self-test through the real sandbox (the two run side by
        side). A deferred self-test (Java) runs later, in verify_deferred_self_tests. Returns a
        line per language for the log."""
        wanted = self.settings.offered_languages()
        plans = [p for p in all_plans() if wanted is None or p.name in wanted]
        results = await asyncio.gather(*(self._first_working(plan) for plan in plans))
        runtimes = [runtime for runtime, _ in results if runtime is not None]
        self.registry = RuntimeRegistry(runtimes)
        return [line for _, line in results]

    async def start_warm_compilers(self) -> None:
        """Start a warm compiler for each offered language that has one (Java's javac)."""
        if not self.settings.warm_compiler:
            return
        identity = (
            compiler_identity(self.pool.base_uid, self.pool.size) if self.pool is not None else None
        )
        for runtime in self.registry.runtimes:
            if runtime.plan.warm_compiler:
                warm = WarmJavac(
                    runtime.toolchain,
                    limits=self._compile_limits(runtime.plan),
                    isolation=self.isolation,
                    launcher=self.launcher,
                    identity=identity,
                    run_root=self.settings.run_root(),
                )
                self.warm_compilers[runtime.language] = warm
                await warm.start()

    async def verify_deferred_self_tests(self) -> list[str]:
        """Run the self-test of runtimes that were offered on their version probe alone (Java:
        compile and run a hello world, through the warm compiler once it is up). A runtime that
        fails is withdrawn. Returns a line per runtime for the log."""
        lines = []
        for runtime in list(self.registry.runtimes):
            if not runtime.plan.self_test_deferred:
                continue
            problem = await self.self_test(runtime)
            if problem is None:
                lines.append(f"{runtime.language}: full self-test passed")
                continue
            lines.append(f"{runtime.language}: withdrawn, full self-test failed: {problem}")
            self.registry = RuntimeRegistry([r for r in self.registry.runtimes if r != runtime])
        return lines

    async def _first_working(self, plan: LanguagePlan) -> tuple[Runtime | None, str]:
        binaries = await asyncio.to_thread(plan.find_binaries)
        if not binaries:
            return None, f"{plan.name}: not offered (no toolchain found)"
        problems = []
        for binary in binaries:
            if plan.self_test_deferred:
                toolchain = await asyncio.to_thread(plan.probe_toolchain, binary)
                problem = None if toolchain else "no answer to the version probe"
            else:
                # The self-test also reports the version: one start of the runtime, not two.
                runtime = Runtime(plan=plan, toolchain=Toolchain(version="", interpreter=binary))
                problem, stderr = await self._self_test(runtime)
                version = plan.self_test_version.search(stderr)
                toolchain = (
                    Toolchain(version=version.group(1), interpreter=binary) if version else None
                )
                if problem is None and toolchain is None:
                    problem = f"no version in the self-test's stderr: {stderr[-200:]!r}"
            if problem is not None or toolchain is None:
                problems.append(f"{binary}: {problem}")
                continue
            runtime = Runtime(plan=plan, toolchain=toolchain)
            return runtime, f"{plan.name} {toolchain.version}: {toolchain.interpreter}"
        return None, f"{plan.name}: not offered ({'; '.join(problems)})"

    async def self_test(self, runtime: Runtime) -> str | None:
        """Run the plan's hello world in the sandbox; None if it printed what it should."""
        return (await self._self_test(runtime))[0]

    async def _self_test(self, runtime: Runtime) -> tuple[str | None, str]:
        """The self-test's problem (None if it passed) and its stderr."""
        plan = runtime.plan
        main = plan.entry_name(plan.self_test_source)
        submission = Submission(
            runtime=runtime,
            files={main: plan.self_test_source.encode()},
            main=main,
            stdin=b"",
            args=[],
            limits=self._resolve_limits(Limits(), plan),
        )
        try:
            response = await self._execute_admitted(submission)
        except Exception as exc:  # a broken toolchain must not stop the service
            return f"{type(exc).__name__}: {exc}", ""
        if response.status != Status.OK or response.stdout != plan.self_test_stdout:
            detail = (response.compile.stderr if response.compile else "") + response.stderr
            problem = (
                f"status {response.status}, stdout {response.stdout!r}, {detail.strip()[:300]}"
            )
            return problem, response.stderr
        return None, response.stderr

    # -- requests ------------------------------------------------------------------------------

    def runtimes(self) -> list[RuntimeInfo]:
        return [
            RuntimeInfo(language=r.language, version=r.version, aliases=list(r.plan.aliases))
            for r in self.registry.runtimes
        ]

    def load(self) -> dict[str, int]:
        return {
            "running": self._running,
            "waiting": self._waiting,
            "cleaning": len(self._cleanups),
            "concurrency": self.concurrency,
            "queue_size": self.queue_size,
        }

    async def execute(self, request: ExecuteRequest) -> ExecuteResponse:
        """Validate, queue, run and judge one submission.

        Raises UnknownLanguage / VersionUnavailable (400), InvalidSubmission / LimitTooHigh
        (422), BodyTooLarge (413) for bad requests, ServiceBusy (429) when the queue is full and
        ServiceUnavailable (503) while starting or draining. A program that fails is not an
        error: its status says how it failed.
        """
        if not self.ready or self.draining:
            raise ServiceUnavailable("the service is starting or shutting down; retry shortly")
        runtime = self.registry.resolve(request.language, version=request.version)
        submission = self._validate(request, runtime)
        if self._slots.locked() and self._waiting >= self.queue_size:
            raise ServiceBusy(
                f"{self._running} submissions running and {self._waiting} waiting; retry later",
                retry_after_s=1,
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._execute_admitted(submission)
        finally:
            self._slots.release()

    def _validate(self, request: ExecuteRequest, runtime: Runtime) -> Submission:
        s = self.settings
        plan = runtime.plan
        if request.code is not None:
            main = plan.entry_name(request.code)
            files = {main: request.code.encode()}
        else:
            assert request.files is not None  # guaranteed by ExecuteRequest's validator
            if len(request.files) > s.max_files:
                raise InvalidSubmission(
                    f"{len(request.files)} files is more than the maximum {s.max_files}",
                    maximum=s.max_files,
                )
            files = {f.name: _decode_file(f.name, f.content, f.encoding) for f in request.files}
            main = request.main or request.files[0].name
        if len(request.args) > s.max_args:
            raise InvalidSubmission(
                f"{len(request.args)} arguments is more than the maximum {s.max_args}",
                maximum=s.max_args,
            )
        for arg in request.args:
            if len(arg.encode()) > s.max_arg_bytes:
                raise BodyTooLarge(
                    f"an argument is longer than the maximum {s.max_arg_bytes} bytes",
                    maximum=s.max_arg_bytes,
                )
        return Submission(
            runtime=runtime,
            files=files,
            main=main,
            stdin=request.stdin.encode(),
            args=list(request.args),
            limits=self._resolve_limits(request.limits, plan),
        )

    def _resolve_limits(self, asked: Limits, plan: LanguagePlan) -> ResourceLimits:
        """request → operator default (EXECUTOR_DEFAULT_*) → built-in default; each checked
        against its maximum (EXECUTOR_MAX_*)."""
        values: dict[str, int] = {}
        for name in LIMIT_NAMES:
            value = getattr(asked, name)
            maximum = getattr(self.settings, f"max_{name}")
            if value is None:
                value = getattr(self.settings, f"default_{name}")
            elif value > maximum:
                raise LimitTooHigh(
                    f"limits.{name}={value} is above the maximum {maximum}",
                    limit=name,
                    maximum=maximum,
                )
            values[name] = value
        memory_kb = values["memory_mb"] * 1024
        return ResourceLimits(
            cpu_time_ms=values["time_ms"],
            wall_time_ms=values["wall_time_ms"],
            memory_kb=memory_kb,
            output_kb=values["output_kb"],
            processes=values["processes"],
            file_size_kb=values["file_size_kb"],
            open_files=self.settings.open_files,
            address_space_kb=_address_space_kb(plan, memory_kb),
        )

    def _compile_limits(self, plan: LanguagePlan) -> ResourceLimits:
        s = self.settings
        memory_kb = s.compile_memory_mb * 1024
        return ResourceLimits(
            cpu_time_ms=s.compile_time_ms,
            wall_time_ms=s.compile_wall_time_ms,
            memory_kb=memory_kb,
            output_kb=s.compile_output_kb,
            processes=s.compile_processes,
            file_size_kb=max(s.max_file_size_kb, 65536),
            open_files=s.open_files,
            address_space_kb=_address_space_kb(plan, memory_kb),
        )

    # -- the pipeline --------------------------------------------------------------------------

    async def _execute_admitted(self, submission: Submission) -> ExecuteResponse:
        async with self._workspace(submission.files) as (work, identity):
            return await self._compile_and_run(submission, work, identity)

    @contextlib.asynccontextmanager
    async def _workspace(
        self, files: dict[str, bytes]
    ) -> AsyncIterator[tuple[Workdir, RunIdentity | None]]:
        """A uid of the pool and a fresh workdir holding ``files``. On exit the cleanup (kill
        what is left of the uid, remove its files and the workdir, free the uid) runs in the
        background: the answer does not wait for it, and the uid is reused only after it."""
        identity = await self.pool.acquire() if self.pool is not None else None
        self._running += 1
        work: Workdir | None = None
        try:
            # A few mkdir, write and chown calls: cheaper inline than a hop to a thread.
            work = create_workdir(self.settings.run_root(), files=files, identity=identity)
            yield work, identity
        finally:
            self._running -= 1
            cleanup = asyncio.create_task(self._clean_up(work, identity))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)

    async def _compile_and_run(
        self, submission: Submission, work: Workdir, identity: RunIdentity | None
    ) -> ExecuteResponse:
        runtime = submission.runtime
        plan = runtime.plan
        main_class = plan.main_class(
            submission.main, submission.files[submission.main].decode(errors="replace")
        )
        compiled = None
        if plan.compile_argv is not None:
            compiled = await self._compile(submission, main_class, work, identity)
        if compiled is not None and compiled.status != Status.OK:
            return ExecuteResponse(
                status=compiled.status,
                stdout="",
                stderr="",
                exit_code=None,
                signal=None,
                time_ms=0,
                wall_time_ms=0,
                memory_kb=0,
                truncated=StreamFlags(stdout=False, stderr=False),
                invalid_utf8=StreamFlags(stdout=False, stderr=False),
                compile=compiled,
                language=runtime.language,
                version=runtime.version,
            )
        argv = expand_argv(
            plan.run_argv,
            toolchain=runtime.toolchain,
            main=submission.main,
            main_class=main_class,
            heap_mb=heap_mb_for(submission.limits.memory_kb),
            sources=[],
            args=submission.args,
        )
        outcome = await self._sandboxed(
            argv, submission.limits, work, identity, submission.stdin, plan.env
        )
        status = decide_status(outcome, limits=submission.limits, oom_markers=plan.oom_markers)
        stdout, stdout_invalid = _decode_output(outcome.stdout, outcome.stdout_truncated)
        stderr, stderr_invalid = _decode_output(outcome.stderr, outcome.stderr_truncated)
        return ExecuteResponse(
            status=status,
            stdout=stdout,
            stderr=stderr,
            exit_code=outcome.exit_code,
            signal=signal_name(outcome.signal),
            time_ms=outcome.cpu_time_ms,
            wall_time_ms=outcome.wall_time_ms,
            memory_kb=outcome.memory_kb,
            truncated=StreamFlags(stdout=outcome.stdout_truncated, stderr=outcome.stderr_truncated),
            invalid_utf8=StreamFlags(stdout=stdout_invalid, stderr=stderr_invalid),
            compile=compiled,
            language=runtime.language,
            version=runtime.version,
        )

    async def _compile(
        self,
        submission: Submission,
        main_class: str,
        work: Workdir,
        identity: RunIdentity | None,
    ) -> CompileResult:
        """Compile every source file: through the warm compiler when it can answer, else with a
        fresh compiler process in the sandbox. Compiler failures become compilation_error; a
        compiler over its limits, time_limit_exceeded or memory_limit_exceeded."""
        runtime = submission.runtime
        plan = runtime.plan
        limits = self._compile_limits(plan)
        sources = sorted(n for n in submission.files if n.endswith(plan.source_suffix))
        warm = await self._compile_warm(submission, sources, limits, work, identity)
        if warm is not None:
            return warm
        assert plan.compile_argv is not None  # only called for compiled languages
        argv = expand_argv(
            plan.compile_argv,
            toolchain=runtime.toolchain,
            main=submission.main,
            main_class=main_class,
            heap_mb=heap_mb_for(limits.memory_kb),
            sources=sources,
            args=[],
        )
        outcome = await self._sandboxed(argv, limits, work, identity, b"", plan.env)
        status = decide_status(outcome, limits=limits, oom_markers=plan.oom_markers)
        if status in (Status.RUNTIME_ERROR, Status.OUTPUT_LIMIT_EXCEEDED):
            status = Status.COMPILATION_ERROR
        return CompileResult(
            status=status,
            stdout=_decode_output(outcome.stdout, outcome.stdout_truncated)[0],
            stderr=_decode_output(outcome.stderr, outcome.stderr_truncated)[0],
            exit_code=outcome.exit_code,
            time_ms=outcome.cpu_time_ms,
            wall_time_ms=outcome.wall_time_ms,
            memory_kb=outcome.memory_kb,
        )

    async def _compile_warm(
        self,
        submission: Submission,
        sources: list[str],
        limits: ResourceLimits,
        work: Workdir,
        identity: RunIdentity | None,
    ) -> CompileResult | None:
        """Compile through the language's warm compiler and put the classes in the box; None
        when there is none or it cannot answer now (the caller runs a fresh compiler)."""
        warm = self.warm_compilers.get(submission.runtime.language)
        if warm is None:
            return None
        result: WarmCompile | None = await warm.compile(
            {name: submission.files[name] for name in sources}, limits=limits
        )
        if result is None:
            return None
        if result.killed_for is not None:
            status = status_for_kill(result.killed_for)
        elif result.exit_code == 0:
            status = Status.OK
            await asyncio.to_thread(add_files, work, result.classes, identity=identity)
        else:
            status = Status.COMPILATION_ERROR
        return CompileResult(
            status=status,
            stdout="",
            stderr=result.diagnostics,
            exit_code=result.exit_code,
            time_ms=result.cpu_time_ms,
            wall_time_ms=result.wall_time_ms,
            memory_kb=result.memory_kb,
        )

    async def _sandboxed(
        self,
        argv: tuple[str, ...],
        limits: ResourceLimits,
        work: Workdir,
        identity: RunIdentity | None,
        stdin: bytes,
        env: dict[str, str],
    ) -> Outcome:
        spec = RunSpec(
            argv=argv,
            cwd=work.box,
            env={
                "PATH": CHILD_PATH,
                "HOME": work.home,
                "TMPDIR": work.tmp,
                "LANG": "C.UTF-8",
                **env,
            },
            limits=limits,
            stdin=stdin,
        )
        child = plan_child(
            limits,
            identity=identity,
            seccomp=self.isolation.seccomp,
            namespaces=self.isolation.namespaces,
            private_tmp=work.tmp,
        )
        return await supervise.run(spec, plan=child, launcher=self.launcher)

    async def _clean_up(self, work: Workdir | None, identity: RunIdentity | None) -> None:
        """End what is left of the uid, remove its files in shared places and the workdir, then
        free the uid. A uid that cannot be cleaned is retired (logged), never reused."""
        try:
            await asyncio.to_thread(self._clean_up_now, work, identity)
        except Exception:
            log.exception("retiring uid %s: its run could not be cleaned up", identity)
            return
        if identity is not None and self.pool is not None:
            self.pool.release(identity)

    def _clean_up_now(self, work: Workdir | None, identity: RunIdentity | None) -> None:
        if identity is not None:
            janitor.kill_all_processes(identity, helper=self.launcher.helper)
            # With a mount namespace, the run's /tmp, /var/tmp and /dev/shm were its workdir's.
            places = ("/run/lock",) if self.isolation.namespaces else janitor.SHARED_WRITABLE_DIRS
            janitor.remove_owned_files(identity, places=places)
        if work is not None:
            remove_workdir(work)

    async def shutdown(self) -> None:
        """Stop admitting work; runs in flight end within their wall limit (uvicorn waits).
        Then stop the warm compilers and finish the cleanups under way."""
        self.draining = True
        self.ready = False
        for warm in self.warm_compilers.values():
            await warm.close()
        if self._cleanups:
            await asyncio.wait(self._cleanups)


def _address_space_kb(plan: LanguagePlan, memory_kb: int) -> int | None:
    if plan.memory_strategy == "address_space":
        return memory_kb + plan.address_space_slack_mb * 1024
    return None


def _decode_file(name: str, content: str, encoding: str) -> bytes:
    if encoding == "utf8":
        return content.encode()
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubmission(f"file {name!r} is not valid base64: {exc}") from None


def _decode_output(data: bytes, truncated: bool) -> tuple[str, bool]:
    """Text of an output stream and whether it held invalid UTF-8 (replaced by U+FFFD). A
    multi-byte character cut in half by truncation is dropped, not counted as invalid."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        return decoder.decode(data, final=not truncated), False
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=not truncated)
        return text, True
