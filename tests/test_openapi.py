"""/openapi.json, checked against a running service: schemathesis fuzzes every operation (no
500, every answer matches the document), and every documented status is reached and matches."""

import concurrent.futures
import json
import signal
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.support import Service, start_service, wait_for

KEY = "openapi-test-key-5e6f7a8b"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES_PER_OPERATION = 30
HELLO = {"language": "python", "code": "print('hi')"}
SLEEP = {"language": "python", "code": "import time\ntime.sleep(3)"}


@pytest.fixture(scope="module")
def fuzzed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A Python-only service with an API key, one run slot and no queue (so that a 429 is
    reachable), and a short drain (a 503 is reached by stopping it)."""
    env = {
        "EXECUTOR_LANGUAGES": "python",
        "EXECUTOR_API_KEYS": KEY,
        "EXECUTOR_MAX_CONCURRENCY": "1",
        "EXECUTOR_MAX_QUEUE": "0",
        "EXECUTOR_DRAIN_SECONDS": "8",
    }
    with start_service(tmp_path_factory.mktemp("openapi"), env) as service:
        yield service


@pytest.fixture(scope="module")
def api_schema(fuzzed_service: Service) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_service.url}/openapi.json", headers=AUTH)


def test_every_operation_answers_as_documented(api_schema: schemathesis.BaseSchema) -> None:
    """Requests generated from /openapi.json (valid and invalid) to each operation, with the
    API key: no 500, every status, header and body as the document says, invalid data
    refused. Data valid by the document may still be refused by design (an unknown language
    is a 400, ``code`` and ``files`` exclude each other, limit maxima are the operator's):
    schemathesis's positive-data check is left out. (Schemathesis's
    pytest plugin does not load under pytest 9: its strategies are driven here instead.)"""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /execute", "GET /readyz", "GET /info"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

        fuzz()


def documented(api_schema: schemathesis.BaseSchema) -> set[tuple[str, str, int]]:
    document = api_schema.raw_schema
    return {
        (method.upper(), path, int(status))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
    }


def test_every_documented_status_is_reached_and_matches(
    fuzzed_service: Service, api_schema: schemathesis.BaseSchema
) -> None:
    """1. Reach every (operation, status) /openapi.json documents with a request made for it:
    a success, each error of /execute (bad language, no key, reused id, too large, wrong
    media type, invalid, queue full), 401 everywhere a key is needed; last, SIGTERM with a run
    in flight for the 503s of /execute and /readyz.
    Expected: each answer has its status and matches the document."""
    client = fuzzed_service.client
    reached: set[tuple[str, str, int]] = set()

    def check(method: str, path: str, response: httpx.Response) -> None:
        api_schema[path][method].validate_response(response)
        reached.add((method, path, response.status_code))

    for path in ("/runtimes", "/info", "/metrics", "/openapi.json"):
        check("GET", path, client.get(path, headers=AUTH))
        check("GET", path, client.get(path))
    for path in ("/healthz", "/readyz"):
        check("GET", path, client.get(path))

    def post(body: object, **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        merged = {"Content-Type": "application/json", **AUTH, **headers}
        return client.post("/execute", content=content, headers=merged)

    check("POST", "/execute", post(HELLO))
    check("POST", "/execute", post({**HELLO, "language": "cobol"}))
    check("POST", "/execute", post(HELLO, Authorization="Bearer wrong"))
    check("POST", "/execute", post({**HELLO, "submission_id": "openapi-409"}))
    check("POST", "/execute", post({**HELLO, "code": "print(2)", "submission_id": "openapi-409"}))
    check("POST", "/execute", post({**HELLO, "stdin": "x" * (5 << 20)}))
    check("POST", "/execute", post(b"print(1)", **{"Content-Type": "text/plain"}))
    check("POST", "/execute", post({"language": "python"}))
    with (
        httpx.Client(base_url=fuzzed_service.url, timeout=60) as other,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        slow = pool.submit(other.post, "/execute", json=SLEEP, headers=AUTH)
        wait_for(
            lambda: client.get("/readyz").json()["running"] == 1,
            timeout_s=30,
            what="the slow program to run",
        )
        check("POST", "/execute", post(HELLO))  # 429: the slot is taken, no queue
        fuzzed_service.process.send_signal(signal.SIGTERM)
        wait_for(
            lambda: client.get("/readyz").status_code == 503,
            timeout_s=5,
            what="the drain",
        )
        check("GET", "/readyz", client.get("/readyz"))
        check("POST", "/execute", post(HELLO))
        assert slow.result().status_code == 200
    missing = documented(api_schema) - reached
    assert missing == set(), sorted(missing)
    assert fuzzed_service.process.wait(timeout=10) == 0
