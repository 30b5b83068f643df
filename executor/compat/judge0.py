"""Judge0 CE spoken beside this service's API: submissions (synchronous with ``?wait=true``, or
a token to poll), batches, languages, statuses, /about, /config_info and /system_info, with
Judge0's fields, units and status ids, run through ExecutionService.execute like /execute (a
submission with ``expected_output`` through its judging, compared line by line as Judge0 does).

Asynchronous submissions run in the background on this replica and are kept by judge0_store.py
(memory only: lost on restart). The README's "Judge0 CE" section has the table of every field.
This module is over 300 lines: the translation both ways and the endpoints are one concept, and
the request's validation reads best beside the fields it fills.
"""

import asyncio
import base64
import binascii
import json
import logging
import math
import os
import platform
import shlex
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from executor import __version__
from executor.compat.judge0_catalog import (
    DESCRIPTIONS,
    JUDGE0_VERSION,
    Judge0Language,
    Judge0Status,
    language_for_id,
    listed_language,
    status_of,
)
from executor.compat.judge0_models import (
    MAX_ARGUMENTS_CHARS,
    MAX_BATCH_SIZE,
    MAX_CPU_EXTRA_TIME_S,
    MAX_STACK_LIMIT_KB,
    STACK_LIMIT_KB,
    Judge0Batch,
    Judge0Submission,
)
from executor.compat.judge0_store import Judge0Store, StoreFull
from executor.compat.outcome import (
    LIMIT_STATUSES,
    largest_memory_mb,
    request_body,
    run_message,
    signal_number,
)
from executor.errors import BodyTooLarge, ExecutorError, ServiceBusy, ServiceUnavailable
from executor.models import ExecuteRequest, ExecuteResponse
from executor.service import ExecutionService
from executor.settings import available_cpus, available_memory_mb

log = logging.getLogger("executor")

# Fields Judge0 encodes with ?base64_encoded=true.
ENCODED_FIELDS = frozenset(
    {"source_code", "stdin", "expected_output", "stdout", "stderr", "compile_output", "message"}
)
# What a submission answers without ?fields= (Judge0's default).
DEFAULT_FIELDS = (
    "token",
    "time",
    "memory",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
)
# Every field of a submission (?fields=*): Judge0's columns, its status and language.
ALL_FIELDS = (
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
)


class Judge0Error(Exception):
    """A request Judge0 would refuse, with the body and status Judge0 answers it with."""

    def __init__(self, body: dict[str, Any], *, http_status: int) -> None:
        super().__init__(str(body))
        self.body = body
        self.http_status = http_status

    @classmethod
    def invalid(cls, field: str, message: str) -> "Judge0Error":
        """422 ``{field: [message]}``, as Judge0 answers a submission that fails validation."""
        return cls({field: [message]}, http_status=422)


