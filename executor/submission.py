"""A request turned into a Submission: files decoded, sizes checked, limits resolved; for a
judged request, its tests, checker and judge program too."""

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

from executor.errors import BodyTooLarge, InvalidSubmission, LimitTooHigh
from executor.judging.checkers import CheckerConfig
from executor.judging.models import Interactor, ProgramChecker, ProgramSource
from executor.languages.plan import LanguagePlan
from executor.languages.registry import Runtime
from executor.limits import LIMIT_NAMES
from executor.models import ExecuteRequest, Limits, SourceFile
from executor.sandbox import ResourceLimits
from executor.settings import Settings

# javac writes class files of its own size: a compile may write a file as large as the
# largest a run may, and never less than this.
COMPILE_FILE_SIZE_FLOOR_KB = 65536
# The UTF-8 byte-order mark some editors (Windows') put at the start of a text file.
BYTE_ORDER_MARK = "\ufeff"


# A judge program's box holds the test's files in this directory (see judging/runner.py): no
# file of the program may take its name.
JUDGE_DIR = "judge"


@dataclass(frozen=True)
class Program:
    """A program's decoded files and its entry file, with the runtime that runs it."""

    runtime: Runtime
    files: dict[str, bytes]
    main: str


@dataclass(frozen=True)
class Test:
    """One test of a judged submission. ``stdin`` and ``expected_stdout`` stay text until the
    test runs (encoded then), so the request's strings are not copied for every test at once."""

    __test__ = False  # not a pytest class

    name: str
    stdin: str
    expected_stdout: str | None
    limits: ResourceLimits


@dataclass(frozen=True)
class Judging:
    """How a judged submission is judged: its tests in order; a built-in ``checker``, or a
    ``judge`` program (an output validator, or with ``interactive`` an interactor) under
    ``judge_limits`` (the operator's EXECUTOR_VALIDATOR_*)."""

    tests: tuple[Test, ...]
    checker: CheckerConfig | None
    judge: Program | None
    interactive: bool
    judge_limits: ResourceLimits
    stop_on_first_failure: bool

    def memory_per_test_kb(self) -> int:
        """What one test holds at most: its program's memory limit, plus the judge program's
        (an interactor runs beside it; a validator runs while what the program left behind is
        still being cleaned up)."""
        judge_kb = self.judge_limits.memory_kb if self.judge is not None else 0
        return max(test.limits.memory_kb for test in self.tests) + judge_kb


@dataclass(frozen=True)
class Submission:
    """A validated request: decoded files, the entry file, and resolved limits; ``judging``
    when the request is judged."""

    runtime: Runtime
    files: dict[str, bytes]
    main: str
    stdin: bytes
    args: tuple[str, ...]
    limits: ResourceLimits
    judging: Judging | None = None

    @property
    def program(self) -> Program:
        return Program(runtime=self.runtime, files=self.files, main=self.main)


def build_submission(
    request: ExecuteRequest,
    runtime: Runtime,
    *,
    settings: Settings,
    resolve: Callable[[str], Runtime],
) -> Submission:
    """Decode the request's files, check its counts and sizes against the operator's maxima,
    and resolve its limits (each test's too); ``resolve`` finds a judge program's runtime. A
    byte-order mark at the start of a source file is dropped: it is no part of the program
    (javac refuses it). Raises InvalidSubmission (too many files or arguments, bad base64, a
    judge file named ``judge``), BodyTooLarge (an argument too long), LimitTooHigh (422) and
    what ``resolve`` raises (UnknownLanguage, 400)."""
    plan = runtime.plan
    main, files = _decode_source(request.code, request.files, request.main, plan, settings)
    if len(request.args) > settings.max_args:
        raise InvalidSubmission(
            f"{len(request.args)} arguments is more than the maximum {settings.max_args}",
            maximum=settings.max_args,
        )
    for arg in request.args:
        if len(arg.encode()) > settings.max_arg_bytes:
            raise BodyTooLarge(
                f"an argument is longer than the maximum {settings.max_arg_bytes} bytes",
                maximum=settings.max_arg_bytes,
            )
    limits = resolve_limits(request.limits, plan=plan, settings=settings)
    judging = None
    if request.judged:
        judging = _build_judging(request, plan=plan, settings=settings, resolve=resolve)
    return Submission(
        runtime=runtime,
        files=files,
        main=main,
        stdin=request.stdin.encode() if judging is None else b"",
        args=tuple(request.args),
        limits=limits,
        judging=judging,
    )


def resolve_limits(
    asked: Limits, *, plan: LanguagePlan, settings: Settings, where: str = "limits"
) -> ResourceLimits:
    """Each limit of limits.RUN_LIMITS: the request's value, else the operator's default
    (EXECUTOR_DEFAULT_*, itself defaulting to the built-in one). Raises LimitTooHigh for a
    value above its maximum (EXECUTOR_MAX_*), naming it as ``<where>.<limit>``."""
    values: dict[str, int] = {}
    for name in LIMIT_NAMES:
        value = asked.asked(name)
        maximum = settings.limit_maximum(name)
        if value is None:
            value = settings.limit_default(name)
        elif value > maximum:
            raise LimitTooHigh(
                f"{where}.{name}={value} is above the maximum {maximum}",
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
        disk_kb=values["disk_mb"] * 1024,
        disk_files=values["disk_files"],
        open_files=settings.open_files,
        address_space_kb=plan.address_space_kb(memory_kb),
    )


