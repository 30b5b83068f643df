"""Client and AsyncClient: route a submission to its language's deployment, retry, type errors.

Over 300 lines: a sync and an async client that must behave alike, side by side so that a
change to one is seen against the other.
"""

import asyncio
import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from executor import __version__
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
from executor.client.retry import (
    MAYBE_SENT_ERRORS,
    NOT_SENT_ERRORS,
    RETRY_STATUSES,
    RetryPolicy,
    parse_retry_after,
)

# The key of the one deployment that serves every language (``Client("https://...")``).
ANY_LANGUAGE = "*"

Routes = Mapping[str, str | Sequence[str]] | str


@dataclass(frozen=True)
class Execution:
    """The service's answer to one submission (README, POST /execute), and how it was obtained.

    body             the JSON answer, every field as the service sent it (new fields included)
    idempotency_key  the key sent with every attempt
    attempts         every HTTP attempt, the answered one last
    url              the base URL that answered
    elapsed_s        from the first attempt to the answer, waits included, seconds
    replayed         the service answered from a stored result (Idempotent-Replayed: true)
    """

    body: dict[str, Any]
    idempotency_key: str
    attempts: tuple[Attempt, ...]
    url: str
    elapsed_s: float
    replayed: bool

    @property
    def status(self) -> str:
        """ok, runtime_error, time_limit_exceeded, memory_limit_exceeded, ... (README)."""
        return str(self.body["status"])

    @property
    def verdict(self) -> str | None:
        """The judge's verdict when the request carried tests (issue 10), else None."""
        verdict = self.body.get("verdict")
        return None if verdict is None else str(verdict)

    @property
    def stdout(self) -> str:
        return str(self.body.get("stdout", ""))

    @property
    def stderr(self) -> str:
        return str(self.body.get("stderr", ""))

    @property
    def retries(self) -> int:
        return len(self.attempts) - 1


class _Submission:
    """The retry loop's state for one submission, shared by Client and AsyncClient: the next URL,
    the deadline, and what each answer or error means (a result, an error, or a wait)."""

    def __init__(
        self,
        *,
        urls: Sequence[str],
        start: int,
        policy: RetryPolicy,
        rng: random.Random,
        key: str,
    ) -> None:
        self.urls = urls
        self.index = start
        self.policy = policy
        self.rng = rng
        self.key = key
        self.started_s = time.monotonic()
        self.deadline_s = self.started_s + policy.deadline_s
        self.attempts: list[Attempt] = []
        self.sent_at_s = 0.0

    def next_url(self) -> str:
        url = self.urls[self.index % len(self.urls)]
        self.index += 1  # a retry goes to the next URL: a dead deployment is skipped
        self.sent_at_s = time.monotonic()
        return url

    def timeout(self) -> httpx.Timeout:
        remaining_s = max(0.001, self.deadline_s - time.monotonic())
        read_s = min(self.policy.attempt_timeout_s, remaining_s)
        return httpx.Timeout(read_s, connect=min(self.policy.connect_timeout_s, read_s))

    def answered(self, url: str, response: httpx.Response) -> Execution | float:
        """The Execution of a good answer, or the seconds to wait before retrying; raises the
        typed error when the answer is final or the deadline is near."""
        body = _json_or_none(response)
        status = response.status_code
        if 200 <= status < 300:
            self._record(url, status=status, error=None, may_have_run=False)
            if not isinstance(body, dict) or "status" not in body:
                raise self._error(
                    UnexpectedResponse, "the answer is not the service's JSON", response, body
                )
            return Execution(
                body=body,
                idempotency_key=self.key,
                attempts=tuple(self.attempts),
                url=url,
                elapsed_s=time.monotonic() - self.started_s,
                replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
            )
        retry_after_s = parse_retry_after(response.headers.get("retry-after"))
        self._record(url, status=status, error=None, may_have_run=False)
        if status not in RETRY_STATUSES:
            raise self._error(_final_error_class(status), _message(body, response), response, body)
        error_class: type[ClientError] = RateLimited if status == 429 else Unavailable
        return self._wait_or_raise(
            lambda: self._error(
                error_class, _message(body, response), response, body, retry_after_s=retry_after_s
            ),
            retry_after_s=retry_after_s,
        )

    def failed(self, url: str, exc: httpx.TransportError) -> float:
        """The seconds to wait after a transport error; raises when it is final."""
        if not isinstance(exc, NOT_SENT_ERRORS + MAYBE_SENT_ERRORS):
            raise Unavailable(
                f"{url}: {type(exc).__name__}: {exc}",
                attempts=tuple(self.attempts),
                idempotency_key=self.key,
            ) from exc
        self._record(
            url,
            status=None,
            error=type(exc).__name__,
            may_have_run=isinstance(exc, MAYBE_SENT_ERRORS),
        )
        return self._wait_or_raise(
            lambda: Unavailable(
                f"{url}: {type(exc).__name__}: {exc or 'no answer'}",
                attempts=tuple(self.attempts),
                idempotency_key=self.key,
            ),
            retry_after_s=None,
        )

    def _wait_or_raise(self, error: Any, *, retry_after_s: float | None) -> float:
        retry = len(self.attempts)
        delay_s = self.policy.delay_s(retry, retry_after_s=retry_after_s, rng=self.rng)
        out_of_attempts = self.policy.max_attempts is not None and retry >= self.policy.max_attempts
        if out_of_attempts or time.monotonic() + delay_s >= self.deadline_s:
            raise error()
        last = self.attempts[-1]
        self.attempts[-1] = Attempt(
            url=last.url,
            status=last.status,
            error=last.error,
            elapsed_s=last.elapsed_s,
            delay_s=delay_s,
            may_have_run=last.may_have_run,
        )
        return delay_s

    def _record(
        self, url: str, *, status: int | None, error: str | None, may_have_run: bool
    ) -> None:
        self.attempts.append(
            Attempt(
                url=url,
                status=status,
                error=error,
                elapsed_s=time.monotonic() - self.sent_at_s,
                delay_s=0.0,
                may_have_run=may_have_run,
            )
        )

    def _error(
        self,
        error_class: type[ClientError],
        message: str,
        response: httpx.Response,
        body: Any,
        **extra: Any,
    ) -> ClientError:
        code = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code")
        return error_class(
            message,
            status_code=response.status_code,
            code=code,
            body=body,
            attempts=tuple(self.attempts),
            idempotency_key=self.key,
            **extra,
        )


