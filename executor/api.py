"""HTTP endpoints: /execute /runtimes /healthz /readyz /info. JSON in, JSON out."""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from executor import __version__
from executor.errors import BodyTooLarge, UnsupportedMediaType
from executor.judging.models import JUDGING_BOUNDS
from executor.limits import LIMIT_NAMES
from executor.models import ExecuteRequest
from executor.service import ExecutionService


async def execute(request: Request) -> JSONResponse:
    """Run a submission; 200 with its status, or a JSON error (see errors.py)."""
    service: ExecutionService = request.app.state.service
    _require_json(request)
    body = await _read_body(request, limit_bytes=service.settings.max_body_kb * 1024)
    submission = ExecuteRequest.model_validate_json(
        body, context={JUDGING_BOUNDS: service.settings.judging_bounds()}
    )
    result = await service.execute(submission)
    return JSONResponse(result.model_dump(mode="json"))


async def runtimes(request: Request) -> JSONResponse:
    """The runtimes offered here: language, version, aliases."""
    service: ExecutionService = request.app.state.service
    return JSONResponse([r.model_dump() for r in service.runtime_infos()])


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. Says nothing about runtimes (see /readyz)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 once the runtimes passed their self-tests and until shutdown begins, else 503 with
    the state (``starting``, ``draining``, or ``unhealthy`` with the reason)."""
    service: ExecutionService = request.app.state.service
    problem = service.sandbox.problem()
    if service.ready and not service.draining and problem is None:
        return JSONResponse({"status": "ready", **service.load()})
    if service.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    if problem is not None:
        return JSONResponse({"status": "unhealthy", "reason": problem}, status_code=503)
    return JSONResponse({"status": "starting"}, status_code=503)


async def info(request: Request) -> JSONResponse:
    """Which isolation layers are active and why a missing one is missing; limits; load."""
    service: ExecutionService = request.app.state.service
    s = service.settings
    body = {
        "version": __version__,
        "isolation": service.sandbox.describe(),
        "limits": {
            name: {"default": s.limit_default(name), "max": s.limit_maximum(name)}
            for name in LIMIT_NAMES
        },
        "warm_compilers": {
            language: {"ready": server.ready, "starts": server.starts}
            for language, server in service.warm_servers.items()
        },
        "prewarm": {
            "enabled": s.prewarm,
            "zygotes": {
                language: {"alive": zygote.alive, "pid": zygote.pid, "starts": zygote.starts}
                for language, zygote in service.zygotes.items()
            },
            "runners": service.runners.describe() if service.runners is not None else [],
        },
        "load": service.load(),
        "runtimes": [r.model_dump() for r in service.runtime_infos()],
    }
    return JSONResponse(body)


ROUTES = [
    Route("/execute", execute, methods=["POST"]),
    Route("/runtimes", runtimes, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/info", info, methods=["GET"]),
]


def _require_json(request: Request) -> None:
    # A missing Content-Type is accepted (JSON is the only thing we take); another one is a 415.
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {content_type!r}")


async def _read_body(request: Request, *, limit_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit_bytes`` (not after reading it)."""
    too_large = BodyTooLarge(
        f"request body is larger than the maximum {limit_bytes // 1024} KB",
        maximum_kb=limit_bytes // 1024,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
