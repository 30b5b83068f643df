"""The harness itself: a service that cannot start is a clear error with its log, an answer
other than the one expected fails the test, and a stopped service keeps its log."""

from pathlib import Path

import pytest

from executor.testing import HostService, ServiceError, UnexpectedStatus
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
