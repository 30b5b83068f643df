"""The peers' routes (Piston v2, Judge0 CE), registered when the app is made without importing
piston.py or judge0.py: each loads on its API's first request. Those modules and their models
(and semantic_version) cost about 18 ms of CPU at import on this machine's Python 3.11 (the
least of 9 fresh processes importing the service stage by stage), which every replica paid
before `/readyz`, for APIs most deployments never call."""

import importlib
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]

PISTON = "executor.compat.piston"
JUDGE0 = "executor.compat.judge0"


def _loaded_on_first_call(module: str, name: str) -> Endpoint:
    """An endpoint that imports ``module`` when first called and hands over to its ``name``."""

    async def endpoint(request: Request) -> Response:
        handler: Endpoint = getattr(importlib.import_module(module), name)
        return await handler(request)

    endpoint.__name__ = endpoint.__qualname__ = name
    return endpoint


def _routes(module: str, table: list[tuple[str, str, str]]) -> list[Route]:
    """Each (path, endpoint name, method) with and without a trailing slash: both peers
    answer either way, and a redirect would lose a POST's body with some clients."""
    return [
        Route(each, _loaded_on_first_call(module, name), methods=[method])
        for path, name, method in table
        for each in (path, path + "/")
    ]


ROUTES = [
    *_routes(
        PISTON,
        [
            ("/api/v2/runtimes", "runtimes", "GET"),
            ("/api/v2/execute", "execute", "POST"),
        ],
    ),
    *_routes(
        JUDGE0,
        [
            # /submissions/batch before /submissions/{token}, which would take "batch" for a
            # token.
            ("/submissions/batch", "create_batch", "POST"),
            ("/submissions/batch", "get_batch", "GET"),
            ("/submissions", "create_submission", "POST"),
            ("/submissions/{token}", "get_submission", "GET"),
            ("/languages", "languages", "GET"),
            ("/languages/all", "languages", "GET"),
            ("/languages/{language_id}", "language", "GET"),
            ("/statuses", "statuses", "GET"),
            ("/about", "about", "GET"),
            ("/config_info", "config_info", "GET"),
            ("/system_info", "system_info", "GET"),
        ],
    ),
]