class _Base:
    """What Client and AsyncClient share: routes, headers, the request body, the URL rotation."""

    def __init__(
        self,
        urls: Routes,
        *,
        api_key: str | None,
        retry: RetryPolicy | None,
        session_pool: bool,
        seed: int | None,
    ) -> None:
        self.routes = _routes(urls)
        self.api_key = api_key
        self.retry = retry if retry is not None else RetryPolicy()
        self.session_pool = session_pool
        self.rng = random.Random(seed)
        # Where each language's next submission starts, so that load spreads over its URLs.
        self._turns: dict[str, Iterator[int]] = {}

    def _start(self, language: str, key: str | None) -> _Submission:
        urls = self.routes.get(language) or self.routes.get(ANY_LANGUAGE)
        if not urls:
            raise NoRoute(
                f"no URL for language {language!r}; configured: {sorted(self.routes)}",
                idempotency_key=key,
            )
        turn = next(self._turns.setdefault(language, itertools.count()))
        return _Submission(
            urls=urls,
            start=turn,
            policy=self.retry,
            rng=self.rng,
            key=key if key is not None else uuid.uuid4().hex,
        )

    def _headers(self, submission: _Submission) -> dict[str, str]:
        headers = {
            "Idempotency-Key": submission.key,
            "User-Agent": f"executor-client/{__version__}",
        }
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _params(self, submission: _Submission, session_id: str | None) -> dict[str, str]:
        # A session pool gives each identifier its own Hyper-V session (deploy/README.md).
        if not self.session_pool:
            return {}
        return {"identifier": session_id if session_id is not None else submission.key}


