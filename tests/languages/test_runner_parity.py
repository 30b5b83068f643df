"""Runs handed to a runner started ahead behave as cold ones: the same Node and Java programs
give the same stdout, stderr, exit code, signal and status from a runner (EXECUTOR_PREWARM=true)
as started afresh (false); each case says whether a runner serves it, and that is checked."""

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from executor.testing import HostService
from tests.support import program, wait_for

pytestmark = pytest.mark.system

# (case, extra request fields, whether a runner serves it: False for a case that must start
# cold by design, an entry file other than main.js, limits other than the defaults' setup)
NODE_CORPUS: list[tuple[str, dict[str, Any], bool]] = [
    ("hello", {}, True),
    ("args", {"args": ["one", "two words", "", "--flag", "ünïcode"]}, True),
    ("echo_stdin", {"stdin": "line one\nline two"}, True),
    ("twice", {"stdin": "21\n"}, True),
    ("exception", {}, True),
    ("exit3", {}, True),
    ("crash", {}, True),
    ("invalid_utf8", {}, True),
    ("multi", {}, True),
    ("syntax_error", {}, True),
    ("fake_heap_out_of_memory", {}, True),
    ("flood", {}, True),
    ("memory_hog", {}, True),
    ("spin", {"limits": {"time_ms": 1500}}, True),
    ("sleep", {"limits": {"wall_time_ms": 1000}}, True),
    ("parity_chained", {}, True),
    ("parity_exit_codes", {}, True),
    ("parity_unhandled_rejection", {}, True),
    ("parity_rejection_value", {}, True),
    ("parity_stdin_eof", {"stdin": "all of it"}, True),
    ("parity_introspection", {"args": ["x", "y z"]}, True),
    ("parity_esm", {"args": ["a"]}, True),
    ("parity_relative", {}, True),
    ("parity_late_throw", {}, True),
    ("parity_flush_at_exit", {}, True),
    ("parity_workers", {}, True),
    ("parity_mjs", {"stdin": "12345"}, False),
    ("parity_introspection", {"limits": {"memory_mb": 128}}, False),
]
JAVA_CORPUS: list[tuple[str, dict[str, Any], bool]] = [
    ("Hello", {}, True),
    ("Args", {"args": ["one", "two words", "", "--flag", "ünïcode"]}, True),
    ("EchoStdin", {"stdin": "line one\nline two"}, True),
    ("Twice", {"stdin": "21\n"}, True),
    ("Uncaught", {}, True),
    ("Exit3", {}, True),
    ("InvalidUtf8", {}, True),
    ("multi", {}, True),
    ("FakeOutOfMemory", {}, True),
    ("Heap64", {}, True),
    ("Flood", {}, True),
    ("MemoryHog", {}, True),
    ("UnicodeCyrillicClass", {}, True),
    ("UnicodeLatinClass", {}, True),
    ("Spin", {"limits": {"time_ms": 1500}}, True),
    ("Sleep", {"limits": {"wall_time_ms": 1000}}, True),
    ("CompileError", {}, True),
    ("ParityChained", {}, True),
    ("ParityStaticExit", {}, True),
    ("ParityStaticThrow", {}, True),
    ("ParityExitCodes", {}, True),
    ("ParityStdinEof", {"stdin": "first\nsecond"}, True),
    ("ParityIntrospection", {"args": ["x", "y z"]}, True),
    ("ParityThreadException", {}, True),
    ("ParityFlushAtExit", {}, True),
    ("ParityNotPublic", {}, True),
    ("parity_package", {"args": ["a", "b"]}, True),
    # The launcher's own message: the runner declines it, and it starts cold (in its box).
    ("ParityNoMain", {}, True),
    ("ParityIntrospection", {"limits": {"memory_mb": 128}}, False),
]
RUN_DIR = re.compile(r"/[\w/.-]*?/executor-runs[\w-]*/[0-9a-f]{24}/")
COMPARED = ("status", "exit_code", "signal", "stdout", "stderr")
READY_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def services() -> Iterator[dict[bool, HostService]]:
    """A service with Node's and Java's runners and one without, side by side (four uids: a
    runner per language, two left for the rest), their warm compilers ready."""
    env = {"EXECUTOR_LANGUAGES": "node,java", "EXECUTOR_MAX_CONCURRENCY": "4"}
    with (
        HostService.start(env={**env, "EXECUTOR_PREWARM": "true"}, warm=True) as warm,
        HostService.start(env={**env, "EXECUTOR_PREWARM": "false"}, warm=True) as cold,
    ):
        assert cold.info()["prewarm"]["runners"] == []
        yield {True: warm, False: cold}


