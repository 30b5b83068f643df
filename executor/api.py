"""HTTP endpoints: /execute /runtimes /healthz /readyz /info /metrics /openapi.json. JSON in,
JSON out."""

import asyncio
import contextlib
import hashlib
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from executor import __version__
from executor.errors import BodyTooLarge, InvalidSubmission, UnsupportedMediaType
from executor.idempotency import IdempotencyStore, StoredAnswer
from executor.judging.models import JUDGING_BOUNDS
from executor.limits import LIMIT_NAMES
from executor.metrics import CONTENT_TYPE, Metrics
from executor.models import MAX_SUBMISSION_ID_CHARS, ExecuteRequest, ExecuteResponse
from executor.openapi import openapi_document
from executor.request_log import CLIENT_CLOSED_REQUEST
from executor.responses import JSONAnswer, encode_json
from executor.service import ExecutionService, Progress

IDEMPOTENCY_HEADER = "idempotency-key"
# A body over the maximum is still read, up to this many times the maximum, and thrown away
# before the 413 is sent: a client that sends its whole body before reading (Python's urllib,
# requests) would otherwise meet a reset connection instead of the answer (nginx's lingering
# close does the same). Past it, or after LINGER_TIMEOUT_S, the connection is closed.
LINGER_FACTOR = 4
LINGER_TIMEOUT_S = 10.0
# The same rule as ExecuteRequest.submission_id.
_USABLE_KEY = re.compile(rf"[!-~]{{1,{MAX_SUBMISSION_ID_CHARS}}}")


class _ClientGone(Exception):
    """The client closed its connection before its answer was ready."""


async def execute(request: Request) -> Response:
    """Run a submission; 200 with its status, or a JSON error (see errors.py). A repeat of a
    submission id gets the first answer (``Idempotent-Replayed: true``)."""
    service: ExecutionService = request.app.state.service
    store: IdempotencyStore = request.app.state.idempotency
    _require_json(request)
    body = await read_body(request, limit_bytes=service.settings.max_body_kb * 1024)
    submission = ExecuteRequest.model_validate_json(
        body, context={JUDGING_BOUNDS: service.settings.judging_bounds()}
    )
    request.state.language = submission.language
    progress = Progress()

    async def produce() -> StoredAnswer:
        result = await _run_unless_client_leaves(request, service, submission, progress)
        return StoredAnswer(body=encode_json(result), verdict=result.status.value)

    key = _idempotency_key(request, submission)
    try:
        if key is None:
            answer, replayed = await produce(), False
        else:
            fingerprint = hashlib.sha256(
                submission.model_dump_json(exclude={"submission_id"}).encode()
            ).hexdigest()
            answer, replayed = await store.answer(key, fingerprint=fingerprint, produce=produce)
    except _ClientGone:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    finally:
        if progress.queue_wait_s is not None:
            request.state.queue_wait_ms = round(progress.queue_wait_s * 1000, 1)
    request.state.verdict = answer.verdict
    headers = {}
    if replayed:
        request.state.replayed = True
        metrics: Metrics = request.app.state.metrics
        metrics.replays.inc()
        headers["Idempotent-Replayed"] = "true"
    return Response(answer.body, media_type="application/json", headers=headers)


async def runtimes(request: Request) -> Response:
    """The runtimes offered here: language, version, aliases."""
    service: ExecutionService = request.app.state.service
    return JSONAnswer([r.model_dump() for r in service.runtime_infos()])


