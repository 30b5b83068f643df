"""Metrics for /metrics (Prometheus text format, prometheus-client), in a registry of the app's
own: counters and histograms the request path updates, gauges read from the service when
scraped."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# Seconds: from a hello world (about 15 ms) to the longest compile plus run (80 s).
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)
QUEUE_BUCKETS_S = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
COMPILE_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Every metric of one service. ``read_state`` gives, at scrape time, the numbers the
    service already keeps (running, queued, warm compiler starts, retired uids)."""

    def __init__(self, *, read_state: Callable[[], "ServiceState"]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "executor_http_requests",
            "HTTP requests answered, by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "executor_http_request_duration_seconds",
            "Time from the request's arrival to its answer, by route",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.executions = Counter(
            "executor_executions",
            "Submissions run to a status, by language and status",
            ["language", "status"],
            registry=r,
        )
        self.execution_seconds = Histogram(
            "executor_execution_duration_seconds",
            "Time from admission to the answer of a submission (compile and run), by language",
            ["language"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.queue_wait_seconds = Histogram(
            "executor_queue_wait_seconds",
            "Time a submission waited for a run slot and memory",
            buckets=QUEUE_BUCKETS_S,
            registry=r,
        )
        self.compile_seconds = Histogram(
            "executor_compile_duration_seconds",
            "Wall time of a compilation (warm or fresh compiler), by language",
            ["language"],
            buckets=COMPILE_BUCKETS_S,
            registry=r,
        )
        self.rejections = Counter(
            "executor_rejections",
            "Submissions refused before running: busy (429), draining (503), "
            "answers_backlogged (503), by reason",
            ["reason"],
            registry=r,
        )
        self.sandbox_failures = Counter(
            "executor_sandbox_setup_failures",
            "Runs the sandbox could not start (the spawn failed)",
            registry=r,
        )
        self.disconnects = Counter(
            "executor_client_disconnects",
            "Clients gone before their answer: while sending the body (body), the submission "
            "left the queue (queued) or was killed (running)",
            ["stage"],
            registry=r,
        )
        self.drained = Counter(
            "executor_drained_runs",
            "Submissions in flight when SIGTERM came: finished, or killed at the drain deadline",
            ["outcome"],
            registry=r,
        )
        self.slow_readers = Counter(
            "executor_slow_readers_dropped",
            "Connections dropped because the client took no part of its answer in time",
            registry=r,
        )
        self.replays = Counter(
            "executor_idempotent_replays",
            "Answers given from a stored or shared result of the same submission id",
            registry=r,
        )
        self.auth_failures = Counter(
            "executor_auth_failures",
            "Requests refused for a missing or wrong API key (401)",
            registry=r,
        )
        r.register(_StateCollector(read_state))

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


@dataclass(frozen=True)
class ServiceState:
    """What the service already counts, read when /metrics is scraped."""

    running: int
    queued: int
    cleaning: int
    warm_starts: Mapping[str, int]
    # Times each language's prewarmed processes were started again after one died (see
    # ExecutionService.prewarm_restarts).
    prewarm_restarts: Mapping[str, int]
    retired_uids: int
    draining: bool
    answers_in_flight_bytes: int
    idempotency_kept: int
    idempotency_kept_bytes: int


class _StateCollector(Collector):
    def __init__(self, read_state: Callable[[], ServiceState]) -> None:
        self._read_state = read_state

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        state = self._read_state()
        yield GaugeMetricFamily("executor_running", "Submissions running now", value=state.running)
        yield GaugeMetricFamily(
            "executor_queued", "Submissions waiting for a run slot", value=state.queued
        )
        yield GaugeMetricFamily(
            "executor_cleanups", "Boxes whose cleanup is under way", value=state.cleaning
        )
        yield GaugeMetricFamily(
            "executor_retired_uids",
            "Run uids retired because their runs could not be cleaned up",
            value=state.retired_uids,
        )
        yield GaugeMetricFamily(
            "executor_draining", "1 once SIGTERM came, else 0", value=int(state.draining)
        )
        yield GaugeMetricFamily(
            "executor_answers_in_flight_bytes",
            "Bytes of encoded answers not yet taken by their clients",
            value=state.answers_in_flight_bytes,
        )
        yield GaugeMetricFamily(
            "executor_idempotency_kept",
            "Answers kept for replay",
            value=state.idempotency_kept,
        )
        yield GaugeMetricFamily(
            "executor_idempotency_kept_bytes",
            "Bytes of answers kept for replay",
            value=state.idempotency_kept_bytes,
        )
        restarts = CounterMetricFamily(
            "executor_warm_compiler_restarts",
            "Times a warm compiler was started again after its first start, by language",
            labels=["language"],
        )
        for language, starts in state.warm_starts.items():
            restarts.add_metric([language], max(0, starts - 1))
        yield restarts
        prewarm = CounterMetricFamily(
            "executor_prewarm_restarts",
            "Times a prewarmed process was started again after one died, by language (the "
            "Python zygote; a Node or Java runner that ended before serving a run)",
            labels=["language"],
        )
        for language, count in state.prewarm_restarts.items():
            prewarm.add_metric([language], count)
        yield prewarm
