"""A request turned into a Submission: files decoded, sizes checked, limits resolved."""

import base64
import binascii
from dataclasses import dataclass

from executor.errors import BodyTooLarge, InvalidSubmission, LimitTooHigh
from executor.languages.plan import LanguagePlan
from executor.languages.registry import Runtime
from executor.limits import LIMIT_NAMES
from executor.models import ExecuteRequest, Limits
from executor.sandbox import ResourceLimits
from executor.settings import Settings

# javac writes class files of its own size: a compile may write a file as large as the
# largest a run may, and never less than this.
COMPILE_FILE_SIZE_FLOOR_KB = 65536
# The UTF-8 byte-order mark some editors (Windows') put at the start of a text file.
BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class Submission:
    """A validated request: decoded files, the entry file, and resolved limits."""

    runtime: Runtime
    files: dict[str, bytes]
    main: str
    stdin: bytes
    args: tuple[str, ...]
    limits: ResourceLimits


def build_submission(
    request: ExecuteRequest, runtime: Runtime, *, settings: Settings
) -> Submission:
    """Decode the request's files, check its counts and sizes against the operator's maxima,
    and resolve its limits. A byte-order mark at the start of a source file is dropped: it is
    no part of the program (javac refuses it). Raises InvalidSubmission (too many files or
    arguments, bad base64), BodyTooLarge (an argument too long) and LimitTooHigh (422)."""
    plan = runtime.plan
    if request.code is not None:
        code = request.code.removeprefix(BYTE_ORDER_MARK)
        main = plan.entry_name(code)
        files = {main: code.encode()}
    else:
        if request.files is None:  # ExecuteRequest's validator guarantees one of the two
            raise InvalidSubmission("give exactly one of 'code' or 'files'")
        if len(request.files) > settings.max_files:
            raise InvalidSubmission(
                f"{len(request.files)} files is more than the maximum {settings.max_files}",
                maximum=settings.max_files,
            )
        files = {f.name: _decode_file(f.name, f.content, f.encoding) for f in request.files}
        main = request.main or request.files[0].name
        mark = BYTE_ORDER_MARK.encode()
        for name, content in files.items():
            if name == main or name.endswith(plan.source_suffix):
                files[name] = content.removeprefix(mark)
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
    return Submission(
        runtime=runtime,
        files=files,
        main=main,
        stdin=request.stdin.encode(),
        args=tuple(request.args),
        limits=resolve_limits(request.limits, plan=plan, settings=settings),
    )


def resolve_limits(asked: Limits, *, plan: LanguagePlan, settings: Settings) -> ResourceLimits:
    """Each limit of limits.RUN_LIMITS: the request's value, else the operator's default
    (EXECUTOR_DEFAULT_*, itself defaulting to the built-in one). Raises LimitTooHigh for a
    value above its maximum (EXECUTOR_MAX_*)."""
    values: dict[str, int] = {}
    for name in LIMIT_NAMES:
        value = asked.asked(name)
        maximum = settings.limit_maximum(name)
        if value is None:
            value = settings.limit_default(name)
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


def _decode_file(name: str, content: str, encoding: str) -> bytes:
    if encoding == "utf8":
        return content.encode()
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubmission(f"file {name!r} is not valid base64: {exc}") from None