async def healthz(request: Request) -> Response:
    """Alive: the process answers. Says nothing about runtimes (see /readyz)."""
    return JSONAnswer({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 once the runtimes passed their self-tests and until SIGTERM, else 503 with the state
    (``starting``, ``draining``, or ``unhealthy`` with the reason); with the load (``running``,
    ``queued``) either way."""
    service: ExecutionService = request.app.state.service
    problem = service.sandbox.problem()
    load = service.load()
    if service.ready and not service.draining and problem is None:
        return JSONAnswer({"status": "ready", **load})
    if service.draining:
        return JSONAnswer({"status": "draining", **load}, status_code=503)
    if problem is not None:
        return JSONAnswer({"status": "unhealthy", "reason": problem, **load}, status_code=503)
    return JSONAnswer({"status": "starting", **load}, status_code=503)


async def info(request: Request) -> Response:
    """Which isolation layers are active and why a missing one is missing; limits; load;
    whether API keys are required."""
    service: ExecutionService = request.app.state.service
    s = service.settings
    keys_required = request.app.state.api_keys.enabled
    body = {
        "version": __version__,
        "isolation": service.sandbox.describe(),
        "limits": {
            name: {"default": s.limit_default(name), "max": s.limit_maximum(name)}
            for name in LIMIT_NAMES
        },
        "warm_compilers": {
            language: {
                "ready": server.ready,
                "starts": server.starts,
                "compiles": server.compiles,
                "warm_ups_left": server.warm_ups_left,
            }
            for language, server in service.warm_servers.items()
        },
        "prewarm": {
            "enabled": s.prewarm,
            "zygotes": {
                language: {"alive": zygote.alive, "pid": zygote.pid, "starts": zygote.starts}
                for language, zygote in service.zygotes.items()
            },
            "runners": service.runners.describe() if service.runners is not None else [],
            # Languages whose runs start cold for want of runners, and why.
            "unavailable": service.runners.problems() if service.runners is not None else {},
        },
        "load": service.load(),
        "running": service.load()["running"],
        "queued": service.load()["queued"],
        "draining": service.draining,
        "auth": {
            "api_keys_required": keys_required,
            "warning": None
            if keys_required
            else "no API keys are set (EXECUTOR_API_KEYS): anyone who reaches the service "
            "may use it",
        },
        "idempotency": {"ttl_s": s.idempotency_ttl_s, "kept": len(request.app.state.idempotency)},
        "runtimes": [r.model_dump() for r in service.runtime_infos()],
    }
    return JSONAnswer(body)


async def metrics(request: Request) -> Response:
    """The service's metrics in Prometheus' text format."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    """The OpenAPI document of this API, generated from its models."""
    return JSONAnswer(openapi_document(version=__version__))


ROUTES = [
    Route("/execute", execute, methods=["POST"]),
    Route("/runtimes", runtimes, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/info", info, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


async def _run_unless_client_leaves(
    request: Request,
    service: ExecutionService,
    submission: ExecuteRequest,
    progress: Progress,
) -> ExecuteResponse:
    """The service's answer, or _ClientGone as soon as the client closes its connection:
    the submission then leaves the queue, or its processes are killed (the sandbox kills and
    reaps on cancellation; its box is cleaned up in the background)."""
    run = asyncio.create_task(service.execute(submission, progress=progress))
    gone = asyncio.create_task(_disconnected(request))
    try:
        await asyncio.wait((run, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not run.done():
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
    if run.cancelled():
        stage = "running" if progress.queue_wait_s is not None else "queued"
        request.state.disconnected = stage
        metrics: Metrics = request.app.state.metrics
        metrics.disconnects.labels(stage).inc()
        raise _ClientGone()
    return run.result()


async def _disconnected(request: Request) -> None:
    """Return when the client has closed its connection (the body is read by then: the next
    ASGI message can only be the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _idempotency_key(request: Request, submission: ExecuteRequest) -> str | None:
    """The submission's id from the body or the Idempotency-Key header (both must agree), kept
    apart per API key; None when it has none. Raises InvalidSubmission (422) for a bad header
    or one that differs from the body's id."""
    header = request.headers.get(IDEMPOTENCY_HEADER)
    if header is not None and not _USABLE_KEY.fullmatch(header):
        raise InvalidSubmission(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces"
        )
    body_id = submission.submission_id
    if header is not None and body_id is not None and header != body_id:
        raise InvalidSubmission("submission_id and the Idempotency-Key header differ")
    key = body_id if body_id is not None else header
    if key is None:
        return None
    principal = getattr(request.state, "principal", "")
    return f"{principal}:{key}"


def _require_json(request: Request) -> None:
    # A missing Content-Type is accepted (JSON is the only thing we take); another one is a 415.
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {content_type!r}")


async def read_body(request: Request, *, limit_bytes: int) -> bytes:
    """The body, refused with 413 once it passes ``limit_bytes``; the rest is read and thrown
    away first, up to LINGER_FACTOR times the limit, so that the client can read the answer."""
    too_large = BodyTooLarge(
        f"request body is larger than the maximum {limit_bytes // 1024} KB",
        maximum_kb=limit_bytes // 1024,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        if int(declared) <= LINGER_FACTOR * limit_bytes:
            await _discard_body(request, limit_bytes=LINGER_FACTOR * limit_bytes)
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            await _discard_body(request, limit_bytes=LINGER_FACTOR * limit_bytes - size)
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _discard_body(request: Request, *, limit_bytes: int) -> None:
    """Read and drop the rest of the body, at most ``limit_bytes`` of it and for at most
    LINGER_TIMEOUT_S."""
    left = limit_bytes
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_TIMEOUT_S):
            while left > 0:
                message = await request.receive()
                if message["type"] != "http.request":
                    return
                left -= len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
