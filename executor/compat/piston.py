"""Piston v2 spoken beside this service's API: ``GET /api/v2/runtimes`` and ``POST
/api/v2/execute`` (with or without a trailing slash), with Piston's fields, units, language
names, errors and quirks, run through ExecutionService.execute like /execute.

The README's "Piston v2" section has the table of every field and what is done with it.

Over 300 lines: the translation both ways and the endpoints are one concept, and Piston's
quirks read best beside the fields they touch.
"""

import base64
import binascii
import math
from typing import Literal

import semantic_version  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from executor.compat.outcome import (
    LIMIT_STATUSES,
    largest_memory_mb,
    request_body,
    run_message,
)
from executor.errors import (
    BodyTooLarge,
    ExecutorError,
    ServiceBusy,
    ServiceUnavailable,
)
from executor.languages.registry import Runtime
from executor.models import CompileResult, ExecuteRequest, ExecuteResponse, Limits, SourceFile
from executor.models import Status as RunStatus
from executor.service import ExecutionService

BYTES_PER_MB = 1024 * 1024


class PistonFile(BaseModel):
    """One file: ``name`` optional (Piston makes one up), ``content`` in ``encoding``."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    content: str
    # Piston reads any other value as utf8.
    encoding: str = "utf8"


class PistonRequest(BaseModel):
    """The body of ``POST /api/v2/execute``. Times in ms, memory in bytes; a limit of -1 (or any
    value <= 0, as Piston reads it) means the largest this replica allows; a limit left out
    takes the operator's default. Unknown fields are ignored, as Piston does."""

    model_config = ConfigDict(extra="ignore")

    language: str = Field(min_length=1, max_length=64)
    # Piston requires it; a missing one is read as "*" (piston-client leaves it out for an
    # alias such as "js").
    version: str = Field("*", max_length=64)
    files: list[PistonFile] = Field(min_length=1)
    stdin: str = ""
    args: list[str] = Field(default_factory=list)
    compile_timeout: float | None = None
    run_timeout: float | None = None
    compile_cpu_time: float | None = None
    run_cpu_time: float | None = None
    compile_memory_limit: float | None = None
    run_memory_limit: float | None = None


class PistonStage(BaseModel):
    """How a stage (compile or run) ended. ``code`` is the exit status, or null when a signal
    ended it (``signal``: its name; ``SIGKILL`` when the service ended it at a limit).
    ``status`` is isolate's code: null when it exited 0, ``RE`` non-zero exit, ``SG`` a signal
    (and the memory limit), ``TO`` a time limit, ``OL``/``EL`` stdout/stderr over the output
    limit, ``XX`` the service failed. ``cpu_time`` and ``wall_time`` in ms, ``memory`` in
    bytes."""

    stdout: str
    stderr: str
    output: str
    code: int | None
    signal: str | None
    message: str | None
    status: Literal["RE", "SG", "TO", "OL", "EL", "XX"] | None
    cpu_time: int
    wall_time: int
    memory: int


class PistonResponse(BaseModel):
    """The answer of ``POST /api/v2/execute``: ``run`` (when the compile failed, the compile
    stage again, as Piston does), ``compile`` for compiled languages only."""

    run: PistonStage
    compile: PistonStage | None = None
    language: str
    version: str


class PistonRuntime(BaseModel):
    """An entry of ``GET /api/v2/runtimes``; ``runtime`` only where Piston has one (node)."""

    language: str
    version: str
    aliases: list[str]
    runtime: str | None = None


# This service's language → Piston's name, its aliases, and its runtime field (as Piston's
# packages declare them; `node` and `nodejs` added so this service's own names work too).
PISTON_NAMES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "python": ("python", ("py", "py3", "python3"), None),
    "node": ("javascript", ("node-javascript", "node-js", "node", "js", "nodejs"), "node"),
    "java": ("java", (), None),
}