def compile_limits(
    plan: LanguagePlan, *, settings: Settings, run: ResourceLimits | None = None
) -> ResourceLimits:
    """The operator's compile limits (EXECUTOR_COMPILE_*), the same for every submission; with
    ``run``, the limits of the run it compiles for, what it writes is held to that run's disk
    limits (it stays in the run's directory), else to the operator's maxima."""
    memory_kb = settings.compile_memory_mb * 1024
    return ResourceLimits(
        cpu_time_ms=settings.compile_time_ms,
        wall_time_ms=settings.compile_wall_time_ms,
        memory_kb=memory_kb,
        output_kb=settings.compile_output_kb,
        processes=settings.compile_processes,
        file_size_kb=max(settings.limit_maximum("file_size_kb"), COMPILE_FILE_SIZE_FLOOR_KB),
        # A compile runs in the submission's box: what it writes counts with the sources.
        disk_kb=run.disk_kb if run else settings.limit_maximum("disk_mb") * 1024,
        disk_files=run.disk_files if run else settings.limit_maximum("disk_files"),
        open_files=settings.open_files,
        address_space_kb=plan.address_space_kb(memory_kb),
    )


def judge_limits(plan: LanguagePlan, *, settings: Settings) -> ResourceLimits:
    """The operator's limits for a judge program (EXECUTOR_VALIDATOR_*), per test."""
    memory_kb = settings.validator_memory_mb * 1024
    return ResourceLimits(
        cpu_time_ms=settings.validator_time_ms,
        wall_time_ms=settings.validator_wall_time_ms,
        memory_kb=memory_kb,
        output_kb=settings.validator_output_kb,
        processes=settings.validator_processes,
        file_size_kb=settings.limit_default("file_size_kb"),
        disk_kb=settings.limit_default("disk_mb") * 1024,
        disk_files=settings.limit_default("disk_files"),
        open_files=settings.open_files,
        address_space_kb=plan.address_space_kb(memory_kb),
    )


def _build_judging(
    request: ExecuteRequest,
    *,
    plan: LanguagePlan,
    settings: Settings,
    resolve: Callable[[str], Runtime],
) -> Judging:
    tests = []
    for index, test in enumerate(request.resolved_tests(stdin=request.stdin)):
        asked = request.limits
        if test.limits is not None:
            # A test's limits override the submission's, field by field.
            merged = {
                **request.limits.model_dump(exclude_none=True),
                **test.limits.model_dump(exclude_none=True),
            }
            asked = Limits.model_validate(merged)
        where = "limits" if test.limits is None else f"tests[{index}].limits"
        limits = resolve_limits(asked, plan=plan, settings=settings, where=where)
        name = test.name or str(index + 1)  # resolved_tests names every test
        tests.append(Test(name, test.stdin, test.expected_stdout, limits))
    checker = request.resolved_checker()
    source: ProgramSource | None = request.interactor
    if isinstance(checker, ProgramChecker):
        source = checker
    judge = None
    if source is not None:
        judge = _judge_program(source, settings=settings, resolve=resolve)
    return Judging(
        tests=tuple(tests),
        checker=None
        if checker is None or isinstance(checker, ProgramChecker)
        else checker.to_config(),
        judge=judge,
        interactive=isinstance(source, Interactor),
        judge_limits=judge_limits(
            judge.runtime.plan if judge is not None else plan, settings=settings
        ),
        stop_on_first_failure=request.stop_on_first_failure,
    )


def _judge_program(
    source: ProgramSource, *, settings: Settings, resolve: Callable[[str], Runtime]
) -> Program:
    runtime = resolve(source.language)
    main, files = _decode_source(source.code, source.files, source.main, runtime.plan, settings)
    if JUDGE_DIR in files:
        raise InvalidSubmission(
            f"a judge program's file may not be named {JUDGE_DIR!r}: its box keeps the test's "
            "files there"
        )
    return Program(runtime=runtime, files=files, main=main)


def _decode_source(
    code: str | None,
    files: list[SourceFile] | None,
    main: str | None,
    plan: LanguagePlan,
    settings: Settings,
) -> tuple[str, dict[str, bytes]]:
    """The entry file's name and every file's bytes, from ``code`` or ``files``; a leading
    byte-order mark dropped from the entry and source files."""
    if code is not None:
        code = code.removeprefix(BYTE_ORDER_MARK)
        entry = plan.entry_name(code)
        return entry, {entry: code.encode()}
    if files is None:  # the request models' validators guarantee one of the two
        raise InvalidSubmission("give exactly one of 'code' or 'files'")
    if len(files) > settings.max_files:
        raise InvalidSubmission(
            f"{len(files)} files is more than the maximum {settings.max_files}",
            maximum=settings.max_files,
        )
    decoded = {f.name: _decode_file(f.name, f.content, f.encoding) for f in files}
    entry = main or files[0].name
    if plan.compile_argv is not None and not entry.endswith(plan.source_suffix):
        # A compiled language's entry is the source its class to run comes from: anything else
        # would compile the other files and then fail to find the class, a stranger error.
        raise InvalidSubmission(
            f"the entry file {entry!r} is not a {plan.source_suffix} file: name one with 'main'"
        )
    mark = BYTE_ORDER_MARK.encode()
    for name, content in decoded.items():
        if name == entry or name.endswith(plan.source_suffix):
            decoded[name] = content.removeprefix(mark)
    return entry, decoded


def _decode_file(name: str, content: str, encoding: str) -> bytes:
    if encoding == "utf8":
        return content.encode()
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubmission(f"file {name!r} is not valid base64: {exc}") from None
