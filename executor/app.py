"""create_app(settings): routes, lifespan (isolation probe, self-tests), errors → HTTP."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from executor.api import ROUTES
from executor.compat import judge0, piston
from executor.errors import ExecutorError
from executor.service import ExecutionService
from executor.settings import Settings

log = logging.getLogger("executor")


def create_app(settings: Settings) -> Starlette:
    """The ASGI app. Startup opens the sandbox (failing in strict mode when the uid drop or
    seccomp is missing), then discovers and self-tests the runtimes in the background: /healthz
    answers at once, /readyz turns 200 when the self-tests are done."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = await ExecutionService.open(settings)
        app.state.service = service
        # The Judge0 API's submissions kept for polling, and its background runs.
        app.state.judge0 = judge0.Judge0Submissions(service)
        discovery = asyncio.create_task(service.discover())
        try:
            yield
        finally:
            discovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await discovery
            await app.state.judge0.close()
            await service.shutdown()

    return Starlette(
        # The peers' APIs (executor/compat/) beside this service's own, on the same port.
        routes=[*ROUTES, *piston.ROUTES, *judge0.ROUTES],
        lifespan=lifespan,
        exception_handlers={
            ExecutorError: _executor_error,
            ValidationError: _validation_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )


def _error_body(code: str, message: str, **context: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **context}}


async def _executor_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ExecutorError):  # registered for ExecutorError only
        return await _unexpected_error(request, exc)
    headers = {}
    if exc.http_status == 429:
        headers["Retry-After"] = str(exc.context.get("retry_after_s", 1))
    return JSONResponse(
        _error_body(exc.code, exc.message, **exc.context),
        status_code=exc.http_status,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ValidationError):  # registered for ValidationError only
        return await _unexpected_error(request, exc)
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        detail = errors[0]["msg"]
        return JSONResponse(
            _error_body("invalid_json", f"request body is not valid JSON: {detail}"),
            status_code=400,
        )
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
        for e in errors
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(_error_body("invalid_request", summary, problems=problems), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        return await _unexpected_error(request, exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        _error_body(code, f"{exc.detail}: {request.method} {request.url.path}"),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        _error_body("internal_error", "the service failed unexpectedly; it has been logged"),
        status_code=500,
    )
