"""The harness itself: a service that cannot start is a clear error with its log, an answer
other than the one expected fails the test, a stopped service keeps its log, and the readiness
baseline of the benchmarks starts."""

import sys
from pathlib import Path

import pytest

from executor.testing import (
    HostService,
    ServiceError,
    UnexpectedStatus,
    free_port,
    stack_baseline_source,
)
from tests.support import REPO, Service


def test_a_service_that_exits_at_start_is_a_service_error_with_its_log(tmp_path: Path) -> None:
    """1. Start a service with an unknown setting (it exits with code 3 before listening).
    Expected: ServiceError naming the exit code, its log holding the service's message; the
    process is gone."""
    with pytest.raises(ServiceError) as raised:
        HostService.start(env={"EXECUTOR_NO_SUCH_SETTING": "1"}, log_dir=tmp_path, cwd=REPO)
    assert "exited with 3" in str(raised.value)
    assert "unknown setting EXECUTOR_NO_SUCH_SETTING" in raised.value.log


def test_a_log_outlives_its_own_directory(tmp_path: Path) -> None:
    """1. Spawn a service with no log directory; it exits at once (bad setting). 2. Stop it.
    Expected: the temporary directory is removed, the log still readable."""
    service = HostService.spawn(env={"EXECUTOR_NO_SUCH_SETTING": "1"}, cwd=REPO)
    assert service.process.wait(timeout=60) == 3
    service.stop()
    assert not service.log_path.parent.exists()
    assert "unknown setting EXECUTOR_NO_SUCH_SETTING" in service.log()


def test_an_unexpected_status_fails_the_test(service: Service) -> None:
    """1. POST /execute a request for a language that does not exist, expecting 200.
    Expected: UnexpectedStatus, an AssertionError carrying the status and the JSON error."""
    with pytest.raises(AssertionError) as raised:
        service.execute({"language": "cobol", "code": ""})
    assert isinstance(raised.value, UnexpectedStatus)
    assert raised.value.status == 400 and "unknown_language" in raised.value.body
    assert service.execute({"language": "cobol", "code": ""}, expect=400)["error"]["code"] == (
        "unknown_language"
    )


def test_the_stack_alone_answers_readyz(tmp_path: Path) -> None:
    """The baseline bench/run.py and images/measure.py time against the service's start.
    1. Spawn the stack alone (stack_baseline_source) on a free port, as bench/run.py does.
    Expected: /readyz answers 200 with the pydantic model's JSON; /metrics is not there (no code
    of the service runs)."""
    port = free_port()
    command = [sys.executable, "-I", "-c", stack_baseline_source(host="127.0.0.1", port=port)]
    with HostService.spawn(log_dir=tmp_path, port=port, command=command) as baseline:
        baseline.wait_ready(timeout_s=60)
        assert baseline.client.get("/readyz").json() == {"ready": True}
        assert baseline.client.get("/metrics").status_code == 404
