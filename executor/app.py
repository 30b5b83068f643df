"""create_app(settings): routes, middleware, lifespan (isolation probe, self-tests), the drain
on SIGTERM, errors → HTTP."""

import asyncio
import contextlib
import functools
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from executor.answers import ABORT_KEY, AnswerBudget, AnswerSender
from executor.api import ROUTES
from executor.auth import ApiKeyMiddleware, ApiKeys
from executor.compat.routes import ROUTES as PEER_ROUTES
from executor.errors import ExecutorError
from executor.idempotency import IdempotencyStore
from executor.metrics import Metrics, ServiceState
from executor.request_log import RequestLog
from executor.responses import error_answer, error_response
from executor.service import ExecutionService
from executor.settings import Settings

log = logging.getLogger("executor")


class ExecutorApp(Starlette):
    """The Starlette app, which also hands each request the means to drop its connection
    (``scope["executor.abort"]``; see answers.py). ASGI has no way to drop a connection, and
    closing one waits until the client took what is buffered, which a client that does not
    read never does. Uvicorn's ``send`` is a method of the request's cycle, which holds the
    connection's transport: the drop resets the connection (SO_LINGER 0: the kernel discards
    what it holds for the client at once) and aborts the transport. Under another server the
    key is absent and a stalled answer ends the request with an error instead."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            # uvloop's transports do not derive from asyncio's: look for the two methods.
            if callable(getattr(transport, "abort", None)) and callable(
                getattr(transport, "get_extra_info", None)
            ):
                scope[ABORT_KEY] = functools.partial(_reset, transport)
        await super().__call__(scope, receive, send)


def _reset(transport: Any) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def create_app(settings: Settings) -> ExecutorApp:
    """The ASGI app. Startup opens the sandbox (failing in strict mode when the uid drop or
    seccomp is missing) and cleans what a dead service left, then discovers and self-tests the
    runtimes in the background: /healthz answers at once, /readyz turns 200 when the
    self-tests are done. ``app.state.drain`` is what the server awaits on SIGTERM before it
    stops (see server.py)."""
    keys = ApiKeys(settings.api_key_list())
    budget = AnswerBudget(max_bytes=settings.max_answers_in_flight_mb * 1024 * 1024)
    store = IdempotencyStore(
        ttl_s=settings.idempotency_ttl_s,
        max_entries=settings.idempotency_max_entries,
        max_bytes=settings.idempotency_max_mb * 1024 * 1024,
    )
    services: list[ExecutionService] = []  # the one service, once the lifespan opened it

    def read_state() -> ServiceState:
        service = services[0] if services else None
        load = service.load() if service is not None else {}
        return ServiceState(
            running=load.get("running", 0),
            queued=load.get("queued", 0),
            cleaning=load.get("cleaning", 0),
            warm_starts=(
                {lang: s.starts for lang, s in service.warm_servers.items()} if service else {}
            ),
            prewarm_restarts=service.prewarm_restarts() if service is not None else {},
            retired_uids=(
                len(service.sandbox.pool.retired)
                if service is not None and service.sandbox.pool is not None
                else 0
            ),
            draining=service.draining if service is not None else False,
            answers_in_flight_bytes=budget.held_bytes,
            idempotency_kept=len(store),
            idempotency_kept_bytes=store.held_bytes,
        )

    metrics = Metrics(read_state=read_state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = await ExecutionService.open(settings, metrics=metrics)
        services.append(service)
        app.state.service = service
        if keys.enabled:
            log.info(
                "API keys: %d set; every endpoint but /healthz and /readyz needs one",
                len(settings.api_key_list()),
            )
        else:
            log.warning(
                "API keys: none set (EXECUTOR_API_KEYS): the service is OPEN to anyone "
                "who reaches it"
            )
        discovery = asyncio.create_task(service.discover())
        try:
            yield
        finally:
            discovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await discovery
            # What parts made on first use (the Judge0 API's background runs) end first.
            for close in app.state.closers:
                await close()
            await service.shutdown()

    async def drain() -> None:
        """Drain the service (if it started): the runs still in flight at the deadline are
        stopped, leaving time for their answers and the shutdown."""
        if services:
            deadline = time.monotonic() + settings.drain_run_s()
            await services[0].drain(deadline=deadline)

    app = ExecutorApp(
        # The peers' APIs (executor/compat/) beside this service's own, on the same port.
        routes=[*ROUTES, *PEER_ROUTES],
        lifespan=lifespan,
        middleware=[
            Middleware(RequestLog, metrics=metrics),
            Middleware(
                AnswerSender,
                budget=budget,
                send_timeout_s=settings.send_timeout_s,
                on_drop=metrics.slow_readers.inc,
            ),
            Middleware(ApiKeyMiddleware, keys=keys, on_failure=metrics.auth_failures.inc),
        ],
        exception_handlers={
            ExecutorError: _executor_error,
            ValidationError: _validation_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.settings = settings
    closers: list[Callable[[], Awaitable[None]]] = []
    app.state.closers = closers
    app.state.metrics = metrics
    app.state.idempotency = store
    app.state.api_keys = keys
    drain_hook: Callable[[], Awaitable[None]] = drain
    app.state.drain = drain_hook
    return app


async def _executor_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ExecutorError):  # registered for ExecutorError only
        return await _unexpected_error(request, exc)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ValidationError):  # registered for ValidationError only
        return await _unexpected_error(request, exc)
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        detail = errors[0]["msg"]
        return error_answer("invalid_json", f"request body is not valid JSON: {detail}", 400)
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
        for e in errors
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return error_answer("invalid_request", summary, 422, problems=problems)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        return await _unexpected_error(request, exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_answer(
        code,
        f"{exc.detail}: {request.method} {request.url.path}",
        exc.status_code,
        headers=exc.headers,
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_answer(
        "internal_error", "the service failed unexpectedly; it has been logged", 500
    )
