"""The request log: one JSON line per request with its fields, the request id made or echoed,
and never the code, stdin, output or keys."""

import json

import pytest

from tests.support import Service, start_service, wait_for

MARK = "zq-marker-4242"
FIELDS = {"method", "path", "status", "duration_ms", "request_id"}


@pytest.fixture(scope="module")
def json_service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    env = {"EXECUTOR_LOG_FORMAT": "json", "EXECUTOR_LANGUAGES": "python"}
    with start_service(tmp_path_factory.mktemp("json-log"), env) as service:
        yield service


def log_lines(service: Service) -> list[dict]:
    """Every line of the service's log, each a JSON object (else the test fails)."""
    return [json.loads(line) for line in service.log().splitlines() if line.strip()]


def request_line(service: Service, request_id: str) -> dict:
    found: list[dict] = []

    def logged() -> bool:
        found[:] = [line for line in log_lines(service) if line.get("request_id") == request_id]
        return bool(found)

    wait_for(logged, timeout_s=5, what=f"the log line of {request_id}")
    assert len(found) == 1, found
    return found[0]


def test_each_request_gets_one_json_line_with_its_fields(json_service: Service) -> None:
    """1. POST /execute with X-Request-Id: code, stdin and output carry a marker.
    2. GET /healthz without one. Expected: the id echoed, or a new one made and echoed; one
    JSON line each with method, path, status, duration, and for /execute the language,
    verdict and queue wait; the marker nowhere in the log."""
    code = f"print(input() + '{MARK}')"
    answer = json_service.client.post(
        "/execute",
        json={"language": "python", "code": code, "stdin": MARK},
        headers={"X-Request-Id": "req-from-client-1"},
    )
    assert answer.status_code == 200 and MARK in answer.json()["stdout"]
    assert answer.headers["x-request-id"] == "req-from-client-1"
    line = request_line(json_service, "req-from-client-1")
    assert set(line) >= FIELDS
    assert (line["method"], line["path"], line["status"]) == ("POST", "/execute", 200)
    assert (line["language"], line["verdict"]) == ("python", "ok")
    assert line["queue_wait_ms"] >= 0 and line["duration_ms"] > 0
    assert line["level"] == "INFO" and line["logger"] == "executor.request"

    health = json_service.client.get("/healthz")
    made = health.headers["x-request-id"]
    assert len(made) == 32
    assert request_line(json_service, made)["path"] == "/healthz"
    assert MARK not in json_service.log()


def test_an_unusable_request_id_is_replaced(json_service: Service) -> None:
    answer = json_service.client.get("/healthz", headers={"X-Request-Id": "x" * 200})
    assert answer.headers["x-request-id"] != "x" * 200


def test_every_line_of_the_service_is_json(json_service: Service) -> None:
    lines = log_lines(json_service)
    assert any(line["message"].startswith("isolation layer") for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
