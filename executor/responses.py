"""How the service's answers are made: JSON bodies (pydantic's serializer) and the error shape,
the one place a typed error becomes an HTTP response."""

from collections.abc import Mapping
from typing import Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from executor.errors import ExecutorError

# A scheme and realm for the 401's WWW-Authenticate (RFC 6750: a Bearer token).
AUTH_CHALLENGE = 'Bearer realm="executor"'


class ErrorDetail(BaseModel):
    """``error`` of every error answer: a stable ``code``, a readable ``message``, and fields
    that depend on the code (``maximum``, ``limit``, ``retry_after_s``, ``problems``, ...)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable, machine-readable: busy, body_too_large, ...")
    message: str = Field(description="for a person; may change between versions")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the service."""

    error: ErrorDetail


class JSONAnswer(Response):
    """A JSON answer encoded by pydantic's serializer (Rust): one pass from the model or the
    data to bytes, without the intermediate str of the standard library's encoder (see
    bench/RESULTS.md, answer encoding)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode_json(content)


def encode_json(content: Any) -> bytes:
    """``content`` (models, dicts, lists, ...) as compact JSON bytes."""
    return pydantic_core.to_json(content)


def error_response(exc: ExecutorError, *, headers: dict[str, str] | None = None) -> JSONAnswer:
    """The answer for a typed error: its status, ``{"error": {"code", "message", ...context}}``,
    and the headers its status calls for (Retry-After on 429 and 503, WWW-Authenticate on
    401)."""
    extra = dict(headers or {})
    if exc.http_status in (429, 503):
        extra["Retry-After"] = str(exc.context.get("retry_after_s", 1))
    if exc.http_status == 401:
        extra["WWW-Authenticate"] = AUTH_CHALLENGE
    return error_answer(exc.code, exc.message, exc.http_status, headers=extra, **exc.context)


def error_answer(
    code: str,
    message: str,
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    **context: object,
) -> JSONAnswer:
    """An error answer from its parts (for errors that are not ExecutorErrors: validation,
    routing, bugs)."""
    return JSONAnswer(
        {"error": {"code": code, "message": message, **context}},
        status_code=status,
        headers=headers,
    )
