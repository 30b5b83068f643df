"""The warm javac server: same diagnostics and exit status as a fresh javac, killed and restarted
when a compile hangs, waited for while it starts, warmed up once ready, and a fresh javac
whenever it is down."""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    JAVA_PRINTS_ITS_PID,
    PROGRAMS,
    Service,
    execute_watching_runners,
    processes_of_uids,
    start_service,
    stop_service,
    wait_for_deferred_self_tests,
)

JAVAC_CASES = sorted(p.name for p in (PROGRAMS / "java" / "javac").glob("*.java"))


def fresh_javac(source: Path, tmp_path: Path) -> tuple[int, str]:
    """What `javac` says of this file, run directly with the options the service uses."""
    javac = os.path.join(os.path.dirname(os.path.realpath(shutil.which("java") or "")), "javac")
    workdir = tmp_path / source.stem
    workdir.mkdir()
    shutil.copy(source, workdir / source.name)
    done = subprocess.run(
        [javac, "-proc:none", "-encoding", "UTF-8", "-d", ".", source.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"},
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module", params=["warm", "fresh"])
def javac_service(
    request: pytest.FixtureRequest, service: Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The session's service (warm javac ready) and one with the warm compiler switched off."""
    if request.param == "warm":
        assert service.client.get("/info").json()["warm_compilers"]["java"]["ready"]
        yield service
        return
    fresh = start_service(tmp_path_factory.mktemp("fresh"), {"EXECUTOR_WARM_COMPILER": "false"})
    assert fresh.client.get("/info").json()["warm_compilers"] == {}
    yield fresh
    stop_service(fresh)


@pytest.mark.parametrize("name", JAVAC_CASES)
def test_diagnostics_match_fresh_javac(javac_service: Service, name: str, tmp_path: Path) -> None:
    source = PROGRAMS / "java" / "javac" / name
    exit_code, diagnostics = fresh_javac(source, tmp_path)
    result = javac_service.execute(
        {"language": "java", "files": [{"name": name, "content": source.read_text()}]}
    )
    compiled = result["compile"]
    assert compiled["exit_code"] == exit_code
    assert compiled["stderr"] + compiled["stdout"] == diagnostics
    assert result["status"] == ("ok" if exit_code == 0 else "compilation_error"), result


def test_compiler_messages_stop_at_the_compile_output_limit_on_both_paths(
    javac_service: Service,
) -> None:
    """1. One line of 20,000 undefined names: javac would print it with each of its 100 errors
    (about 40 MB). Expected, warm or fresh: compilation_error, javac's first 64 KB of messages
    and a line saying the compiler was stopped at the limit."""
    line = " ".join(f"int v{i} = u{i};" for i in range(20_000))
    code = f"public class Main {{ public static void main(String[] a) {{ {line} }} }}\n"
    result = javac_service.execute({"language": "java", "code": code})
    compiled = result["compile"]
    assert (result["status"], compiled["status"]) == ("compilation_error", "compilation_error")
    messages, stop_line = compiled["stderr"].rstrip("\n").rsplit("\n", 1)
    assert messages.startswith("Main.java:1: error: cannot find symbol")
    assert 60 * 1024 < len(messages.encode()) <= 64 * 1024
    assert stop_line.startswith("error: the compiler wrote more than 64 KB"), stop_line


def test_compiled_classes_run(service: Service) -> None:
    source = (PROGRAMS / "java" / "javac" / "Packaged.java").read_text()
    result = service.execute({"language": "java", "code": source})
    assert result["status"] == "ok", result
    assert result["stdout"] == "42\n"


def wait_for_warm(service: Service, *, starts: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = service.client.get("/info").json()["warm_compilers"]["java"]
        if state["ready"] and state["starts"] >= starts:
            return
        time.sleep(0.1)
    raise AssertionError(f"warm javac not ready with {starts} starts: {state}")


@pytest.fixture(scope="module")
def short_compile_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(
        tmp_path_factory.mktemp("short"), {"EXECUTOR_COMPILE_TIME_MS": "3000"}, warm=True
    )
    yield svc
    stop_service(svc)


def test_hanging_compile_is_killed_and_the_compiler_restarted(
    short_compile_service: Service,
) -> None:
    """1. A source makes javac's type inference exponential (minutes of CPU).
    2. The warm compiler passes its 3 s compile CPU limit and is killed.
    Expected: time_limit_exceeded with the compiler's message within seconds; the server is
    restarted, and the next submission compiles and runs."""
    svc = short_compile_service
    started = time.monotonic()
    result = svc.run_program("java", "javac_bomb")
    assert time.monotonic() - started < 15
    assert result["status"] == "time_limit_exceeded", result
    assert result["compile"]["status"] == "time_limit_exceeded"
    assert "3000 ms of CPU time" in result["compile"]["stderr"]
    wait_for_warm(svc, starts=2)
    hello = svc.run_program("java", "hello")
    assert hello["status"] == "ok" and hello["stdout"] == "Hello, world!\n"


def test_a_dead_warm_compiler_falls_back_to_fresh_javac(short_compile_service: Service) -> None:
    """1. The warm compiler's JVM is killed from outside. 2. A Java submission arrives.
    Expected: it compiles and runs (fresh javac, or the restarted server); never a stuck request."""
    svc = short_compile_service
    info = svc.client.get("/info").json()
    pool = info["isolation"]["uid_pool"]
    compiler_uid = pool["base"] + pool["size"]
    victims = processes_of_uids(compiler_uid, 1)
    assert victims, "the warm compiler runs as its own uid"
    for victim in victims:
        os.kill(int(victim.split()[0]), signal.SIGKILL)
    hello = svc.run_program("java", "hello")
    assert hello["status"] == "ok" and hello["stdout"] == "Hello, world!\n"
    wait_for_warm(svc, starts=info["warm_compilers"]["java"]["starts"] + 1)


@pytest.fixture
def starting_service(tmp_path: Path) -> Iterator[Service]:
    """A service of its own, returned as soon as /readyz is 200: its warm compiler is starting."""
    svc = start_service(tmp_path)
    yield svc
    stop_service(svc)


def test_a_submission_during_the_warm_compilers_start_waits_for_it(
    starting_service: Service,
) -> None:
    """1. A service turns ready; its warm compiler starts right after.
    2. A Java hello world arrives at once, while the compiler starts.
    Expected: it runs, compiled by the warm compiler once that is up (which has then answered
    two compiles: this one and the service's self-test), not by a fresh javac that would
    compete with it for the CPU. The warm-up compiles follow, and are not counted."""
    svc = starting_service
    hello = svc.run_program("java", "hello")
    assert hello["status"] == "ok" and hello["stdout"] == "Hello, world!\n"
    svc.wait_warm()
    wait_for_deferred_self_tests(svc)
    state = svc.client.get("/info").json()["warm_compilers"]["java"]
    assert state["ready"] and state["starts"] == 1
    assert state["compiles"] == 2, state
    assert state["warm_ups_left"] == 0


def test_a_submission_during_the_warm_compilers_start_runs_in_a_runner_started_meanwhile(
    starting_service: Service,
) -> None:
    """1. A service turns ready; its warm compiler and a Java runner start right after.
    2. A Java program printing its pid arrives at once; while it is answered, /info is read
    over and over for the runners that wait.
    Expected: the program ran in one of those runners (its pid is a runner's), not in a JVM
    started cold beside the compiler's start; the deferred self-test ran after it (the log's
    order), not beside it."""
    svc = starting_service
    body = {"language": "java", "code": JAVA_PRINTS_ITS_PID}
    answer, runner_pids = execute_watching_runners(svc, body, language="java")
    assert answer["status"] == "ok", answer
    assert int(str(answer["stdout"])) in runner_pids, (answer["stdout"], runner_pids)
    svc.wait_warm()
    wait_for_deferred_self_tests(svc)
    log = svc.log()
    assert log.index("POST /execute") < log.index("java: full self-test passed"), log[-3000:]