def idle_runner(service: HostService, language: str) -> int:
    """The pid of an idle runner of ``language``, once there is one."""
    found: list[int] = []

    def look() -> bool:
        runners = service.info()["prewarm"]["runners"]
        found[:] = [r["pid"] for r in runners if r["language"] == language and r["state"] == "idle"]
        return bool(found)

    wait_for(look, timeout_s=READY_TIMEOUT_S, what=f"an idle {language} runner", interval_s=0.05)
    return found[0]


def answer(service: HostService, language: str, case: str, extra: dict[str, Any]) -> dict:
    result = service.execute({"language": language, **program(language, case), **extra})
    # Each run has a directory of its own: its name is the one expected difference.
    return {k: RUN_DIR.sub("<run>/", v) if isinstance(v, str) else v for k, v in result.items()}


def compare(
    services: dict[bool, HostService],
    language: str,
    case: str,
    extra: dict[str, Any],
    prewarmed: bool,
) -> dict:
    warm_service = services[True]
    runner = idle_runner(warm_service, language)
    started = time.monotonic()
    warm = answer(warm_service, language, case, extra)
    after = [r["pid"] for r in warm_service.info()["prewarm"]["runners"]]
    # A runner serves it exactly when it was taken (it is no longer among the waiting ones).
    assert (runner not in after) == prewarmed, (runner, after, time.monotonic() - started)
    cold = answer(services[False], language, case, extra)
    assert {k: warm[k] for k in COMPARED} == {k: cold[k] for k in COMPARED}
    return warm


@pytest.mark.parametrize(
    ("case", "extra", "prewarmed"), NODE_CORPUS, ids=[f"{c}-{p}" for c, _, p in NODE_CORPUS]
)
def test_a_node_program_behaves_the_same_from_a_runner(
    services: dict[bool, HostService], case: str, extra: dict[str, Any], prewarmed: bool
) -> None:
    compare(services, "node", case, extra, prewarmed)


@pytest.mark.parametrize(
    ("case", "extra", "prewarmed"), JAVA_CORPUS, ids=[f"{c}-{p}" for c, _, p in JAVA_CORPUS]
)
def test_a_java_program_behaves_the_same_from_a_runner(
    services: dict[bool, HostService], case: str, extra: dict[str, Any], prewarmed: bool
) -> None:
    compare(services, "java", case, extra, prewarmed)


def test_a_java_crash_ends_the_same_from_a_runner(services: dict[bool, HostService]) -> None:
    """1. Run Crash (a write to address 0) from a runner and cold. Expected: the same status,
    signal and exit code; both report the JVM's fatal error (its text names a pid)."""
    warm = compare_loosely(services, "java", "Crash")
    assert "A fatal error has been detected by the Java Runtime Environment" in warm["stdout"]


def compare_loosely(services: dict[bool, HostService], language: str, case: str) -> dict:
    runner = idle_runner(services[True], language)
    warm = answer(services[True], language, case, {})
    assert runner not in [r["pid"] for r in services[True].info()["prewarm"]["runners"]]
    cold = answer(services[False], language, case, {})
    fields = ("status", "exit_code", "signal")
    assert {k: warm[k] for k in fields} == {k: cold[k] for k in fields}
    return warm
