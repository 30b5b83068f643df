"""Benchmarks the service in host mode against the bare interpreters, in one run; writes RESULTS.md.

Usage: ``.venv/bin/python bench/run.py [--quick]`` (as root, like the service). It starts the
service itself on a free 127.0.0.1 port, measures each figure next to its baseline (the same
interpreter with the same flags, spawned directly), writes ``bench/RESULTS.md`` and exits 1 when a
target is missed (2 when the benchmark itself could not run). Machines here are noisy: the ratios,
measured in the same run with interleaved rounds, are what to compare, not absolute times.
"""

import argparse
import asyncio
import contextlib
import datetime
import http.client
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import psutil

from executor.languages.plan import expand_argv, heap_mb_for
from executor.languages.registry import all_plans
from executor.sandbox.box import CHILD_PATH
from executor.settings import Settings
from executor.testing import HostService, ServiceError, free_port, stack_baseline_source

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "bench" / "RESULTS.md"

LANGUAGES = ("python", "node", "java")
HELLO_SOURCE = {
    "python": ("main.py", "print('hello')\n"),
    "node": ("main.js", "console.log('hello')\n"),
    "java": (
        "Main.java",
        "public class Main {\n"
        "    public static void main(String[] args) {\n"
        '        System.out.println("hello");\n'
        "    }\n"
        "}\n",
    ),
}
HELLO_STDOUT = "hello\n"

THROUGHPUT_LEVELS = (1, 2, 4, 8)
BURST_SIZE = 1000
READY_TIMEOUT_S = 60.0
# /readyz is polled this often while a start is timed (each poll is a fresh connection).
READY_POLL_S = 0.002
REQUEST_TIMEOUT_S = 120.0
# uvicorn closes an idle keep-alive connection after 5 s; reconnect before that, untimed.
IDLE_RECONNECT_S = 2.0
RSS_SAMPLE_INTERVAL_S = 0.02
# After /readyz, measurements wait for the warm compilers and for the service to go idle: less
# than SETTLE_IDLE_FRACTION of a CPU used over SETTLE_WINDOW_S.
SETTLE_TIMEOUT_S = 120.0
SETTLE_WINDOW_S = 0.5
SETTLE_IDLE_FRACTION = 0.05

# Targets (ratios are measured / baseline): issue 11's (prewarmed runners) for latency, Python's
# CPU and throughput; issue 5's for Java's CPU and for the start.
TARGET_LATENCY_RATIO = {"python": 0.8, "node": 0.5, "java": 0.12}
TARGET_CPU_RATIO = {"python": 1.0, "java": 0.25}
TARGET_THROUGHPUT_RATIO_AT_2 = 1.0
TARGET_START_TO_READY_MS = 300.0
# Latency is what a request sees at a replica that is not busy: each request (and each bare
# run) follows a pause, long enough for what a run leaves behind (its box's cleanup, the start
# of the runner that replaces the one it used) to be done, as it is between a class's
# submissions. Back to back, a Node request instead waits for the runner the last one used to be
# replaced (about 50 ms of CPU); those figures are kept too, as information.
PACE_S = 0.2


class BenchError(RuntimeError):
    """The benchmark could not measure something (the service failed, a baseline failed)."""


@dataclass(frozen=True)
class Repetitions:
    """How many times each figure is measured; medians are taken over these."""

    starts: int  # fresh service starts for start-to-ready
    rounds: int  # interleaved rounds of (service batch, bare batch) per interpreted language
    batch: int  # hello worlds per round and side (CPU is a batch's delta over its size)
    java_rounds: int  # Java rounds (each a batch of compile+run per side)
    java_batch: int
    throughput_total: int  # executions per concurrency level, per side and round
    throughput_rounds: int
    burst_timeout_s: float


FULL = Repetitions(
    starts=7,
    rounds=7,
    batch=10,
    java_rounds=5,
    java_batch=3,
    # Concurrency 2 has a target: rounds of 48 (a third of a second a side) swung it by ±5%.
    throughput_total=120,
    throughput_rounds=5,
    burst_timeout_s=240.0,
)
QUICK = Repetitions(
    starts=3,
    rounds=3,
    batch=5,
    java_rounds=2,
    java_batch=2,
    throughput_total=24,
    throughput_rounds=1,
    burst_timeout_s=180.0,
)


@dataclass(frozen=True)
class Figure:
    """One row of the results table. ``passed`` is None for a figure without a target."""

    name: str
    measured: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None


