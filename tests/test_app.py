"""Lifecycle: startup settings errors, the bounded queue (429), and SIGTERM with work in flight."""

import concurrent.futures
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import start_service

SLEEP_1S = {"language": "python", "code": "import time\ntime.sleep(1)\nprint('done')"}


def run_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "executor", "serve", "--port", "1"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )


def test_bad_setting_stops_startup_naming_it() -> None:
    done = run_cli({"EXECUTOR_MAX_MEMORY_MB": "lots"})
    assert done.returncode == 3
    assert "EXECUTOR_MAX_MEMORY_MB='lots'" in done.stderr


def test_unknown_setting_stops_startup() -> None:
    done = run_cli({"EXECUTOR_MAX_MEMORY": "512"})
    assert done.returncode == 3
    assert "unknown setting EXECUTOR_MAX_MEMORY" in done.stderr


def test_default_above_maximum_stops_startup() -> None:
    done = run_cli({"EXECUTOR_DEFAULT_TIME_MS": "5000", "EXECUTOR_MAX_TIME_MS": "1000"})
    assert done.returncode == 3
    assert "EXECUTOR_DEFAULT_TIME_MS=5000 is above EXECUTOR_MAX_TIME_MS=1000" in done.stderr


@pytest.mark.system
def test_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    """1. One slot, no queue. 2. A 1 s program takes the slot. 3. A second request arrives.
    Expected: the second gets 429 with Retry-After; the first completes normally."""
    with (
        start_service(
            tmp_path, {"EXECUTOR_MAX_CONCURRENCY": "1", "EXECUTOR_MAX_QUEUE": "0"}
        ) as service,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        first = pool.submit(service.execute, SLEEP_1S)
        # Wait until the first request holds the slot, as /readyz reports it.
        while service.client.get("/readyz").json()["running"] == 0:
            assert not first.done(), first.result()
        busy = service.client.post("/execute", json=SLEEP_1S)
        assert busy.status_code == 429
        assert busy.json()["error"]["code"] == "busy"
        assert int(busy.headers["retry-after"]) >= 1
        assert first.result()["stdout"] == "done\n"


@pytest.mark.system
def test_sigterm_lets_running_work_finish(tmp_path: Path) -> None:
    """1. A 1 s program is running. 2. The service gets SIGTERM (ACA scaling in).
    Expected: the program's result is still delivered, then the service exits cleanly."""
    with start_service(tmp_path) as service:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(service.execute, SLEEP_1S)
            while service.client.get("/readyz").json()["running"] == 0:
                assert not running.done(), running.result()
            service.process.send_signal(signal.SIGTERM)
            assert running.result()["stdout"] == "done\n"
        # Uvicorn re-raises the captured SIGTERM once shutdown is complete.
        assert service.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Finished server process" in service.log()