class Client(_Base):
    """Submissions to executor deployments, synchronously (thread-safe, like httpx.Client).

    ``urls`` maps a language to one base URL or several (tried in turn, a retry moves to the
    next), or is one URL for a deployment serving every language. ``api_key`` is sent as
    ``Authorization: Bearer``. ``session_pool`` adds ``?identifier=`` for ACA session pools.
    ``http_client`` replaces the default httpx.Client (its base URL is ignored)."""

    def __init__(
        self,
        urls: Routes,
        *,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        session_pool: bool = False,
        max_connections: int = 100,
        http_client: httpx.Client | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(urls, api_key=api_key, retry=retry, session_pool=session_pool, seed=seed)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            )
        )

    def execute(
        self,
        language: str,
        code: str | None = None,
        *,
        files: Sequence[Mapping[str, str]] | None = None,
        main: str | None = None,
        stdin: str | None = None,
        args: Sequence[str] | None = None,
        limits: Mapping[str, int] | None = None,
        version: str | None = None,
        idempotency_key: str | None = None,
        session_id: str | None = None,
        **fields: Any,
    ) -> Execution:
        """Run a submission and return the service's answer (a program that fails is still an
        answer: see ``Execution.status``). Any other keyword (``tests``, ``expected_stdout``,
        ``checker``, …) is sent as a request field as given.

        Retries 429 (after Retry-After), 502/503/504 and connection errors with jittered
        back-off until ``RetryPolicy.deadline_s``, with the same Idempotency-Key every time.
        Raises NoRoute, BadRequest, Unauthorized, Conflict, ServerError, UnexpectedResponse at
        once, and RateLimited or Unavailable when the deadline comes first."""
        body = _body(language, code, files, main, stdin, args, limits, version, fields)
        submission = self._start(language, idempotency_key)
        headers = self._headers(submission)
        params = self._params(submission, session_id)
        while True:
            url = submission.next_url()
            try:
                response = self._http.post(
                    f"{url}/execute",
                    json=body,
                    headers=headers,
                    params=params,
                    timeout=submission.timeout(),
                )
            except httpx.TransportError as exc:
                time.sleep(submission.failed(url, exc))
                continue
            outcome = submission.answered(url, response)
            if isinstance(outcome, Execution):
                return outcome
            time.sleep(outcome)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """The same as Client for asyncio (one event loop), on httpx.AsyncClient."""

    def __init__(
        self,
        urls: Routes,
        *,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        session_pool: bool = False,
        max_connections: int = 100,
        http_client: httpx.AsyncClient | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(urls, api_key=api_key, retry=retry, session_pool=session_pool, seed=seed)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            )
        )

    async def execute(
        self,
        language: str,
        code: str | None = None,
        *,
        files: Sequence[Mapping[str, str]] | None = None,
        main: str | None = None,
        stdin: str | None = None,
        args: Sequence[str] | None = None,
        limits: Mapping[str, int] | None = None,
        version: str | None = None,
        idempotency_key: str | None = None,
        session_id: str | None = None,
        **fields: Any,
    ) -> Execution:
        """Client.execute for asyncio: the same answers, retries and errors."""
        body = _body(language, code, files, main, stdin, args, limits, version, fields)
        submission = self._start(language, idempotency_key)
        headers = self._headers(submission)
        params = self._params(submission, session_id)
        while True:
            url = submission.next_url()
            try:
                response = await self._http.post(
                    f"{url}/execute",
                    json=body,
                    headers=headers,
                    params=params,
                    timeout=submission.timeout(),
                )
            except httpx.TransportError as exc:
                await asyncio.sleep(submission.failed(url, exc))
                continue
            outcome = submission.answered(url, response)
            if isinstance(outcome, Execution):
                return outcome
            await asyncio.sleep(outcome)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _routes(urls: Routes) -> dict[str, tuple[str, ...]]:
    if isinstance(urls, str):
        urls = {ANY_LANGUAGE: urls}
    routes = {}
    for language, value in urls.items():
        listed = (value,) if isinstance(value, str) else tuple(value)
        if not listed:
            raise ValueError(f"no URL given for language {language!r}")
        routes[language] = tuple(url.rstrip("/") for url in listed)
    return routes


def _body(
    language: str,
    code: str | None,
    files: Sequence[Mapping[str, str]] | None,
    main: str | None,
    stdin: str | None,
    args: Sequence[str] | None,
    limits: Mapping[str, int] | None,
    version: str | None,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    named = {
        "code": code,
        "files": None if files is None else [dict(f) for f in files],
        "main": main,
        "stdin": stdin,
        "args": None if args is None else list(args),
        "limits": None if limits is None else dict(limits),
        "version": version,
    }
    # Fields left at None are left out: the service then applies its defaults.
    return {"language": language, **{k: v for k, v in {**named, **fields}.items() if v is not None}}


def _final_error_class(status: int) -> type[ClientError]:
    if status in (401, 403):
        return Unauthorized
    if status == 409:
        return Conflict
    if 400 <= status < 500:
        return BadRequest
    return ServerError


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _message(body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", response.reason_phrase))
    return f"HTTP {response.status_code} {response.reason_phrase}"
