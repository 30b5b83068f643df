"""Load and faults: 2,000 requests from 200 concurrent clients with a hostile mix against one
service: no crash, no 500, every accepted request answered correctly, the service's memory
bounded (its peak printed), nothing left behind."""

import concurrent.futures
import json
import os
import secrets
import shutil
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Service, processes_of_uids, program, settled, start_service

CLIENTS = 200
REQUESTS_PER_CLIENT = 10
# The service's resident memory may peak at no more than this during the load.
PEAK_LIMIT_MB = 400
QUICK = {"time_ms": 500, "wall_time_ms": 1000}
# One in twenty requests of each kind: (kind, request, the statuses a correct answer has).
MIX = (
    *[("echo", None, {"ok"})] * 12,
    *[
        (
            "fork_bomb",
            {**program("python", "fork_bomb"), "limits": {**QUICK, "processes": 16}},
            {"time_limit_exceeded", "memory_limit_exceeded", "runtime_error"},
        )
    ]
    * 2,
    *[
        (
            "memory_hog",
            {**program("python", "memory_hog"), "limits": {**QUICK, "memory_mb": 64}},
            {"memory_limit_exceeded"},
        )
    ]
    * 2,
    ("flood", {**program("python", "flood"), "limits": {**QUICK, "output_kb": 64}}, None),
    ("spin", {**program("python", "spin"), "limits": {**QUICK, "time_ms": 200}}, None),
    *[("disconnect", None, None)] * 2,
)
EXPECTED = {"flood": {"output_limit_exceeded"}, "spin": {"time_limit_exceeded"}}


@pytest.fixture
def loaded_service(tmp_path: Path) -> Iterator[tuple[Service, Path]]:
    runs_dir = Path(f"/var/lib/executor-runs-test-{os.getpid()}-{time.monotonic_ns()}")
    env = {
        "EXECUTOR_LANGUAGES": "python",
        "EXECUTOR_MAX_QUEUE": str(2 * CLIENTS),
        "EXECUTOR_RUNS_DIR": str(runs_dir),
    }
    try:
        with start_service(tmp_path, env) as service:
            yield service, runs_dir
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)


def disconnect(service: Service) -> str:
    """Submit a 5 s program on a raw connection and close it 50 ms later (queued or running)."""
    body = json.dumps(
        {
            "language": "python",
            "code": "import time\ntime.sleep(5)",
            "limits": {"wall_time_ms": 6000},
        }
    ).encode()
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(
            b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(0.05)  # the point of the case: leave while it waits or runs
    return "disconnected"


def client(service: Service, number: int) -> list[str]:
    """One client's requests, in order; each outcome is "ok" or what went wrong."""
    outcomes = []
    with httpx.Client(base_url=service.url, timeout=120) as http:
        for turn in range(REQUESTS_PER_CLIENT):
            kind, request, expected = MIX[(number * REQUESTS_PER_CLIENT + turn) % len(MIX)]
            if kind == "disconnect":
                outcomes.append(disconnect(service))
                continue
            if kind == "echo":
                text = secrets.token_hex(16)
                request, want = {**program("python", "echo_stdin"), "stdin": text}, text
            else:
                want = None
            answer = http.post("/execute", json={"language": "python", **request})
            if answer.status_code == 429:
                outcomes.append("busy")
                continue
            if answer.status_code != 200:
                outcomes.append(f"{kind}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            result = answer.json()
            statuses = expected or EXPECTED[kind]
            if result["status"] not in statuses or (want is not None and result["stdout"] != want):
                outcomes.append(f"{kind}: wrong answer {json.dumps(result)[:300]}")
            else:
                outcomes.append("ok")
    return outcomes


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_two_thousand_hostile_requests_from_two_hundred_clients(
    loaded_service: tuple[Service, Path],
) -> None:
    """1. 200 clients at once send 10 requests each: 60 % echo a random text, 10 % fork bombs,
    10 % memory hogs, 5 % output floods, 5 % CPU spins, 10 % disconnect after 50 ms.
    Expected: no 500 and no other error; every answer correct (echoes exact, each hostile
    program its limit's status); 429s counted, not errors; the service alive; its peak
    resident memory printed and under 400 MB; afterwards no process of its uids and no run
    directory left."""
    service, runs_dir = loaded_service
    pool = service.info()["isolation"]["uid_pool"]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as threads:
        outcomes = [
            outcome
            for result in threads.map(lambda n: client(service, n), range(CLIENTS))
            for outcome in result
        ]
    elapsed_s = time.monotonic() - started
    counts = Counter(o if o in ("ok", "busy", "disconnected") else "wrong" for o in outcomes)
    peak_mb = peak_rss_mb(service.pid)
    print(
        f"{len(outcomes)} requests in {elapsed_s:.0f} s: {dict(counts)}; service peak resident "
        f"memory {peak_mb:.0f} MB"
    )
    assert len(outcomes) == CLIENTS * REQUESTS_PER_CLIENT
    assert [o for o in outcomes if o not in ("ok", "busy", "disconnected")] == []
    assert service.alive() and service.client.get("/healthz").status_code == 200
    assert peak_mb < PEAK_LIMIT_MB
    settled(service, timeout_s=60)
    assert processes_of_uids(pool["base"], pool["size"]) == []
    assert [p.name for p in runs_dir.iterdir() if not p.name.startswith(".")] == []
    assert "unexpected error" not in service.log()
