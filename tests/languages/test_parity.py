"""Prewarmed runs behave as cold ones: the same programs give the same stdout, stderr, exit code,
signal and status from a zygote (EXECUTOR_PREWARM=true) as started afresh (false)."""

import os
import re
import signal
from collections.abc import Iterator

import pytest

from executor.testing import HostService
from tests.support import program

# Deterministic programs: their whole answer is the same every time.
pytestmark = pytest.mark.system

PYTHON_CORPUS = [
    ("hello", {}),
    ("args", {"args": ["one", "two words", "", "--flag"]}),
    ("echo_stdin", {"stdin": "line one\nline two"}),
    ("exception", {}),
    ("exit3", {}),
    ("crash", {}),
    ("invalid_utf8", {}),
    ("multi", {}),
    ("parity_chained", {}),
    ("parity_exit_in_finally", {}),
    ("parity_exit_codes", {}),
    ("parity_stdin_eof", {"stdin": "all of it"}),
    ("parity_introspection", {"args": ["x"]}),
    ("parity_atexit", {}),
    ("parity_finalizers", {}),
    ("parity_exit_message", {}),
    ("parity_exit_wraps", {}),
    ("parity_syntax_error", {}),
    ("parity_keyboard_interrupt", {}),
    ("parity_recursion", {}),
    ("parity_package", {}),
    ("memory_hog", {"limits": {"memory_mb": 64}}),
]
RUN_DIR = re.compile(r"/[\w/.-]*?/executor-runs[\w-]*/[0-9a-f]{24}/")
COMPARED = ("status", "exit_code", "signal", "stdout", "stderr")


@pytest.fixture(scope="module")
def services() -> Iterator[dict[bool, HostService]]:
    """A service with Python's zygote and one without, side by side."""
    env = {"EXECUTOR_LANGUAGES": "python", "EXECUTOR_MAX_CONCURRENCY": "2"}
    with (
        HostService.start(env={**env, "EXECUTOR_PREWARM": "true"}) as warm,
        HostService.start(env={**env, "EXECUTOR_PREWARM": "false"}) as cold,
    ):
        assert warm.info()["prewarm"]["zygotes"]["python"]["alive"]
        assert cold.info()["prewarm"]["zygotes"] == {}
        yield {True: warm, False: cold}


def answer(service: HostService, case: str, extra: dict[str, object]) -> dict[str, object]:
    result = service.execute({"language": "python", **program("python", case), **extra})
    # Each run has a directory of its own: its name is the one expected difference.
    return {k: RUN_DIR.sub("<run>/", v) if isinstance(v, str) else v for k, v in result.items()}


@pytest.mark.parametrize(("case", "extra"), PYTHON_CORPUS, ids=[c for c, _ in PYTHON_CORPUS])
def test_a_python_program_behaves_the_same_prewarmed(
    services: dict[bool, HostService], case: str, extra: dict[str, object]
) -> None:
    warm, cold = (answer(services[prewarmed], case, extra) for prewarmed in (True, False))
    assert {k: warm[k] for k in COMPARED} == {k: cold[k] for k in COMPARED}
    assert warm["status"] in ("ok", "runtime_error", "memory_limit_exceeded")


def test_a_dead_zygote_is_started_again_and_runs_start_cold_meanwhile(
    services: dict[bool, HostService],
) -> None:
    """1. Kill the zygote. 2. Run a hello world (it starts cold: the zygote is starting again).
    3. Run another. Expected: both ok; the zygote alive again, its start count up."""
    warm = services[True]
    before = warm.info()["prewarm"]["zygotes"]["python"]
    os.kill(before["pid"], signal.SIGKILL)
    for _ in range(2):
        result = warm.execute({"language": "python", **program("python", "hello")})
        assert (result["status"], result["stdout"]) == ("ok", "Hello, world!\n"), result
    after = warm.info()["prewarm"]["zygotes"]["python"]
    assert after["alive"] and after["pid"] != before["pid"]
    assert after["starts"] == before["starts"] + 1
