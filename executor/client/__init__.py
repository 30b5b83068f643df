"""executor.client: submissions to executor deployments, sync and async, with retries.

    from executor.client import Client
    with Client({"python": "https://py.example", "java": "https://java.example"}, api_key=KEY) as c:
        result = c.execute("python", "print(input()[::-1])", stdin="hello")
        result.status, result.stdout

It replaces ``requests.post(f"{URL}/execute", json={...})`` in a backend: the language picks the
deployment, an Idempotency-Key goes with every attempt, 429/502/503/504 and lost connections are
retried with jittered back-off (Retry-After honoured) within one deadline, and failures are typed.
Needs httpx (the ``client`` extra).
"""

from executor.client.client import ANY_LANGUAGE, AsyncClient, Client, Execution
from executor.client.errors import (
    Attempt,
    BadRequest,
    ClientError,
    Conflict,
    NoRoute,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    UnexpectedResponse,
)
from executor.client.retry import RetryPolicy

__all__ = [
    "ANY_LANGUAGE",
    "AsyncClient",
    "Attempt",
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "Execution",
    "NoRoute",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "UnexpectedResponse",
]
