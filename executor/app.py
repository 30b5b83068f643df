"""create_app(settings): routes, lifespan (isolation probe, self-tests), errors → HTTP."""

import asyncio
import contextlib
import ctypes
import logging
import subprocess
from collections.abc import AsyncIterator

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from executor.api import ROUTES
from executor.errors import ExecutorError
from executor.sandbox.identity import IdentityPool, RunIdentity, random_uid_base
from executor.sandbox.launch import Launcher
from executor.sandbox.layers import IsolationMode, build_seccomp, detect_isolation
from executor.sandbox.seccomp import SeccompFilter
from executor.sandbox.spawner import HelperUnavailable, SpawnHelper, load_helper
from executor.sandbox.workdir import prepare_parent
from executor.service import Executor
from executor.settings import Settings

log = logging.getLogger("executor")

PR_SET_CHILD_SUBREAPER = 36


def create_app(settings: Settings) -> Starlette:
    """The ASGI app. Startup probes the isolation layers (failing in strict mode when the uid
    drop or seccomp is missing), then self-tests the runtimes in the background: /healthz
    answers at once, /readyz turns 200 when the self-tests are done."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        executor = await start_executor(settings)
        app.state.executor = executor
        discovery = asyncio.create_task(_discover(executor))
        try:
            yield
        finally:
            discovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await discovery
            await executor.shutdown()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={
            ExecutorError: _executor_error,
            ValidationError: _validation_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    return app


async def start_executor(settings: Settings) -> Executor:
    """Load the spawn helper, probe isolation with it, prepare the run directory, and build the
    Executor (not yet ready: see _discover)."""
    concurrency = settings.concurrency()
    base_uid = settings.uid_base or random_uid_base(concurrency)
    _become_subreaper()
    prepare_parent(settings.run_root())
    seccomp, _ = build_seccomp()
    launcher = Launcher(helper=_spawn_helper(settings, seccomp))
    isolation = await detect_isolation(
        settings.isolation,
        probe_identity=RunIdentity(uid=base_uid, gid=base_uid),
        seccomp=seccomp,
        launcher=launcher,
        probe_dir=settings.run_root(),
    )
    if isolation.mode is IsolationMode.NONE:
        log.warning(
            "EXECUTOR_ISOLATION=none: submitted code runs as this service's user. "
            "Never use this with untrusted code."
        )
    for layer in isolation.layers:
        log.info(
            "isolation layer %s: %s (%s)",
            layer.name,
            "active" if layer.active else "inactive",
            layer.detail,
        )
    pool = IdentityPool(base_uid=base_uid, size=concurrency) if isolation.uid_drop else None
    return Executor(settings, isolation=isolation, launcher=launcher, pool=pool)


def _spawn_helper(settings: Settings, seccomp: SeccompFilter | None) -> SpawnHelper | None:
    if settings.spawn_helper == "off":
        log.info("spawn: preexec_fn (EXECUTOR_SPAWN_HELPER=off)")
        return None
    prebuilt = "" if settings.spawn_helper == "auto" else settings.spawn_helper
    try:
        helper = load_helper(prebuilt=prebuilt, cache_dir=settings.cache_dir(), seccomp=seccomp)
    except (HelperUnavailable, OSError, subprocess.SubprocessError) as exc:
        if prebuilt:
            raise  # the operator named a helper: a missing one is a setup error
        log.warning("spawn: preexec_fn, slower (no native helper: %s)", exc)
        return None
    log.info("spawn: native helper %s", helper.path)
    return helper


async def _discover(executor: Executor) -> None:
    for line in await executor.discover_runtimes():
        log.info("runtime %s", line)
    executor.ready = True
    log.info(
        "ready: %d runtimes, concurrency %d, queue %d",
        len(executor.registry.runtimes),
        executor.concurrency,
        executor.queue_size,
    )
    # Until the warm compiler is up, Java compiles with a fresh javac.
    await executor.start_warm_compilers()
    for line in await executor.verify_deferred_self_tests():
        log.info("runtime %s", line)


def _become_subreaper() -> None:
    # Orphans of a run are then re-parented to us, so the supervisor still sees (and reaps) them.
    libc = ctypes.CDLL(None, use_errno=True)  # libc, already loaded: no library search
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log.warning("cannot become a child subreaper: orphans of runs go to PID 1")


def _error_body(code: str, message: str, **context: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **context}}


async def _executor_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExecutorError)
    headers = {}
    if exc.http_status == 429:
        headers["Retry-After"] = str(exc.context.get("retry_after_s", 1))
    return JSONResponse(
        _error_body(exc.code, exc.message, **exc.context),
        status_code=exc.http_status,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
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
    assert isinstance(exc, HTTPException)
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
