"""The OpenAPI 3.1 document of the HTTP API, generated from the request, response and error
models (pydantic's JSON schemas), with every status each endpoint can answer."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from executor.models import ExecuteRequest, ExecuteResponse, JudgedResponse, RuntimeInfo
from executor.responses import ErrorBody


class Health(BaseModel):
    """GET /healthz."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """GET /readyz: the state, and the load (other fields may follow)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ready", "starting", "draining", "unhealthy"]
    running: int = Field(description="submissions running now")
    queued: int = Field(description="submissions waiting for a run slot")
    reason: str | None = Field(None, description="why, when unhealthy")


class Info(BaseModel):
    """GET /info: isolation layers, limits, load, warm compilers, runtimes (other fields may
    follow)."""

    model_config = ConfigDict(extra="allow")

    version: str
    running: int
    queued: int
    draining: bool
    isolation: dict[str, Any]
    limits: dict[str, Any]
    load: dict[str, Any]
    auth: dict[str, Any]
    runtimes: list[RuntimeInfo]


_ERRORS = {
    400: "bad JSON, an unknown language or version",
    401: "no API key, or a wrong one (only when EXECUTOR_API_KEYS is set)",
    409: "the submission id was used before with a different request",
    413: "the body, or an argument, is too large",
    415: "a Content-Type other than JSON",
    422: "valid JSON that describes no runnable submission (missing source, bad file name, "
    "a limit above its maximum, a memory limit that can never fit, unknown fields, ...)",
    429: "the queue is full; retry after Retry-After seconds",
    503: "starting, shutting down (retry on another replica), or answers waiting for their "
    "clients fill the replica's budget (retry after Retry-After seconds)",
}
_REQUEST_ID = {
    "X-Request-Id": {
        "description": "the request's id: the client's X-Request-Id when usable, else a new one",
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}


def openapi_document(*, version: str) -> dict[str, Any]:
    """The document served at /openapi.json."""
    _, schemas = models_json_schema(
        [
            (ExecuteRequest, "validation"),
            (ExecuteResponse, "serialization"),
            (JudgedResponse, "serialization"),
            (RuntimeInfo, "serialization"),
            (ErrorBody, "serialization"),
            (Health, "serialization"),
            (Readiness, "serialization"),
            (Info, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "executor",
            "version": version,
            "description": "Runs untrusted Python, Node.js and Java code in a sandbox.",
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": {
            "/execute": {
                "post": {
                    "summary": "Run a submission",
                    "operationId": "execute",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "the submission's id (or the body's submission_id)",
                            "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ExecuteRequest")}},
                    },
                    "responses": {
                        "200": _answer(
                            "the program ran (or did not compile): its status says how; a "
                            "judged request (tests, expected_stdout, interactor) adds verdict, "
                            "tests and summary",
                            {"anyOf": [_ref("ExecuteResponse"), _ref("JudgedResponse")]},
                            headers={
                                "Idempotent-Replayed": {
                                    "description": "true when the answer is the stored or "
                                    "shared one of an earlier request with the same id",
                                    "schema": {"type": "string", "enum": ["true"]},
                                }
                            },
                        ),
                        **_errors(400, 401, 409, 413, 415, 422, 429, 503),
                    },
                }
            },
            "/runtimes": _get("runtimes", "The runtimes offered here", _list_of("RuntimeInfo")),
            "/info": _get("info", "Isolation layers, limits, load", _ref("Info")),
            "/healthz": _get("healthz", "Alive", _ref("Health"), public=True),
            "/readyz": _get(
                "readyz",
                "Ready for work (503 while starting, draining or unhealthy)",
                _ref("Readiness"),
                public=True,
                not_ready=True,
            ),
            "/metrics": {
                "get": {
                    "summary": "Metrics in Prometheus' text format",
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "the metrics",
                            "headers": _REQUEST_ID,
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **_errors(401),
                    },
                }
            },
            "/openapi.json": _get("openapi", "This document", {"type": "object"}),
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _answer(
    description: str, schema: dict[str, Any] | str, *, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = _ref(schema) if isinstance(schema, str) else schema
    return {
        "description": description,
        "headers": {**_REQUEST_ID, **(headers or {})},
        "content": {"application/json": {"schema": body}},
    }


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): _answer(
            _ERRORS[status],
            "ErrorBody",
            headers=_RETRY_AFTER if status in (429, 503) else None,
        )
        for status in statuses
    }


def _get(
    operation_id: str,
    summary: str,
    schema: dict[str, Any],
    *,
    public: bool = False,
    not_ready: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _answer(summary, schema)}
    if not_ready:
        responses["503"] = _answer("not ready: starting, draining or unhealthy", schema)
    if not public:
        responses.update(_errors(401))
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "responses": responses,
    }
    if public:
        operation["security"] = []
    return {"get": operation}
