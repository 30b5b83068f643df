"""/metrics: Prometheus' text format with the service's counters, histograms and gauges."""

import concurrent.futures

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Service, start_service, wait_for

SLEEP_1S = {"language": "python", "code": "import time\ntime.sleep(1)\nprint('done')"}
FAMILIES = {
    "executor_http_requests",
    "executor_http_request_duration_seconds",
    "executor_executions",
    "executor_execution_duration_seconds",
    "executor_queue_wait_seconds",
    "executor_compile_duration_seconds",
    "executor_rejections",
    "executor_sandbox_setup_failures",
    "executor_client_disconnects",
    "executor_drained_runs",
    "executor_slow_readers_dropped",
    "executor_idempotent_replays",
    "executor_auth_failures",
    "executor_running",
    "executor_queued",
    "executor_cleanups",
    "executor_retired_uids",
    "executor_draining",
    "executor_answers_in_flight_bytes",
    "executor_warm_compiler_restarts",
    "executor_prewarm_restarts",
}


def scrape(service: Service) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def families(service: Service) -> set[str]:
    text = service.client.get("/metrics").text
    return {family.name for family in text_string_to_metric_families(text)}


@pytest.fixture(scope="module")
def busy_service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    env = {"EXECUTOR_MAX_CONCURRENCY": "1", "EXECUTOR_MAX_QUEUE": "0"}
    with start_service(tmp_path_factory.mktemp("metrics"), env, warm=True) as service:
        yield service


def test_every_metric_family_is_exported(busy_service: Service) -> None:
    assert families(busy_service) >= FAMILIES


def test_runs_compiles_and_refusals_are_counted(busy_service: Service) -> None:
    """1. Run a Python hello world and a Java one; 2. while a 1 s program holds the only slot,
    submit another (429). Expected: executions by language and status, latency, queue wait
    and compile time histograms, the 429 and the running gauge all counted."""
    service = busy_service
    before = scrape(service)
    service.execute({"language": "python", "code": "print(1)"})
    java = "public class Main { public static void main(String[] a) { System.out.println(1); } }"
    service.execute({"language": "java", "code": java})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(service.execute, SLEEP_1S)
        wait_for(
            lambda: scrape(service)[("executor_running", ())] == 1,
            timeout_s=30,
            what="the running gauge",
        )
        assert service.client.post("/execute", json=SLEEP_1S).status_code == 429
        slow.result()
    after = scrape(service)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("executor_executions_total", language="python", status="ok") == 2
    assert grew("executor_executions_total", language="java", status="ok") == 1
    assert grew("executor_execution_duration_seconds_count", language="python") == 2
    assert grew("executor_queue_wait_seconds_count") == 3
    assert grew("executor_compile_duration_seconds_count", language="java") == 1
    assert grew("executor_rejections_total", reason="busy") == 1
    assert grew("executor_http_requests_total", method="POST", route="/execute", status="429") == 1
    assert after[("executor_warm_compiler_restarts_total", (("language", "java"),))] == 0
    assert after[("executor_prewarm_restarts_total", (("language", "python"),))] == 0
    assert after[("executor_running", ())] == 0
