"""Typed errors of executor.client: one class per way a submission can fail to get an answer."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of a submission.

    status        the HTTP status, or None when no answer came (connection refused, reset, timeout)
    error         the transport error's class name when no answer came, else None
    elapsed_s     time from sending to the answer or the error, seconds
    delay_s       time waited before the next attempt, seconds (0 for the last one)
    may_have_run  True when the request may have reached a replica without an answer coming back
                  (a reset or timeout after sending): a retry may then run the submission twice,
                  unless the service honours Idempotency-Key
    """

    url: str
    status: int | None
    error: str | None
    elapsed_s: float
    delay_s: float
    may_have_run: bool


class ClientError(Exception):
    """A submission got no result. ``status_code`` and ``code`` come from the last answer (None
    when there was none); ``attempts`` lists every try; ``idempotency_key`` is the one sent."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        body: Any = None,
        attempts: tuple[Attempt, ...] = (),
        idempotency_key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.body = body
        self.attempts = attempts
        self.idempotency_key = idempotency_key

    def __str__(self) -> str:
        status = f"HTTP {self.status_code}" if self.status_code is not None else "no answer"
        tries = f", {len(self.attempts)} attempts" if len(self.attempts) > 1 else ""
        return f"{self.message} ({status}{tries})"


class NoRoute(ClientError):
    """No base URL is configured for the submission's language (nothing was sent)."""


class BadRequest(ClientError):
    """400, 413, 415 or 422: the request itself is wrong (``code`` says how); never retried."""


class Unauthorized(ClientError):
    """401 or 403: the API key is missing or wrong; never retried."""


class Conflict(ClientError):
    """409: the idempotency key was used before with a different body; never retried."""


class RateLimited(ClientError):
    """429 until the deadline: every replica's queue stayed full. ``retry_after_s`` is the last
    Retry-After the service sent."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class Unavailable(ClientError):
    """502, 503 or 504, or no connection, until the deadline: replicas starting, draining, gone,
    or the address wrong."""


class ServerError(ClientError):
    """500 or another 5xx the service does not use for overload: a bug; never retried (the run
    may have happened)."""


class UnexpectedResponse(ClientError):
    """An answer that is not the service's JSON (a proxy's page, a truncated body)."""
