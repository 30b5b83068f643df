"""The request log: one JSON line per request with its fields, the request id made or echoed,
and never the code, stdin, output or keys."""

import json
import uuid

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


# A language name (at most 64 characters) that would forge a log line of its own, with a NUL
# and a line separator.
FORGED_LANGUAGE = "python\n2026-12-01 00:00:00,000 ERROR executor: FAKE{mark}\x00\u2028"


def test_a_client_cannot_forge_a_text_log_line(service: Service) -> None:
    """1. POST /execute whose language holds a newline and a whole fake log line, a NUL and a
    U+2028, on the service logging text. Expected: a 400; its request line is the only line
    with the fake text, which shows escaped (``\\n``, ``\\x00``, ``\\u2028``); nothing raw."""
    mark = uuid.uuid4().hex[:8]
    answer = service.client.post(
        "/execute", json={"language": FORGED_LANGUAGE.format(mark=mark), "code": "print(1)"}
    )
    assert answer.status_code == 400, answer.text
    wait_for(lambda: mark in service.log(), timeout_s=5, what="the request line")
    found = [line for line in service.log().splitlines() if mark in line]
    assert len(found) == 1, found
    assert " INFO executor.request: POST /execute 400 " in found[0], found
    assert (
        r"language=python\n2026-12-01 00:00:00,000 ERROR executor: "
        rf"FAKE{mark}\x00\u2028" in found[0]
    ), found
    assert "\x00" not in service.log() and "\u2028" not in service.log()


def test_a_client_cannot_forge_a_json_log_line(json_service: Service) -> None:
    """The same on the service logging JSON. Expected: one line, by any line breaking rule,
    whose language field is the client's text exactly."""
    mark = uuid.uuid4().hex[:8]
    language = FORGED_LANGUAGE.format(mark=mark)
    answer = json_service.client.post(
        "/execute",
        json={"language": language, "code": "print(1)"},
        headers={"X-Request-Id": f"forged-{mark}"},
    )
    assert answer.status_code == 400, answer.text
    wait_for(lambda: mark in json_service.log(), timeout_s=5, what="the request line")
    found = [text for text in json_service.log().splitlines() if mark in text]
    assert len(found) == 1, found
    assert "\x00" not in json_service.log() and "\u2028" not in json_service.log()
    line = request_line(json_service, f"forged-{mark}")
    assert (line["language"], line["status"]) == (language, 400)
