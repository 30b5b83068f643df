"""When to retry a submission and how long to wait: jittered back-off, Retry-After, a deadline."""

import email.utils
import random
import time
from dataclasses import dataclass

import httpx

# Overload or a replica that is starting, draining or gone (the ingress answers 502/503/504 for
# a replica that died mid-request). 500 is a bug and is not retried.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

# Transport errors raised before the request could reach a replica: retrying them can never run a
# submission twice.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Transport errors after which the submission may have run: retried too (the idempotency key lets
# a service that honours it answer from the first run).
MAYBE_SENT_ERRORS = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How a submission is retried.

    deadline_s         total time for one submission: every attempt and every wait, seconds
    attempt_timeout_s  longest wait for one answer, seconds (ACA's ingress cuts a request at 240 s;
                       the service's longest run is a compile of 20 s and a run of 60 s)
    connect_timeout_s  longest wait for a connection, seconds
    base_delay_s       first back-off, seconds; doubled after each retry up to max_delay_s
    max_delay_s        longest back-off, seconds (a longer Retry-After is still honoured)
    max_attempts       most attempts, or None for as many as the deadline allows
    """

    deadline_s: float = 300.0
    attempt_timeout_s: float = 120.0
    connect_timeout_s: float = 5.0
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        for name in ("deadline_s", "attempt_timeout_s", "connect_timeout_s", "base_delay_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"RetryPolicy.{name} must be positive, got {getattr(self, name)}")
        if self.max_delay_s < self.base_delay_s:
            raise ValueError("RetryPolicy.max_delay_s must be at least base_delay_s")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")

    def delay_s(self, retry: int, *, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        Exponential back-off with "equal jitter" (half fixed, half random, so that clients that
        failed together spread out but none comes back at once), and never sooner than
        ``retry_after_s``; a Retry-After is stretched by up to a quarter so that every client
        told "1" does not return in the same millisecond."""
        ceiling_s = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry - 1))
        backoff_s = ceiling_s / 2 + rng.uniform(0, ceiling_s / 2)
        if retry_after_s is None:
            return backoff_s
        return max(backoff_s, retry_after_s * rng.uniform(1.0, 1.25))


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """A Retry-After header in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None
    when absent or unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now_s is None else now_s
    return max(0.0, when.timestamp() - now)