@dataclass
class LanguageResult:
    """Latency and CPU of hello world through /execute and bare, per sample or per round."""

    api_wall_s: list[float] = field(default_factory=list)  # paced (PACE_S before each)
    api_cpu_s: list[float] = field(default_factory=list)  # per round: service tree CPU / batch
    bare_wall_s: list[float] = field(default_factory=list)  # paced
    api_wall_b2b_s: list[float] = field(default_factory=list)  # back to back
    bare_wall_b2b_s: list[float] = field(default_factory=list)
    bare_cpu_s: list[float] = field(default_factory=list)  # per round: children's rusage / batch
    run_wall_ms: list[int] = field(default_factory=list)  # wall_time_ms (+ compile's)
    run_cpu_ms: list[int] = field(default_factory=list)  # time_ms (+ compile's)
    compile_wall_ms: list[int] = field(default_factory=list)
    bare_compile_wall_s: list[float] = field(default_factory=list)


@dataclass
class BurstResult:
    """What the burst saw: answers, errors, latencies, and the service's memory and CPU."""

    ok: int = 0
    errors: int = 0
    rejected_429: int = 0
    latencies_s: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    timed_out: bool = False
    peak_tree_rss_kb: int = 0
    peak_service_rss_kb: int = 0
    idle_service_rss_kb: int = 0
    service_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    error_samples: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results file")
    args = parser.parse_args(argv)
    reps = QUICK if args.quick else FULL
    command = " ".join([".venv/bin/python", "bench/run.py", *(argv or sys.argv[1:])])
    load_at_start = os.getloadavg()[0]
    try:
        figures, details = run_benchmarks(reps)
    except (BenchError, ServiceError, OSError, http.client.HTTPException) as exc:
        print(f"bench: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    report = render_report(figures, details=details, command=command, load_at_start=load_at_start)
    args.output.write_text(report)
    print(report)
    missed = [f.name for f in figures if f.passed is False]
    if missed:
        print(f"bench: {len(missed)} target(s) missed: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


def run_benchmarks(reps: Repetitions) -> tuple[list[Figure], list[str]]:
    """Measure everything; returns the table rows and the detail lines for RESULTS.md."""
    _raise_open_files_limit(BURST_SIZE * 3 + 256)
    clock = time.monotonic()
    details: list[str] = []
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="executor-bench-") as scratch:
        print("bench: service start to ready ...", file=sys.stderr)
        starts, stack_starts = measure_starts(count=reps.starts, scratch=Path(scratch))
        import_s = _median_of(_import_cost_s, count=reps.starts)
        with Service.launch(scratch=Path(scratch)) as service:
            ready_s = service.wait_listening_and_ready()[1]
            warm_s, settled = service.wait_settled()
            runtimes = service.runtimes()
            api = Api(service.port)
            info = api.get_json("/info")
            details += _describe_service(info, runtimes)
            warm = (
                f"warm compilers ready {_ms(warm_s)} after spawn (until then Java compiles "
                "with a fresh javac)"
                if warm_s is not None
                else f"warm compilers NOT ready {SETTLE_TIMEOUT_S:.0f} s after /readyz"
            )
            idle = "once it was idle" if settled else "although it was still busy"
            details.append(
                f"- main service: ready {_ms(ready_s)} after spawn, {warm}; measured {idle}"
            )
            results: dict[str, LanguageResult | None] = {}
            for language in LANGUAGES:
                if language not in runtimes:
                    results[language] = None
                    continue
                print(f"bench: {language} latency and CPU ...", file=sys.stderr)
                bare = BareRun(language, binary=runtimes[language][1], scratch=Path(scratch))
                results[language] = measure_language(
                    api, service=service, bare=bare, language=language, reps=reps
                )
            throughput: dict[int, tuple[float, float]] = {}
            if "python" in runtimes:
                print("bench: throughput ...", file=sys.stderr)
                bare = BareRun("python", binary=runtimes["python"][1], scratch=Path(scratch))
                throughput = measure_throughput(service.port, bare=bare, reps=reps)
            print(f"bench: burst of {BURST_SIZE} ...", file=sys.stderr)
            burst = measure_burst(service, timeout_s=reps.burst_timeout_s)
    figures += _latency_figures(results)
    figures += _throughput_figures(throughput)
    figures.append(_start_figure(starts, stack=stack_starts))
    figures += _burst_figures(burst)
    details += _language_details(results)
    details += _start_details(starts, stack=stack_starts, import_s=import_s)
    details += _burst_details(burst)
    details.append(f"- benchmark duration: {time.monotonic() - clock:.0f} s")
    return figures, details


# -- the service ---------------------------------------------------------------------------------


class Service(HostService):
    """The service as a child process on a loopback port (executor.testing), with what the
    benchmark reads of its process tree."""

    @classmethod
    def launch(cls, *, scratch: Path) -> Self:
        """Spawn ``python -m executor serve`` with default settings (no EXECUTOR_* variable),
        its log in ``scratch``; returns at once."""
        return cls.spawn(log_dir=scratch, cwd=REPO)

    def wait_listening_and_ready(self) -> tuple[float, float]:
        """Poll /readyz until 200; returns seconds from spawn to the first HTTP answer (any
        status: the socket listens) and to the first 200. Raises ServiceError on timeout or
        exit."""
        readiness = self.wait_ready(timeout_s=READY_TIMEOUT_S, poll_interval_s=READY_POLL_S)
        return readiness.listening_s, readiness.ready_s

    def wait_settled(self) -> tuple[float | None, bool]:
        """After /readyz: wait until every warm compiler in /info is ready and the service tree
        is idle (its start-up work, such as warming a compiler, would otherwise be counted in
        the first measurements), for SETTLE_TIMEOUT_S at most. Returns the seconds from spawn
        until the warm compilers were ready (None if they were not by then) and whether the
        service went idle."""
        deadline = time.perf_counter() + SETTLE_TIMEOUT_S
        warm_at: float | None
        try:
            warm_at = self.wait_warm(timeout_s=SETTLE_TIMEOUT_S, poll_interval_s=0.02)
        except ServiceError:
            warm_at = None
        while time.perf_counter() < deadline:
            before = self.tree_cpu_s()
            time.sleep(SETTLE_WINDOW_S)
            if self.tree_cpu_s() - before <= SETTLE_WINDOW_S * SETTLE_IDLE_FRACTION:
                return warm_at, True
        return warm_at, False

    def runtimes(self) -> dict[str, tuple[str, str]]:
        """language → (version, binary) from the log lines ``runtime python 3.11.2: /usr/bin/…``."""
        found = {}
        for match in re.finditer(r"runtime (\w+) (\S+): (/\S+)", self.log()):
            found[match.group(1)] = (match.group(2), match.group(3))
        return found

    def tree_cpu_s(self) -> float:
        """CPU of the service, of its live descendants (a long-lived helper such as the warm
        compiler's JVM) and of every child any of them reaped, in seconds. Read between
        requests, when every process of a run has been reaped (the service waits for them before
        it answers), so no process is counted twice or missed."""
        root = psutil.Process(self.pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total

    def rss_kb(self) -> tuple[int, int]:
        """(RSS of the whole process tree, RSS of the service process alone), KB."""
        try:
            root = psutil.Process(self.pid)
            own = root.memory_info().rss
            children = root.children(recursive=True)
        except psutil.Error:
            return 0, 0
        total = own
        for child in children:
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total // 1024, own // 1024


class Api:
    """One keep-alive HTTP/1.1 connection (stdlib: costs the client far less CPU than httpx)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        self.last_used = 0.0

    def prepare(self) -> None:
        """Reconnect, untimed, when uvicorn may have closed the idle connection."""
        if time.monotonic() - self.last_used > IDLE_RECONNECT_S:
            self.conn.close()
            self.conn.connect()

    def execute(self, language: str, code: str) -> dict[str, Any]:
        """POST /execute; the response body. Raises BenchError unless it is a 200 with status ok
        and stdout ``hello``."""
        body = json.dumps({"language": language, "code": code}).encode()
        self.conn.request(
            "POST", "/execute", body=body, headers={"Content-Type": "application/json"}
        )
        response = self.conn.getresponse()
        payload = response.read()
        self.last_used = time.monotonic()
        if response.status != 200:
            raise BenchError(f"POST /execute {language}: {response.status} {payload[:300]!r}")
        result: dict[str, Any] = json.loads(payload)
        if result["status"] != "ok" or result["stdout"] != HELLO_STDOUT:
            raise BenchError(f"POST /execute {language}: unexpected result {result}")
        return result

    def get_json(self, path: str) -> dict[str, Any]:
        self.prepare()
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        payload = response.read()
        self.last_used = time.monotonic()
        if response.status != 200:
            raise BenchError(f"GET {path}: {response.status} {payload[:300]!r}")
        found: dict[str, Any] = json.loads(payload)
        return found


# -- the bare baseline ---------------------------------------------------------------------------


class BareRun:
    """Hello world with the service's interpreter and flags, spawned directly as fresh processes
    (Java: javac then java in a fresh directory, as the service does)."""

    def __init__(self, language: str, *, binary: str, scratch: Path) -> None:
        self.language = language
        self.file_name, self.source = HELLO_SOURCE[language]
        self.steps = _bare_argvs(language, binary=binary, file_name=self.file_name)
        self.dir = Path(tempfile.mkdtemp(prefix=f"bare-{language}-", dir=scratch))
        (self.dir / self.file_name).write_text(self.source)

    def once(self) -> tuple[float, float, float]:
        """Run it once: (wall s, CPU s of the children by rusage, wall s of the compile step)."""
        t0 = time.perf_counter()
        cwd = self.dir
        if len(self.steps) > 1:
            cwd = Path(tempfile.mkdtemp(dir=self.dir))
            (cwd / self.file_name).write_text(self.source)
        cpu = 0.0
        compile_wall = 0.0
        try:
            for i, argv in enumerate(self.steps):
                out, step_cpu = _spawn_measured(argv, cwd=cwd)
                cpu += step_cpu
                if i < len(self.steps) - 1:
                    compile_wall = time.perf_counter() - t0
                elif out != HELLO_STDOUT.encode():
                    raise BenchError(f"bare {self.language} printed {out!r}")
        finally:
            if cwd != self.dir:
                shutil.rmtree(cwd, ignore_errors=True)
        return time.perf_counter() - t0, cpu, compile_wall


def _bare_argvs(language: str, *, binary: str, file_name: str) -> list[list[str]]:
    """The service's own commands for this language (its plan's templates, filled as the
    service fills them under its default limits), to be spawned without the sandbox."""
    plan = {p.name: p for p in all_plans()}[language]
    toolchain = plan.probe_toolchain(binary)
    if toolchain is None:
        raise BenchError(f"{binary} does not answer {language}'s version probe")
    defaults = Settings()
    main_class = plan.main_class(file_name, HELLO_SOURCE[language][1])
    steps = []
    if plan.compile_argv is not None:
        compile_heap_mb = heap_mb_for(defaults.compile_memory_mb * 1024)
        steps.append(expand_argv(plan.compile_argv, toolchain=toolchain, main=file_name,
                                 main_class=main_class, heap_mb=compile_heap_mb,
                                 sources=(file_name,)))  # fmt: skip
    run_heap_mb = heap_mb_for(defaults.limit_default("memory_mb") * 1024)
    steps.append(expand_argv(plan.run_argv, toolchain=toolchain, main=file_name,
                             main_class=main_class, heap_mb=run_heap_mb,
                             tmp_dir=tempfile.gettempdir()))  # fmt: skip
    return [list(step) for step in steps]


def _spawn_measured(argv: list[str], *, cwd: Path) -> tuple[bytes, float]:
    """Run ``argv`` to its end; (stdout, its CPU seconds from wait4's rusage)."""
    env = {"PATH": CHILD_PATH, "HOME": str(cwd), "TMPDIR": str(cwd), "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    # Reading one pipe then the other is safe: a hello world writes far less than a pipe holds.
    out = proc.stdout.read()
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise BenchError(f"{argv[0]} exited with {proc.returncode}: {err[:300]!r}")
    return out, usage.ru_utime + usage.ru_stime


# -- measurements --------------------------------------------------------------------------------


def measure_starts(*, count: int, scratch: Path) -> tuple[list[tuple[float, float]], list[float]]:
    """Start a fresh service ``count`` times: (spawn → listening s, spawn → ready s) each; and,
    just before each, the stack alone (executor.testing's stack_baseline_source: the service's
    libraries answering /readyz, none of its code), spawn → ready s: the baseline."""
    samples = []
    stack = []
    for _ in range(count):
        port = free_port()
        source = stack_baseline_source(host="127.0.0.1", port=port)
        with HostService.spawn(
            log_dir=scratch, port=port, command=[sys.executable, "-I", "-c", source]
        ) as baseline:
            stack.append(
                baseline.wait_ready(timeout_s=READY_TIMEOUT_S, poll_interval_s=READY_POLL_S).ready_s
            )
        with Service.launch(scratch=scratch) as service:
            samples.append(service.wait_listening_and_ready())
    return samples, stack


def measure_language(
    api: Api, *, service: Service, bare: BareRun, language: str, reps: Repetitions
) -> LanguageResult:
    """Hello world through /execute and bare, in interleaved rounds so drift hits both alike:
    each round a paced batch per side (PACE_S before each request and each bare run: the
    latency figures), then a back-to-back batch per side. CPU is a back-to-back batch's delta
    of the service tree over its size, read after a pause so that it includes what each request
    leaves to do after its answer, and little of an idle service's own (/proc reports a
    process's CPU in 10 ms ticks: one request alone is too coarse)."""
    code = bare.source
    result = LanguageResult()
    java = language == "java"
    rounds, batch = (reps.java_rounds, reps.java_batch) if java else (reps.rounds, reps.batch)
    for _ in range(2):  # warm the page cache and the service's code paths
        api.prepare()
        api.execute(language, code)
        bare.once()
    for _ in range(rounds):
        for _ in range(batch):
            time.sleep(PACE_S)
            result.api_wall_s.append(_timed_request(api, language, code, result))
        for _ in range(batch):
            time.sleep(PACE_S)
            wall, _, compile_wall = bare.once()
            result.bare_wall_s.append(wall)
            if java:
                result.bare_compile_wall_s.append(compile_wall)
        time.sleep(PACE_S)
        api.prepare()
        cpu_before = service.tree_cpu_s()
        for _ in range(batch):
            result.api_wall_b2b_s.append(_timed_request(api, language, code, None))
        # What the last request left to do (cleanup, a replacement runner) is part of its cost.
        time.sleep(PACE_S)
        result.api_cpu_s.append((service.tree_cpu_s() - cpu_before) / batch)
        cpu = 0.0
        for _ in range(batch):
            wall, step_cpu, _ = bare.once()
            result.bare_wall_b2b_s.append(wall)
            cpu += step_cpu
        result.bare_cpu_s.append(cpu / batch)
    return result


def _timed_request(api: Api, language: str, code: str, result: LanguageResult | None) -> float:
    """One /execute of hello world: its latency (s), recording the service's own figures in
    ``result`` when given."""
    api.prepare()
    t0 = time.perf_counter()
    response = api.execute(language, code)
    wall = time.perf_counter() - t0
    if result is not None:
        compiled = response.get("compile") or {}
        result.run_wall_ms.append(response["wall_time_ms"] + compiled.get("wall_time_ms", 0))
        result.run_cpu_ms.append(response["time_ms"] + compiled.get("time_ms", 0))
        if compiled:
            result.compile_wall_ms.append(compiled["wall_time_ms"])
    return wall


def measure_throughput(
    port: int, *, bare: BareRun, reps: Repetitions
) -> dict[int, tuple[float, float]]:
    """Python hello worlds per second at each concurrency level: c client threads over keep-alive
    connections against c threads spawning the bare interpreter. level → (api, bare) medians."""
    api_rates: dict[int, list[float]] = {c: [] for c in THROUGHPUT_LEVELS}
    bare_rates: dict[int, list[float]] = {c: [] for c in THROUGHPUT_LEVELS}
    for _ in range(reps.throughput_rounds):
        for c in THROUGHPUT_LEVELS:
            per_thread = reps.throughput_total // c
            api_works = [_api_worker(port, code=bare.source, count=per_thread) for _ in range(c)]
            api_rates[c].append(per_thread * c / _run_parallel(api_works))
            bare_works = [_bare_worker(bare, count=per_thread) for _ in range(c)]
            bare_rates[c].append(per_thread * c / _run_parallel(bare_works))
    return {
        c: (statistics.median(api_rates[c]), statistics.median(bare_rates[c]))
        for c in THROUGHPUT_LEVELS
    }


def _api_worker(port: int, *, code: str, count: int) -> Callable[[], None]:
    """A thread's work: ``count`` Python hello worlds over its own connection, opened now so
    that connecting is not timed."""
    api = Api(port)
    api.conn.connect()

    def work() -> None:
        for _ in range(count):
            api.execute("python", code)
        api.conn.close()

    return work


def _bare_worker(bare: BareRun, *, count: int) -> Callable[[], None]:
    def work() -> None:
        for _ in range(count):
            bare.once()

    return work


def measure_burst(service: Service, *, timeout_s: float) -> BurstResult:
    """BURST_SIZE Python hello worlds sent at once over as many connections; a 429 is retried
    after its Retry-After. Each prints its own number, so a mixed-up answer is caught. The
    service tree's RSS is sampled meanwhile."""
    result = BurstResult()
    result.idle_service_rss_kb = service.rss_kb()[1]
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.is_set():
            tree, own = service.rss_kb()
            result.peak_tree_rss_kb = max(result.peak_tree_rss_kb, tree)
            result.peak_service_rss_kb = max(result.peak_service_rss_kb, own)
            stop.wait(RSS_SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample_rss, daemon=True)
    service_cpu = service.tree_cpu_s()
    client_cpu = time.process_time()
    sampler.start()
    try:
        asyncio.run(_burst(service.port, result, timeout_s=timeout_s))
    finally:
        stop.set()
        sampler.join()
    result.service_cpu_s = service.tree_cpu_s() - service_cpu
    result.client_cpu_s = time.process_time() - client_cpu
    return result


async def _burst(port: int, result: BurstResult, *, timeout_s: float) -> None:
    # A fresh connection per attempt. With keep-alive, this client (1,000 tasks sharing a CPU
    # with the service) reads a response seconds after it was sent, so a pooled connection it
    # reuses may have passed uvicorn's 5 s keep-alive timeout: the server closes it as the
    # request arrives and the POST fails with ECONNRESET (the keep-alive race of RFC 9112
    # 9.3.1). That is the client's lag, not a service error, so it is kept out of the count.
    limits = httpx.Limits(max_connections=BURST_SIZE, max_keepalive_connections=0)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=timeout
    ) as client:

        async def one(i: int) -> None:
            body = {"language": "python", "code": f"print('hello {i}')\n"}
            t0 = time.perf_counter()
            while True:
                try:
                    response = await client.post("/execute", json=body)
                except httpx.HTTPError as exc:
                    _burst_error(result, message=f"request {i}: {type(exc).__name__}: {exc}")
                    return
                if response.status_code == 429:
                    result.rejected_429 += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                    continue
                break
            payload = response.json() if response.status_code == 200 else {}
            if payload.get("status") == "ok" and payload.get("stdout") == f"hello {i}\n":
                result.ok += 1
                result.latencies_s.append(time.perf_counter() - t0)
            else:
                _burst_error(
                    result, message=f"request {i}: {response.status_code} {response.text[:200]}"
                )

        t0 = time.perf_counter()
        tasks = [asyncio.create_task(one(i)) for i in range(BURST_SIZE)]
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        result.duration_s = time.perf_counter() - t0
        if pending:
            result.timed_out = True
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _burst_error(result: BurstResult, *, message: str) -> None:
    result.errors += 1
    if len(result.error_samples) < 5:
        result.error_samples.append(message)


def _run_parallel(works: list[Callable[[], None]]) -> float:
    """Run each callable in its own thread, all released at once; seconds until all are done.
    A failure in any of them is raised."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(works) + 1)

    def wrap(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in works]
    for thread in threads:
        thread.start()
    barrier.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    if failures:
        raise BenchError(f"throughput worker failed: {failures[0]}")
    return elapsed


# -- figures and the report ----------------------------------------------------------------------


def _latency_figures(results: dict[str, LanguageResult | None]) -> list[Figure]:
    figures = []
    for language in LANGUAGES:
        r = results.get(language)
        label = {"python": "Python", "node": "Node", "java": "Java (compile + run)"}[language]
        if r is None:
            figures.append(Figure(f"{label} hello world", "not offered", "—", "—", "—", False))
            continue
        api_wall, bare_wall = _median(r.api_wall_s), _median(r.bare_wall_s)
        api_cpu, bare_cpu = _median(r.api_cpu_s), _median(r.bare_cpu_s)
        wall_ratio, cpu_ratio = api_wall / bare_wall, api_cpu / bare_cpu
        wall_target = TARGET_LATENCY_RATIO[language]
        cpu_target = TARGET_CPU_RATIO.get(language)
        figures.append(
            Figure(
                f"{label} hello world latency, POST /execute vs bare",
                _ms(api_wall),
                _ms(bare_wall),
                _ratio(wall_ratio),
                f"≤ {_ratio(wall_target)}",
                wall_ratio <= wall_target,
            )
        )
        b2b_api, b2b_bare = _median(r.api_wall_b2b_s), _median(r.bare_wall_b2b_s)
        figures.append(
            Figure(
                f"{label} hello world latency back to back (no pause), POST /execute vs bare",
                _ms(b2b_api),
                _ms(b2b_bare),
                _ratio(b2b_api / b2b_bare),
                "— (none set)",
                None,
            )
        )
        figures.append(
            Figure(
                f"{label} CPU per submission, service tree vs bare",
                _ms(api_cpu),
                _ms(bare_cpu),
                _ratio(cpu_ratio),
                f"≤ {_ratio(cpu_target)}" if cpu_target is not None else "— (none set)",
                cpu_ratio <= cpu_target if cpu_target is not None else None,
            )
        )
    return figures


def _throughput_figures(throughput: dict[int, tuple[float, float]]) -> list[Figure]:
    if not throughput:
        return [Figure("Python throughput", "python not offered", "—", "—", "—", False)]
    figures = []
    for c, (api_rate, bare_rate) in throughput.items():
        ratio = api_rate / bare_rate
        gated = c == 2
        figures.append(
            Figure(
                f"Python throughput at concurrency {c}, /execute vs bare spawns",
                f"{api_rate:.1f}/s",
                f"{bare_rate:.1f}/s",
                _ratio(ratio),
                f"≥ {_ratio(TARGET_THROUGHPUT_RATIO_AT_2)}" if gated else "— (none set)",
                ratio >= TARGET_THROUGHPUT_RATIO_AT_2 if gated else None,
            )
        )
    return figures


def _start_figure(starts: list[tuple[float, float]], *, stack: list[float]) -> Figure:
    ready = _median([s[1] for s in starts])
    stack_ready = _median(stack)
    return Figure(
        "Service start to ready (spawn → /readyz 200); baseline: the stack alone",
        _ms(ready),
        _ms(stack_ready),
        _ratio(ready / stack_ready),
        f"< {TARGET_START_TO_READY_MS:.0f} ms",
        ready * 1000 < TARGET_START_TO_READY_MS,
    )


def _burst_figures(burst: BurstResult) -> list[Figure]:
    complete = burst.ok == BURST_SIZE and burst.errors == 0 and not burst.timed_out
    lat = sorted(burst.latencies_s)
    percentiles = ", ".join(f"p{p} {_ms(_percentile(lat, p=p))}" for p in (50, 95, 99)) or "—"
    return [
        Figure(
            f"Burst of {BURST_SIZE:,} Python hello worlds: complete and correct",
            f"{burst.ok:,} ok, {burst.errors} errors" + (" (timed out)" if burst.timed_out else ""),
            "—",
            "—",
            f"{BURST_SIZE:,} ok, 0 errors",
            complete,
        ),
        Figure(
            "Burst latency (first send → correct answer, 429 retries included)",
            percentiles,
            "—",
            "—",
            "— (none set)",
            None,
        ),
        Figure(
            "Burst peak RSS of the service tree (service alone)",
            f"{burst.peak_tree_rss_kb / 1024:.0f} MB ({burst.peak_service_rss_kb / 1024:.0f} MB)",
            f"{burst.idle_service_rss_kb / 1024:.0f} MB idle",
            "—",
            "— (none set)",
            None,
        ),
    ]


def _describe_service(info: dict[str, Any], runtimes: dict[str, tuple[str, str]]) -> list[str]:
    layers = ", ".join(
        f"{layer['name']} {'on' if layer['active'] else 'off'}"
        for layer in info["isolation"]["layers"]
    )
    load = info["load"]
    lines = [
        f"- service: executor {info['version']}, host mode as uid {os.geteuid()}, isolation "
        f"{info['isolation']['mode']} ({layers}), concurrency {load['concurrency']}, "
        f"queue {load['queue_size']} (defaults)",
    ]
    for language, (version, binary) in sorted(runtimes.items()):
        lines.append(f"- {language} {version}: `{binary}` (the service's choice; bare runs use it)")
    return lines


def _language_details(results: dict[str, LanguageResult | None]) -> list[str]:
    lines = []
    for language, r in results.items():
        if r is None:
            continue
        overhead = _median(r.api_wall_s) * 1000 - statistics.median(r.run_wall_ms)
        cpu_overhead = _median(r.api_cpu_s) * 1000 - statistics.median(r.run_cpu_ms)
        line = (
            f"- {language}: {len(r.api_wall_s)} requests and {len(r.bare_wall_s)} bare runs; "
            f"the service reported wall_time_ms {statistics.median(r.run_wall_ms)} and time_ms "
            f"{statistics.median(r.run_cpu_ms)} (medians, compile included), so ≈ "
            f"{overhead:.1f} ms of latency and ≈ {cpu_overhead:.1f} ms of CPU per request are "
            f"spent outside the sandboxed processes' own lifetime; latency spread (min to max) "
            f"{_ms(min(r.api_wall_s))} to "
            f"{_ms(max(r.api_wall_s))} vs bare {_ms(min(r.bare_wall_s))} to "
            f"{_ms(max(r.bare_wall_s))}"
        )
        if r.compile_wall_ms:
            line += (
                f"; compile wall_time_ms {statistics.median(r.compile_wall_ms)} vs bare javac "
                f"{_ms(_median(r.bare_compile_wall_s))}"
            )
        lines.append(line)
    return lines


def _start_details(
    starts: list[tuple[float, float]], *, stack: list[float], import_s: float
) -> list[str]:
    return [
        f"- start: {len(starts)} fresh services; spawn → listening (first HTTP answer) "
        f"{_ms(_median([s[0] for s in starts]))}, → ready {_ms(_median([s[1] for s in starts]))} "
        f"(each: {', '.join(_ms(s[1]) for s in starts)}); `import executor.cli` takes "
        f"{_ms(import_s)} of that (timed inside a fresh interpreter); the stack alone "
        "(uvicorn, Starlette, pydantic, prometheus-client and python-json-logger answering "
        "/readyz, no code of the service: `stack_baseline_source` in executor/testing.py), "
        "started just before each "
        f"service, → ready {_ms(_median(stack))} (each: {', '.join(_ms(s) for s in stack)})",
    ]


def _burst_details(burst: BurstResult) -> list[str]:
    lines = [
        f"- burst: {burst.duration_s:.1f} s for all; {burst.rejected_429:,} answers were 429 and "
        f"retried after Retry-After (a fresh connection per attempt); "
        f"{burst.ok / burst.duration_s if burst.duration_s else 0:.1f} executions/s; CPU used "
        f"meanwhile: service tree {burst.service_cpu_s:.1f} s, this client "
        f"{burst.client_cpu_s:.1f} s (both on the same {os.cpu_count()} CPUs); RSS sampled "
        f"every {RSS_SAMPLE_INTERVAL_S * 1000:.0f} ms",
    ]
    lines += [f"  - error: {sample}" for sample in burst.error_samples]
    return lines


def render_report(
    figures: list[Figure], *, details: list[str], command: str, load_at_start: float
) -> str:
    """RESULTS.md: machine, date, command, the table, then how each figure was measured."""
    memory_gib = psutil.virtual_memory().total / 2**30
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        "| figure | measured | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        verdict = {True: "PASS", False: "**MISS**", None: "info"}[f.passed]
        rows.append(
            f"| {f.name} | {f.measured} | {f.baseline} | {f.ratio} | {f.target} | {verdict} |"
        )
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"- date: {now}",
            f"- command: `{command}`",
            f"- machine: {os.cpu_count()} CPUs ({_cpu_model()}), {memory_gib:.1f} GiB memory, "
            f"Linux {platform.release()}, Python {platform.python_version()} (client)",
            f"- code: {_code_version()}",
            f"- load average (1 min) at the start and end of the run: {load_at_start:.2f}, "
            f"{os.getloadavg()[0]:.2f} (other work on the machine makes every figure noisier)",
            "",
            *rows,
            "",
            "Latency and throughput are medians of wall times seen by the client (keep-alive "
            "HTTP on 127.0.0.1); bare is the same interpreter binary and flags spawned directly "
            "(Java: `javac` then `java` in a fresh directory). Latency: one request at a time, "
            f"each (and each bare run) after a pause of {PACE_S * 1000:.0f} ms, as requests "
            "reach a replica that is not busy; back to back: the same without the pause (a "
            "request then also waits for what the last one left to do). CPU: the service "
            "process's own CPU plus that of its live descendants and of every child reaped, per "
            "request (a back-to-back batch's delta over its size, read after a pause so that the "
            "cleanup and the replacement runner each request leaves behind are counted), "
            "against the bare children's rusage.",
            "",
            "## Details",
            "",
            *details,
            "",
        ]
    )


# -- helpers -------------------------------------------------------------------------------------


def _raise_open_files_limit(wanted: int) -> None:
    # The burst's connections are sockets on both sides; the service inherits this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def _import_cost_s() -> float:
    """Wall time of ``import executor.cli`` in a fresh interpreter, as the service imports it
    (the collector paused: executor/launch.py), timed inside it: the interpreter's own start and
    its teardown at exit (about 300 ms here, with every module loaded) are not the import's."""
    probe = (
        "import gc, time; gc.disable(); t = time.perf_counter(); import executor.cli; "
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True
    )
    return float(done.stdout)


def _median_of(measure: Callable[[], float], *, count: int) -> float:
    return statistics.median(measure() for _ in range(count))


def _median(values: list[float]) -> float:
    if not values:
        raise BenchError("no samples")
    return statistics.median(values)


def _percentile(sorted_values: list[float], *, p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def _code_version() -> str:
    """The commit measured, and whether executor/ had uncommitted changes then."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, check=True
        ).stdout.decode()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "executor"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    dirty = f" + uncommitted changes to {len(changed.splitlines())} path(s) in executor/"
    return f"git {head.strip()}{dirty if changed.strip() else ''}"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
