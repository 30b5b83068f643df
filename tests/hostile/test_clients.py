"""Hostile and careless clients: answers nobody reads must not fill the replica's memory, and a
413 must reach a client that sends its whole body before reading."""

import concurrent.futures
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.hostile.support import Hostile, Target, assert_contained
from tests.support import program, wait_for

CLIENTS = 40
# The service may grow by less than this while CLIENTS answers of 6 MB wait for their clients.
GROWTH_LIMIT_MB = 100
SAMPLE_INTERVAL_S = 0.02
# A client's request: 1 MB of NUL bytes on stdout, kept whole (the output cap is 1 MB).
NUL_FLOOD = {
    "language": "python",
    **program("python", "hostile_nul_flood"),
    "limits": {"output_kb": 1024, "time_ms": 5000, "wall_time_ms": 10000},
}
# The service's default EXECUTOR_SEND_TIMEOUT_S, and time for it to act.
SEND_TIMEOUT_S = 10
STATUS_TIMEOUT_S = 180


def rss_kb(pid: int) -> int:
    """The resident memory of a process of this host (a container's service too), KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def cgroup_memory_kb(pid: int) -> int | None:
    """The memory charged to a process's memory cgroup (v2: memory.current; v1:
    memory.usage_in_bytes), KB; None where neither is found."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "memory":
            file = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.usage_in_bytes"
        elif controllers == "":
            file = Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.current"
        else:
            continue
        try:
            return int(file.read_text()) // 1024
        except OSError:
            continue
    return None


class Sampler(threading.Thread):
    """Samples the service's resident memory (and its cgroup's) until stopped; keeps peaks."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss_kb = rss_kb(pid)
        self.peak_cgroup_kb = cgroup_memory_kb(pid) or 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_INTERVAL_S):
            self.peak_rss_kb = max(self.peak_rss_kb, rss_kb(self.pid))
            self.peak_cgroup_kb = max(self.peak_cgroup_kb, cgroup_memory_kb(self.pid) or 0)


def metric(target: Target, name: str) -> float:
    """The value of a metric without labels in the service's /metrics."""
    text = target.service.client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (name, f"{name}_total"):
                return sample.value
    raise AssertionError(f"no {name} in /metrics")


def request_bytes(body: bytes) -> bytes:
    head = (
        "POST /execute HTTP/1.1\r\nHost: executor\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def submit_and_stop_reading(target: Target) -> tuple[socket.socket, int]:
    """Send a NUL flood request and read only the status line; a 429 (queue full) is tried
    again on a new connection. Returns the connection, left unread, and the status."""
    body = json.dumps(NUL_FLOOD).encode()
    deadline = time.monotonic() + STATUS_TIMEOUT_S
    while True:
        sock = socket.create_connection(("127.0.0.1", target.service.port))
        # The smallest receive buffer: this client takes (almost) nothing of its answer.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(STATUS_TIMEOUT_S)
        sock.sendall(request_bytes(body))
        status = int(sock.recv(12).split()[1])
        if status != 429 or time.monotonic() > deadline:
            return sock, status
        sock.close()
        time.sleep(1)


def unread_bytes_taken(sock: socket.socket) -> int | None:
    """Read what the connection still gives until it ends or stalls for 5 s: the byte count,
    or None when the service reset it (dropped the client)."""
    sock.settimeout(5)
    taken = 0
    try:
        while chunk := sock.recv(1 << 20):
            taken += len(chunk)
    except ConnectionResetError:
        return None
    except TimeoutError:
        pass
    return taken


def test_clients_that_never_read_large_answers_do_not_grow_the_service(hostile: Hostile) -> None:
    """1. 40 clients each ask for 1 MB of NUL bytes on stdout (6 MB of JSON: "\\u0000" each) and
    read nothing but the status line, while the service's memory is sampled.
    2. Wait past the send timeout. Expected: the service grew by less than 100 MB (resident;
    in a container, the container's memory too); each client got a 200 or a 503 (answers in
    flight over their budget; 429 is retried); the 200s that nobody read were dropped (reset)
    within the send timeout; the service is alive and contained."""
    target = hostile.target("python")
    dropped_before = metric(target, "executor_slow_readers_dropped")
    sampler = Sampler(target.pid)
    start_rss_kb, start_cgroup_kb = sampler.peak_rss_kb, sampler.peak_cgroup_kb
    sampler.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            clients = list(pool.map(lambda _: submit_and_stop_reading(target), range(CLIENTS)))
        statuses = sorted(status for _, status in clients)
        assert set(statuses) <= {200, 503}, statuses
        assert 200 in statuses, statuses
        # The answers are out and nobody reads them: the service drops each such client (in a
        # container, Docker's port proxy may take a whole answer into its buffers instead).
        wait_for(
            lambda: metric(target, "executor_answers_in_flight_bytes") == 0,
            timeout_s=SEND_TIMEOUT_S + 30,
            what="the service to hold no answer any more",
            interval_s=0.2,
        )
        dropped = metric(target, "executor_slow_readers_dropped") - dropped_before
    finally:
        sampler.done.set()
        sampler.join()
    rss_growth_mb = (sampler.peak_rss_kb - start_rss_kb) / 1024
    cgroup_growth_mb = (sampler.peak_cgroup_kb - start_cgroup_kb) / 1024
    print(
        f"{hostile.mode}: statuses {statuses}; resident +{rss_growth_mb:.0f} MB, cgroup "
        f"+{cgroup_growth_mb:.0f} MB, {dropped:.0f} of {statuses.count(200)} unread answers "
        "dropped"
    )
    try:
        assert rss_growth_mb < GROWTH_LIMIT_MB
        if target.container is None:
            # Nothing stands between the clients and the service: each was reset. (In a
            # container, Docker's port proxy reads answers into its own buffers.)
            assert dropped == statuses.count(200)
            outcomes = [unread_bytes_taken(sock) for sock, status in clients if status == 200]
            assert outcomes == [None] * len(outcomes)
        else:
            assert start_cgroup_kb > 0, "the container's memory cgroup was not found"
            assert cgroup_growth_mb < GROWTH_LIMIT_MB
    finally:
        for sock, _ in clients:
            sock.close()
    assert target.alive()
    assert_contained(hostile)


def test_a_413_reaches_a_client_that_sends_its_whole_body_first(hostile: Hostile) -> None:
    """1. urllib sends a 5 MB body (over the 4 MB maximum) in one piece, then reads.
    2. The same with a body of three times the maximum.
    Expected: both get the 413 JSON error (the service reads and drops the rest of the body
    before answering, as nginx's lingering close does), not a reset connection; the service
    still answers."""
    target = hostile.target("python")
    url = f"{target.service.url}/execute"
    for size_mb in (5, 12):
        body = json.dumps({"language": "python", "code": "", "stdin": "x" * (size_mb << 20)})
        request = urllib.request.Request(
            url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as answer:
            assert answer.code == 413
            assert json.loads(answer.read())["error"]["code"] == "body_too_large"
        else:
            raise AssertionError(f"a {size_mb} MB body was accepted")
    assert_contained(hostile)
