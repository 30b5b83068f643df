"""A real executor service for the client tests.

REPLACE with executor.testing (the shared harness being written for issue 8) when it lands: this
small starter only exists so that these tests do not wait for it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0


@dataclass
class RunningService:
    """``python -m executor serve`` on a loopback port."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(
    directory: Path, *, port: int | None = None, env: dict[str, str] | None = None
) -> RunningService:
    """Start the service (as this process's user: root in CI) and return without waiting."""
    port = port if port is not None else free_port()
    log_path = directory / f"executor-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "executor", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
            cwd=REPO,
        )
    return RunningService(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)


def wait_ready(service: RunningService) -> RunningService:
    """Poll /readyz until 200; fail with the service's log if it exits or never gets ready."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=service.url, timeout=5) as http:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"executor exited with {service.process.returncode}:\n{service.log()}"
                )
            try:
                if http.get("/readyz").status_code == 200:
                    return service
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"executor not ready after {READY_TIMEOUT_S}s:\n{service.log()}")


def stop_service(service: RunningService) -> None:
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGTERM)
        try:
            service.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service with every language, for the tests that need no special settings."""
    running = wait_ready(start_service(tmp_path_factory.mktemp("client-service")))
    yield running
    stop_service(running)


@pytest.fixture
def single_slot_service(tmp_path: Path) -> Iterator[RunningService]:
    """A service that runs one submission at a time and queues none: the second is a 429."""
    running = wait_ready(
        start_service(tmp_path, env={"EXECUTOR_MAX_CONCURRENCY": "1", "EXECUTOR_MAX_QUEUE": "0"})
    )
    yield running
    stop_service(running)