class Judge0Submissions:
    """The Judge0 API's state on this replica (``app.state.judge0``): the submissions kept for
    polling and the background runs of asynchronous ones."""

    def __init__(self, service: ExecutionService) -> None:
        self.service = service
        settings = service.settings
        self.store = Judge0Store(
            ttl_s=settings.judge0_results_ttl_s,
            max_bytes=settings.judge0_results_mb * 1024 * 1024,
        )
        self._tasks: set[asyncio.Task[None]] = set()

    async def create(self, body: Judge0Submission, *, wait: bool) -> dict[str, Any]:
        """Validate ``body`` and run it: with ``wait``, now (the finished record), else in the
        background (the record in queue). Raises Judge0Error for a request Judge0 refuses, and
        the service's errors (ServiceBusy, ServiceUnavailable, …) of a run with ``wait``."""
        request, record = self.prepare(body)
        if wait:
            response = await self.service.execute(request)
            record.update(_result(response))
            try:
                self.store.add(record["token"], record, finished=True)
            except StoreFull:
                log.warning("judge0: result of %s not kept: the store is full", record["token"])
            return record
        admission = self.service.admission
        if admission.waiting >= admission.queue_size or not self.service.ready:
            raise Judge0Error({"error": "queue is full"}, http_status=503)
        try:
            self.store.add(record["token"], record, finished=False)
        except StoreFull:
            raise Judge0Error({"error": "queue is full"}, http_status=503) from None
        task = asyncio.create_task(self._run(record["token"], request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return record

    def prepare(self, body: Judge0Submission) -> tuple[ExecuteRequest, dict[str, Any]]:
        """The /execute request and the new record ``body`` stands for; raises
        Judge0Error (422) where Judge0 would refuse it."""
        if body.language_id is None:
            raise Judge0Error.invalid("language_id", "can't be blank")
        language = language_for_id(self.service.runtimes.registry.runtimes, body.language_id)
        if language is None:
            raise Judge0Error.invalid(
                "language_id", f"language with id {body.language_id} doesn't exist"
            )
        if not body.source_code:
            raise Judge0Error.invalid("source_code", "can't be blank")
        _refuse_options(body)
        run_limits, shown_limits = self._limits(body)
        fields: dict[str, Any] = {
            "language": language.runtime.language,
            "code": body.source_code,
            "stdin": body.stdin or "",
            "args": _arguments(body.command_line_arguments),
            "limits": run_limits,
        }
        if body.expected_output is not None:
            fields["expected_stdout"] = body.expected_output
        try:
            request = ExecuteRequest.model_validate(fields)
        except ValidationError as exc:
            raise unprocessable(exc) from None
        record = self._record(body, language, shown_limits)
        return request, record

    async def close(self) -> None:
        """Cancel the background runs (the replica is shutting down)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, token: str, request: ExecuteRequest) -> None:
        # "Processing" from here: waiting for a run slot included.
        self.store.update(token, _status_fields(Judge0Status.PROCESSING), finished=False)
        try:
            response = await self.service.execute(request)
        except ExecutorError as exc:
            failed = {**_status_fields(Judge0Status.INTERNAL_ERROR), "message": exc.message}
            self.store.update(token, {**failed, "finished_at": _now()}, finished=True)
            return
        except Exception:
            log.exception("judge0: submission %s failed", token)
            failed = {
                **_status_fields(Judge0Status.INTERNAL_ERROR),
                "message": "the service failed unexpectedly; it has been logged",
            }
            self.store.update(token, {**failed, "finished_at": _now()}, finished=True)
            return
        self.store.update(token, _result(response), finished=True)

    def _limits(self, body: Judge0Submission) -> tuple[dict[str, int | None], dict[str, Any]]:
        """The limits in this service's units (``time_ms``, …; None: the default), and as the
        record shows them (Judge0's units, the value in effect). Raises Judge0Error (422)."""
        settings = self.service.settings
        max_time_s = settings.limit_maximum("time_ms") / 1000
        max_wall_s = settings.limit_maximum("wall_time_ms") / 1000
        max_memory_kb = largest_memory_mb(self.service) * 1024
        max_processes = settings.limit_maximum("processes")
        max_file_kb = settings.limit_maximum("file_size_kb")
        _check("cpu_time_limit", body.cpu_time_limit, 0, max_time_s)
        _check("cpu_extra_time", body.cpu_extra_time, 0, MAX_CPU_EXTRA_TIME_S)
        _check("wall_time_limit", body.wall_time_limit, 1, max_wall_s)
        _check("memory_limit", body.memory_limit, 2048, max_memory_kb)
        _check("stack_limit", body.stack_limit, 0, MAX_STACK_LIMIT_KB)
        _check("max_processes_and_or_threads", body.max_processes_and_or_threads, 1, max_processes)
        _check("max_file_size", body.max_file_size, 0, max_file_kb)
        _check("number_of_runs", body.number_of_runs, 1, 1)

        # 0 is "no limit" in Judge0 (isolate): the largest here.
        def ms(seconds: float | None, maximum_s: float) -> int | None:
            if seconds is None:
                return None
            return max(1, round((seconds or maximum_s) * 1000))

        time_ms = ms(body.cpu_time_limit, max_time_s)
        wall_time_ms = ms(body.wall_time_limit, max_wall_s)
        memory_mb = (
            None if body.memory_limit is None else max(1, math.ceil(body.memory_limit / 1024))
        )
        run_limits = {
            "time_ms": time_ms,
            "wall_time_ms": wall_time_ms,
            "memory_mb": memory_mb,
            "processes": body.max_processes_and_or_threads,
            "file_size_kb": body.max_file_size,
        }
        return run_limits, {
            "cpu_time_limit": _seconds(time_ms or settings.limit_default("time_ms")),
            "wall_time_limit": _seconds(wall_time_ms or settings.limit_default("wall_time_ms")),
            "memory_limit": (memory_mb or settings.limit_default("memory_mb")) * 1024,
            "max_processes_and_or_threads": body.max_processes_and_or_threads
            or settings.limit_default("processes"),
            "max_file_size": body.max_file_size
            if body.max_file_size is not None
            else settings.limit_default("file_size_kb"),
        }

    def _record(
        self, body: Judge0Submission, language: Judge0Language, limits: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "token": str(uuid.uuid4()),
            "source_code": body.source_code,
            "language_id": language.language_id,
            "language": {"id": language.language_id, "name": language.name},
            "stdin": body.stdin,
            "expected_output": body.expected_output,
            **_status_fields(Judge0Status.IN_QUEUE),
            "created_at": _now(),
            "finished_at": None,
            "time": None,
            "wall_time": None,
            "memory": None,
            "stdout": None,
            "stderr": None,
            "compile_output": None,
            "exit_code": None,
            "exit_signal": None,
            "message": None,
            "number_of_runs": 1,
            "cpu_time_limit": limits["cpu_time_limit"],
            "cpu_extra_time": _seconds(round((body.cpu_extra_time or 0) * 1000)),
            "wall_time_limit": limits["wall_time_limit"],
            "memory_limit": limits["memory_limit"],
            "stack_limit": body.stack_limit if body.stack_limit is not None else STACK_LIMIT_KB,
            "max_processes_and_or_threads": limits["max_processes_and_or_threads"],
            "enable_per_process_and_thread_time_limit": False,
            "enable_per_process_and_thread_memory_limit": False,
            "max_file_size": limits["max_file_size"],
            "compiler_options": None,
            "command_line_arguments": body.command_line_arguments,
            "redirect_stderr_to_stdout": False,
            "callback_url": None,
            "additional_files": None,
            "enable_network": False,
        }


def submissions_of(request: Request) -> Judge0Submissions:
    """This replica's Judge0 state, made on the API's first request (``app.state.judge0``);
    the app's shutdown closes it (``app.state.closers``)."""
    state = request.app.state
    kept: Judge0Submissions | None = getattr(state, "judge0", None)
    if kept is None:
        kept = state.judge0 = Judge0Submissions(state.service)
        state.closers.append(kept.close)
    return kept


def render(
    record: Mapping[str, Any], *, fields: tuple[str, ...], base64_encoded: bool
) -> dict[str, Any]:
    """The record as Judge0 answers it: ``fields`` only; the text fields base64-encoded (UTF-8)
    with ``base64_encoded``."""
    answer = {}
    for name in fields:
        value = record.get(name)
        if base64_encoded and name in ENCODED_FIELDS and isinstance(value, str):
            value = base64.b64encode(value.encode()).decode()
        answer[name] = value
    return answer


def requested_fields(query: Mapping[str, str], *, default: tuple[str, ...]) -> tuple[str, ...]:
    """The ``fields`` query parameter: a comma-separated list, ``*`` for every field, or
    ``default`` when absent. Raises Judge0Error (400) naming unknown fields."""
    raw = query.get("fields")
    if raw is None or not raw.strip():
        return default
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if "*" in names:
        return ALL_FIELDS
    invalid = [n for n in names if n not in ALL_FIELDS]
    if invalid:
        raise Judge0Error({"error": f"invalid fields: [{', '.join(invalid)}]"}, http_status=400)
    return tuple(names)


def unprocessable(exc: ValidationError) -> Judge0Error:
    """Judge0's 422: each field's messages under its dotted path."""
    problems: dict[str, Any] = {}
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "base"
        problems.setdefault(where, []).append(error["msg"])
    return Judge0Error(problems, http_status=422)


def decode_submission(raw: object, *, base64_encoded: bool) -> Judge0Submission:
    """A submission from its JSON object, its text fields decoded from base64 when
    ``base64_encoded``. Raises Judge0Error (422)."""
    try:
        body = Judge0Submission.model_validate(raw)
    except ValidationError as exc:
        raise unprocessable(exc) from None
    if not base64_encoded:
        return body
    decoded = {}
    for name in ("source_code", "stdin", "expected_output"):
        value = getattr(body, name)
        if value is None:
            continue
        try:
            decoded[name] = base64.b64decode(value.encode()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Judge0Error.invalid(name, "is not base64 of UTF-8 text") from None
    return body.model_copy(update=decoded)


async def create_submission(request: Request) -> JSONResponse:
    """``POST /submissions``: 201 with the token (``?wait=true``: the finished submission)."""
    judge0 = submissions_of(request)
    try:
        fields = requested_fields(request.query_params, default=DEFAULT_FIELDS)
        encoded = _base64_encoded(request)
        raw = _json_object(await request_body(request))
        body = decode_submission(raw, base64_encoded=encoded)
        wait = request.query_params.get("wait") == "true"
        record = await judge0.create(body, wait=wait)
    except Judge0Error as exc:
        return JSONResponse(exc.body, status_code=exc.http_status)
    except ExecutorError as exc:
        return _executor_error(exc)
    if not wait:
        return JSONResponse({"token": record["token"]}, status_code=201)
    return JSONResponse(render(record, fields=fields, base64_encoded=encoded), status_code=201)


async def get_submission(request: Request) -> JSONResponse:
    """``GET /submissions/{token}``: the submission's ``fields``; 404 when unknown or expired."""
    judge0 = submissions_of(request)
    token = request.path_params["token"]
    try:
        fields = requested_fields(request.query_params, default=DEFAULT_FIELDS)
    except Judge0Error as exc:
        return JSONResponse(exc.body, status_code=exc.http_status)
    record = judge0.store.get(token)
    if record is None:
        return JSONResponse({"error": "Not Found"}, status_code=404)
    return JSONResponse(render(record, fields=fields, base64_encoded=_base64_encoded(request)))


async def create_batch(request: Request) -> JSONResponse:
    """``POST /submissions/batch``: each submission queued; 201 with a token or the errors of
    each, in order (422 when none is valid)."""
    judge0 = submissions_of(request)
    try:
        encoded = _base64_encoded(request)
        batch = Judge0Batch.model_validate(_json_object(await request_body(request)))
        _batch_size(len(batch.submissions))
    except Judge0Error as exc:
        return JSONResponse(exc.body, status_code=exc.http_status)
    except ValidationError:
        return JSONResponse({"error": "submissions must be a list of objects"}, status_code=400)
    except ExecutorError as exc:
        return _executor_error(exc)
    answers: list[dict[str, Any]] = []
    for raw in batch.submissions:
        try:
            body = decode_submission(raw, base64_encoded=encoded)
            record = await judge0.create(body, wait=False)
        except Judge0Error as exc:
            answers.append(exc.body)
        else:
            answers.append({"token": record["token"]})
    valid = any("token" in answer for answer in answers)
    return JSONResponse(answers, status_code=201 if valid else 422)


async def get_batch(request: Request) -> JSONResponse:
    """``GET /submissions/batch?tokens=a,b``: ``{"submissions": [...]}``, null for a token
    unknown or expired."""
    judge0 = submissions_of(request)
    raw = request.headers.get("tokens") or request.query_params.get("tokens") or ""
    tokens = [t for t in raw.strip().split(",") if t]
    try:
        _batch_size(len(tokens))
        fields = requested_fields(request.query_params, default=DEFAULT_FIELDS)
    except Judge0Error as exc:
        return JSONResponse(exc.body, status_code=exc.http_status)
    encoded = _base64_encoded(request)
    submissions = []
    for token in tokens:
        record = judge0.store.get(token)
        submissions.append(
            None if record is None else render(record, fields=fields, base64_encoded=encoded)
        )
    return JSONResponse({"submissions": submissions})


async def languages(request: Request) -> JSONResponse:
    """``GET /languages``: the id and name of each language offered here."""
    service: ExecutionService = request.app.state.service
    listed = [listed_language(r) for r in service.runtimes.registry.runtimes]
    return JSONResponse(
        [{"id": entry.language_id, "name": entry.name} for entry in listed if entry is not None]
    )


async def language(request: Request) -> JSONResponse:
    """``GET /languages/{id}``: one language (any Judge0 CE id of a language offered here)."""
    service: ExecutionService = request.app.state.service
    try:
        language_id = int(request.path_params["language_id"])
    except ValueError:
        return JSONResponse({"error": "Not Found"}, status_code=404)
    found = language_for_id(service.runtimes.registry.runtimes, language_id)
    if found is None:
        return JSONResponse({"error": "Not Found"}, status_code=404)
    plan = found.runtime.plan
    return JSONResponse(
        {
            "id": found.language_id,
            "name": found.name,
            "is_archived": False,
            "source_file": plan.default_main,
            # This service's commands are not shell lines: nothing to show in Judge0's form.
            "compile_cmd": None,
            "run_cmd": None,
        }
    )


async def statuses(request: Request) -> JSONResponse:
    """``GET /statuses``: Judge0's statuses, ids and descriptions."""
    return JSONResponse([{"id": int(s), "description": d} for s, d in DESCRIPTIONS.items()])


async def about(request: Request) -> JSONResponse:
    """``GET /about``: the Judge0 version whose language ids /languages uses."""
    return JSONResponse(
        {
            "version": JUDGE0_VERSION,
            "homepage": None,
            "source_code": None,
            "maintainer": f"executor {__version__} (Judge0 CE compatible API)",
        }
    )


async def config_info(request: Request) -> JSONResponse:
    """``GET /config_info``: Judge0's configuration keys, with this service's values."""
    service: ExecutionService = request.app.state.service
    return JSONResponse(config_of(service))


async def system_info(request: Request) -> JSONResponse:
    """``GET /system_info``: the replica's CPUs and memory, in the lscpu-like keys Judge0
    uses."""
    return JSONResponse(
        {
            "Architecture": platform.machine(),
            "CPU(s)": str(os.cpu_count()),
            "CPU(s) available": f"{available_cpus():g}",
            "Mem": f"{available_memory_mb()} MB",
        }
    )


def config_of(service: ExecutionService) -> dict[str, Any]:
    """Every key of Judge0's /config_info (the judge0 SDK requires them all), valued from
    this service's settings: its defaults and maxima in Judge0's units, and false for each
    option this service does not offer."""
    s = service.settings
    return {
        "maintenance_mode": False,
        "enable_wait_result": True,
        "enable_compiler_options": False,
        "allowed_languages_for_compile_options": [],
        "enable_command_line_arguments": True,
        "enable_submission_delete": False,
        "enable_callbacks": False,
        "callbacks_max_tries": 0,
        "callbacks_timeout": 0.0,
        "enable_additional_files": False,
        "max_queue_size": service.admission.queue_size,
        "cpu_time_limit": s.limit_default("time_ms") / 1000,
        "max_cpu_time_limit": s.limit_maximum("time_ms") / 1000,
        "cpu_extra_time": 0.0,
        "max_cpu_extra_time": MAX_CPU_EXTRA_TIME_S,
        "wall_time_limit": s.limit_default("wall_time_ms") / 1000,
        "max_wall_time_limit": s.limit_maximum("wall_time_ms") / 1000,
        "memory_limit": s.limit_default("memory_mb") * 1024,
        "max_memory_limit": largest_memory_mb(service) * 1024,
        "stack_limit": STACK_LIMIT_KB,
        "max_stack_limit": MAX_STACK_LIMIT_KB,
        "max_processes_and_or_threads": s.limit_default("processes"),
        "max_max_processes_and_or_threads": s.limit_maximum("processes"),
        "enable_per_process_and_thread_time_limit": False,
        "allow_enable_per_process_and_thread_time_limit": False,
        "enable_per_process_and_thread_memory_limit": False,
        "allow_enable_per_process_and_thread_memory_limit": False,
        "max_file_size": s.limit_default("file_size_kb"),
        "max_max_file_size": s.limit_maximum("file_size_kb"),
        "number_of_runs": 1,
        "max_number_of_runs": 1,
        "redirect_stderr_to_stdout": False,
        "max_extract_size": 0,
        "enable_batched_submissions": True,
        "max_submission_batch_size": MAX_BATCH_SIZE,
        "submission_cache_duration": 0.0,
        "use_docs_as_homepage": False,
        "allow_enable_network": False,
        "enable_network": False,
        "disable_implicit_base64_encoding": True,
    }


def _result(response: ExecuteResponse) -> dict[str, Any]:
    """The record's result fields from this service's answer."""
    status = status_of(response)
    compile_output = None
    if response.compile is not None:
        compile_output = (response.compile.stdout + response.compile.stderr) or None
    fields: dict[str, Any] = {
        **_status_fields(status),
        "finished_at": _now(),
        "compile_output": compile_output,
        "message": run_message(response),
    }
    if status is Judge0Status.COMPILATION_ERROR:
        # Judge0 clears the run's fields when the compile failed; the compiler's words are in
        # compile_output (this service's "see compile" names a field Judge0 does not have).
        fields.update(
            time=None, wall_time=None, memory=None, stdout=None, stderr=None, exit_code=None,
            exit_signal=None, message=None,
        )  # fmt: skip
        return fields
    killed = response.status in LIMIT_STATUSES
    fields.update(
        time=_seconds(response.time_ms),
        wall_time=_seconds(response.wall_time_ms),
        memory=response.memory_kb,
        stdout=response.stdout or None,
        stderr=response.stderr or None,
        exit_code=response.exit_code,
        # isolate kills a program at a limit with SIGKILL.
        exit_signal=9 if killed else signal_number(response.signal),
    )
    return fields


def _status_fields(status: Judge0Status) -> dict[str, Any]:
    return {
        "status_id": int(status),
        "status": {"id": int(status), "description": DESCRIPTIONS[status]},
    }


def _refuse_options(body: Judge0Submission) -> None:
    """Judge0's own refusals for the options this service does not offer (its /config_info
    says so): compiler options, callbacks, additional files, network, per-process limits and
    stderr redirected into stdout."""
    if body.compiler_options and body.compiler_options.strip():
        raise Judge0Error.invalid("compiler_options", "setting compiler options is not allowed")
    if body.callback_url and body.callback_url.strip():
        raise Judge0Error.invalid("callback_url", "setting callback is not allowed")
    if body.additional_files:
        raise Judge0Error.invalid("additional_files", "setting additional files is not allowed")
    if body.enable_network:
        raise Judge0Error.invalid("enable_network", "enabling network is not allowed")
    for name in (
        "enable_per_process_and_thread_time_limit",
        "enable_per_process_and_thread_memory_limit",
        "redirect_stderr_to_stdout",
    ):
        if getattr(body, name):
            raise Judge0Error.invalid(name, "this option cannot be enabled")


def _arguments(line: str | None) -> list[str]:
    """The program's arguments from Judge0's ``command_line_arguments``: split as bash splits
    the line Judge0 writes into its run script, after removing what Judge0 removes
    (``$&;<>|```)."""
    if not line:
        return []
    if len(line) > MAX_ARGUMENTS_CHARS:
        raise Judge0Error.invalid(
            "command_line_arguments", f"is too long (maximum is {MAX_ARGUMENTS_CHARS} characters)"
        )
    cleaned = line.strip().translate({ord(c): None for c in "$&;<>|`"})
    try:
        return shlex.split(cleaned)
    except ValueError as exc:
        raise Judge0Error.invalid("command_line_arguments", str(exc)) from None


def _check(name: str, value: float | None, minimum: float, maximum: float) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < minimum:
        raise Judge0Error.invalid(name, f"must be greater than or equal to {minimum}")
    if value > maximum:
        raise Judge0Error.invalid(name, f"must be less than or equal to {maximum}")


def _batch_size(count: int) -> None:
    if count > MAX_BATCH_SIZE:
        raise Judge0Error(
            {
                "error": "number of submissions in a batch should be less than or equal to "
                f"{MAX_BATCH_SIZE}"
            },
            http_status=400,
        )
    if count == 0:
        raise Judge0Error(
            {"error": "there should be at least one submission in a batch"}, http_status=400
        )


def _json_object(body: bytes) -> object:
    """The body's JSON object. Raises Judge0Error (400) for bad JSON, or (422) another value."""
    try:
        value = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise Judge0Error({"error": "request body is not valid JSON"}, http_status=400) from None
    if not isinstance(value, dict):
        raise Judge0Error({"error": "request body must be a JSON object"}, http_status=422)
    return value


def _base64_encoded(request: Request) -> bool:
    return request.query_params.get("base64_encoded") == "true"


def _seconds(ms: int) -> str:
    """Judge0's decimal seconds, as its JSON gives them: a string."""
    return f"{ms / 1000:.3f}"


def _now() -> str:
    """Now in Judge0's format (UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _executor_error(exc: ExecutorError) -> JSONResponse:
    if isinstance(exc, ServiceBusy):
        # Judge0 answers a full queue with 503.
        return JSONResponse(
            {"error": "queue is full"},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    if isinstance(exc, ServiceUnavailable):
        return JSONResponse({"error": exc.message}, status_code=503)
    if isinstance(exc, BodyTooLarge):
        return JSONResponse({"error": exc.message}, status_code=413)
    return JSONResponse({"error": exc.message}, status_code=exc.http_status)