class PistonError(Exception):
    """A request Piston would refuse: answered ``{"message": ...}`` with ``http_status``."""

    def __init__(self, message: str, *, http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


def piston_runtimes(service: ExecutionService) -> list[PistonRuntime]:
    """The runtimes offered here, named as Piston names them."""
    entries = []
    for runtime in service.runtimes.registry.runtimes:
        name, aliases, runtime_name = _names(runtime)
        entries.append(
            PistonRuntime(
                language=name, version=runtime.version, aliases=list(aliases), runtime=runtime_name
            )
        )
    return entries


def resolve_runtime(service: ExecutionService, *, language: str, version: str) -> Runtime:
    """The runtime whose Piston name or alias is ``language`` and whose version satisfies the
    npm-style range ``version`` (``*``, ``3.x``, ``^20``, ``>=17 <22``, an exact version).
    Raises PistonError (400, Piston's ``<language>-<version> runtime is unknown``)."""
    wanted = language.strip().lower()
    try:
        spec = semantic_version.NpmSpec(version.strip() or "*")
    except ValueError:
        spec = None
    for runtime in service.runtimes.registry.runtimes:
        name, aliases, _ = _names(runtime)
        if wanted != name and wanted not in aliases:
            continue
        # The exact version as /runtimes lists it matches even where it is no semver (a JDK's
        # 21.0.13.1, which piston-client sends back as it got it).
        if version.strip() == runtime.version:
            return runtime
        if spec is not None and spec.match(semantic_version.Version.coerce(runtime.version)):
            return runtime
    raise PistonError(f"{language}-{version} runtime is unknown")


def execute_request(
    body: PistonRequest, runtime: Runtime, *, service: ExecutionService
) -> ExecuteRequest:
    """The /execute request a Piston request stands for. Raises PistonError for a limit above
    the configured one, or a file that cannot be decoded."""
    settings = service.settings
    for name, maximum in (
        ("compile_timeout", settings.compile_wall_time_ms),
        ("compile_cpu_time", settings.compile_time_ms),
        ("compile_memory_limit", settings.compile_memory_mb * BYTES_PER_MB),
    ):
        # Checked as Piston checks them; the compile runs under the operator's compile limits.
        _limit(getattr(body, name), name=name, maximum=maximum)
    limits = Limits(
        wall_time_ms=_limit(
            body.run_timeout,
            name="run_timeout",
            maximum=settings.limit_maximum("wall_time_ms"),
        ),
        time_ms=_limit(
            body.run_cpu_time, name="run_cpu_time", maximum=settings.limit_maximum("time_ms")
        ),
        memory_mb=_memory_mb(
            _limit(
                body.run_memory_limit,
                name="run_memory_limit",
                maximum=largest_memory_mb(service) * BYTES_PER_MB,
            )
        ),
    )
    # Piston ends stdin with a newline when it does not end with one.
    stdin = body.stdin if body.stdin.endswith("\n") else body.stdin + "\n"
    files = [_source_file(file, index, runtime) for index, file in enumerate(body.files)]
    return ExecuteRequest(
        language=runtime.language,
        files=files,
        main=files[0].name,
        stdin=stdin,
        args=body.args,
        limits=limits,
    )


def piston_response(response: ExecuteResponse, *, language: str) -> PistonResponse:
    """Piston's answer from this service's: the run stage, and the compile stage for a compiled
    language. When the compile failed the program did not run, and ``run`` repeats ``compile``
    (Piston's own rule for a run stage that never started)."""
    compiled = None
    if response.compile is not None:
        compiled = _compile_stage(response.compile)
        if response.compile.status is not RunStatus.OK:
            return PistonResponse(
                run=compiled, compile=compiled, language=language, version=response.version
            )
    return PistonResponse(
        run=_run_stage(response), compile=compiled, language=language, version=response.version
    )


async def runtimes(request: Request) -> JSONResponse:
    """``GET /api/v2/runtimes``: the runtimes offered here, as Piston lists them."""
    service: ExecutionService = request.app.state.service
    return JSONResponse([entry.model_dump(exclude_none=True) for entry in piston_runtimes(service)])


async def execute(request: Request) -> JSONResponse:
    """``POST /api/v2/execute``: run the files; 200 with the stages, or ``{"message"}`` with
    Piston's status (400 for a bad request or an unknown runtime), 413 for a body over the
    limit, 429 when the queue is full, 503 while starting or draining."""
    service: ExecutionService = request.app.state.service
    try:
        body = PistonRequest.model_validate_json(await request_body(request))
        runtime = resolve_runtime(service, language=body.language, version=body.version)
        submission = execute_request(body, runtime, service=service)
        response = await service.execute(submission)
    except PistonError as exc:
        return _error(exc.message, exc.http_status)
    except ValidationError as exc:
        return _error(_validation_message(exc), 400)
    except ExecutorError as exc:
        return _executor_error(exc)
    name, _, _ = _names(runtime)
    answer = piston_response(response, language=name).model_dump(mode="json")
    if answer["compile"] is None:
        del answer["compile"]  # Piston gives a compile stage only for compiled languages
    return JSONResponse(answer)


def _names(runtime: Runtime) -> tuple[str, tuple[str, ...], str | None]:
    name, aliases, runtime_name = PISTON_NAMES.get(
        runtime.language, (runtime.language, runtime.plan.aliases, None)
    )
    if runtime.language == "python":
        # Piston's packages add the minor version: python3.12.
        aliases = (*aliases, "python" + ".".join(runtime.version.split(".")[:2]))
    return name, aliases, runtime_name


def _limit(value: float | None, *, name: str, maximum: int) -> int | None:
    """A Piston limit in its unit: None when left out, ``maximum`` for -1 (any value <= 0: "no
    limit" in Piston), else the value rounded up. Raises PistonError above ``maximum``."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise PistonError(f"If specified, {name} must be a number")
    if value <= 0:
        return maximum
    if value > maximum:
        raise PistonError(f"{name} cannot exceed the configured limit of {maximum}")
    return math.ceil(value)


def _memory_mb(memory_bytes: int | None) -> int | None:
    # Rounded up to whole MB: the program gets at least what was asked.
    return None if memory_bytes is None else max(1, math.ceil(memory_bytes / BYTES_PER_MB))


def _source_file(file: PistonFile, index: int, runtime: Runtime) -> SourceFile:
    """A Piston file as a SourceFile: hex content re-encoded as base64; a file without a name
    named as Piston names it (``file<index>.code``), but the entry file named as this service
    names a single source (``main.py``, ``Main.java`` after its public class, …) so that its
    language's tools take it."""
    if file.encoding == "base64":
        encoding, content = "base64", file.content
    elif file.encoding == "hex":
        try:
            content = base64.b64encode(bytes.fromhex(file.content)).decode()
        except ValueError:
            raise PistonError(f"files[{index}].content is not valid hex") from None
        encoding = "base64"
    else:
        encoding, content = "utf8", file.content
    name = file.name
    if not name:
        if index == 0:
            text = content if encoding == "utf8" else _text_or_empty(content)
            name = runtime.plan.entry_name(text)
        else:
            name = f"file{index}.code"
    return SourceFile(name=name, content=content, encoding=encoding)


def _text_or_empty(content_base64: str) -> str:
    try:
        return base64.b64decode(content_base64, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _run_stage(response: ExecuteResponse) -> PistonStage:
    status: Literal["RE", "SG", "TO", "OL", "EL", "XX"] | None
    signal = response.signal
    code = response.exit_code
    if response.status is RunStatus.OK:
        status = None
    elif response.status is RunStatus.TIME_LIMIT_EXCEEDED:
        status = "TO"
    elif response.status is RunStatus.OUTPUT_LIMIT_EXCEEDED:
        status = "EL" if response.truncated.stderr and not response.truncated.stdout else "OL"
    elif response.status is RunStatus.MEMORY_LIMIT_EXCEEDED:
        # Under Piston's cgroup limit the kernel kills the program: a signal, SIGKILL.
        status = "SG"
    elif response.status is RunStatus.INTERNAL_ERROR:
        status = "XX"
    else:
        status = "SG" if signal is not None else "RE"
    if response.status in LIMIT_STATUSES:
        # Piston reports a run it ended as killed by SIGKILL, with no exit code.
        signal, code = "SIGKILL", None
    return PistonStage(
        stdout=response.stdout,
        stderr=response.stderr,
        output=response.stdout + response.stderr,
        code=code,
        signal=signal,
        message=run_message(response),
        status=status,
        cpu_time=response.time_ms,
        wall_time=response.wall_time_ms,
        memory=response.memory_kb * 1024,
    )


def _compile_stage(compiled: CompileResult) -> PistonStage:
    status: Literal["RE", "SG", "TO", "OL", "EL", "XX"] | None = {
        RunStatus.OK: None,
        RunStatus.TIME_LIMIT_EXCEEDED: "TO",
        RunStatus.MEMORY_LIMIT_EXCEEDED: "SG",
        RunStatus.INTERNAL_ERROR: "XX",
    }.get(compiled.status, "RE")
    killed = compiled.status in LIMIT_STATUSES
    message = None
    if compiled.status is not RunStatus.OK:
        message = f"Exited with error status {compiled.exit_code}" if compiled.exit_code else None
    return PistonStage(
        stdout=compiled.stdout,
        stderr=compiled.stderr,
        output=compiled.stdout + compiled.stderr,
        code=None if killed else compiled.exit_code,
        signal="SIGKILL" if killed else None,
        message=message,
        status=status,
        cpu_time=compiled.time_ms,
        wall_time=compiled.wall_time_ms,
        memory=compiled.memory_kb * 1024,
    )


def _validation_message(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return f"request body is not valid JSON: {errors[0]['msg']}"
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors)


def _executor_error(exc: ExecutorError) -> JSONResponse:
    if isinstance(exc, ServiceBusy):
        return _error(exc.message, 429, headers={"Retry-After": str(exc.retry_after_s)})
    if isinstance(exc, ServiceUnavailable):
        return _error(exc.message, 503)
    if isinstance(exc, BodyTooLarge):
        return _error(exc.message, 413)
    # Piston answers every other refusal with 400.
    return _error(exc.message, 400)


def _error(
    message: str, http_status: int, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=http_status, headers=headers)
