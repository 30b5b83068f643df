"""Runners started ahead (executor/runners.py) against a real service: one that dies while
waiting is replaced and counted in /metrics; the pool and its memory hold show in /info."""

import hashlib
import os
import shutil
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from tests.support import runner_pids, start_service, wait_for, wait_for_deferred_self_tests
from tests.test_metrics import scrape

RUNNER_READY_TIMEOUT_S = 120


def wait_for_idle_runners(service: Any, language: str) -> list[int]:
    """The pids of ``language``'s idle runners, once there is one."""
    found: list[int] = []
    wait_for(
        lambda: found.extend(idle_runners(service.info(), language)) or found,
        timeout_s=RUNNER_READY_TIMEOUT_S,
        what=f"a {language} runner",
    )
    return found


def idle_runners(info: dict, language: str) -> list[int]:
    return [
        r["pid"]
        for r in info["prewarm"]["runners"]
        if r["language"] == language and r["state"] == "idle"
    ]


def test_a_runner_that_dies_while_waiting_is_replaced_and_counted(tmp_path: Path) -> None:
    """1. Start a service offering Node, with runners. 2. Once a runner waits, kill it
    (SIGKILL, as root). 3. Run a hello world once another runner waits. Expected: the idle
    runner's memory held in the admission's budget while it waits; after the kill, another
    runner (a new pid) waits; executor_prewarm_restarts_total counts 1 for node; the hello
    world comes from a runner and is correct."""
    env = {"EXECUTOR_LANGUAGES": "node", "EXECUTOR_PREWARM": "true"}
    with start_service(tmp_path, env) as service:
        first = wait_for_idle_runners(service, "node")
        info = service.info()
        assert info["load"]["memory_idle_mb"] > 0, info["load"]
        assert scrape(service)[("executor_prewarm_restarts_total", (("language", "node"),))] == 0
        before = set(idle_runners(info, "node"))
        os.kill(first[0], signal.SIGKILL)
        restarts = ("executor_prewarm_restarts_total", (("language", "node"),))
        wait_for(
            lambda: scrape(service)[restarts] == 1,
            timeout_s=RUNNER_READY_TIMEOUT_S,
            what="the runner's death counted",
        )
        second: list[int] = []
        wait_for(
            lambda: second.extend(set(idle_runners(service.info(), "node")) - before) or second,
            timeout_s=RUNNER_READY_TIMEOUT_S,
            what="a new node runner",
        )
        waiting = set(idle_runners(service.info(), "node"))
        result = service.execute({"language": "node", "code": "console.log('hello')"})
        assert (result["status"], result["stdout"]) == ("ok", "hello\n"), result
        # A runner served it: one of those waiting is gone (a runner serves one run).
        assert waiting - set(idle_runners(service.info(), "node")), waiting


def test_a_run_that_finds_its_runner_still_starting_waits_for_it(tmp_path: Path) -> None:
    """1. Start a service offering Node with a concurrency of two (so one runner at a time).
    2. Once a runner waits, run a hello world: it takes that runner, and the replacement
    starts after the run. 3. At once, as soon as /info lists the replacement (still
    starting, unless the machine was quicker than the run), run another hello world.
    Expected: both correct; the second is served by the replacement (waited for rather than
    a cold start beside it: the replacement is gone once it answered)."""
    env = {"EXECUTOR_LANGUAGES": "node", "EXECUTOR_MAX_CONCURRENCY": "2"}
    hello = {"language": "node", "code": "console.log('hello')"}
    with start_service(tmp_path, env) as service:
        first = wait_for_idle_runners(service, "node")
        result = service.execute(hello)
        assert (result["status"], result["stdout"]) == ("ok", "hello\n"), result
        starting: list[int] = []

        def replacement_starting() -> bool:
            runners = service.info()["prewarm"]["runners"]
            starting[:] = [r["pid"] for r in runners if r["pid"] not in first]
            return bool(starting)

        wait_for(replacement_starting, timeout_s=RUNNER_READY_TIMEOUT_S, what="a replacement")
        result = service.execute(hello)
        assert (result["status"], result["stdout"]) == ("ok", "hello\n"), result
        assert starting[0] not in runner_pids(service.info()), starting


def test_idle_runners_leave_the_runs_of_another_language_their_uids(tmp_path: Path) -> None:
    """1. Start a service offering Python and Node with a concurrency of two (one Node runner
    at most). 2. Once the Node runner waits, run two Python programs at once, each sleeping
    0.5 s. Expected: both correct, and the same Node runner still waits: neither run needed
    its uid (with the runners' uids taken from the runs', the second Python run ended it)."""
    env = {"EXECUTOR_LANGUAGES": "python,node", "EXECUTOR_MAX_CONCURRENCY": "2"}
    sleepy = {"language": "python", "code": "import time\ntime.sleep(0.5)\nprint('done')"}
    with start_service(tmp_path, env) as service:
        runner = wait_for_idle_runners(service, "node")[0]
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(service.execute, [sleepy, sleepy]))
        assert [(r["status"], r["stdout"]) for r in results] == [("ok", "done\n")] * 2, results
        assert idle_runners(service.info(), "node") == [runner]
        assert service.info()["isolation"]["uid_pool"]["size"] == 5


def test_a_language_without_runners_says_why_in_info(tmp_path: Path) -> None:
    """1. Put a directory where the service's cache keeps Node's runner program (it cannot be
    written there). 2. Start a service offering Node, with runners. 3. Run a hello world.
    Expected: /info's prewarm lists no Node runner and says under ``unavailable`` that its
    program could not be built; the hello world runs all the same (cold) and is correct."""
    source = (resources.files("executor.languages.node") / "runner.js").read_bytes()
    # Not under /tmp: a run with a mount namespace sees its own /tmp (settings.runs_dir).
    base = Path(tempfile.mkdtemp(dir="/var/lib", prefix="executor-test-"))
    base.chmod(0o755)  # the runs' uids pass through it to their directories
    try:
        digest = hashlib.sha256(source).hexdigest()[:16]
        (base / "executor-cache" / f"node-runner-{digest}.js").mkdir(parents=True)
        env = {
            "EXECUTOR_LANGUAGES": "node",
            "EXECUTOR_PREWARM": "true",
            "EXECUTOR_RUNS_DIR": str(base / "runs"),
        }
        with start_service(tmp_path, env) as service:
            wait_for(
                lambda: "node" in service.info()["prewarm"]["unavailable"],
                timeout_s=RUNNER_READY_TIMEOUT_S,
                what="node's runners reported unavailable",
            )
            prewarm = service.info()["prewarm"]
            assert "could not be built" in prewarm["unavailable"]["node"], prewarm
            assert prewarm["runners"] == [], prewarm
            result = service.execute({"language": "node", "code": "console.log('hello')"})
            assert (result["status"], result["stdout"]) == ("ok", "hello\n"), result
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_runs_dir_below_tmp_keeps_every_language_and_says_what_it_costs(
    tmp_path: Path,
) -> None:
    """1. Start a service offering every language with its runs directory below /tmp (its
    cache, with the runners' programs, goes beside it: below /tmp too). 2. Once the deferred
    self-tests passed, run a hello world in each language. Expected: every language offered
    and each hello world correct; the namespaces layer inactive, with the reason /info gives:
    a run's mount namespace puts its own directory over /tmp, so it would see neither its own
    directory nor the runners' programs (before this was checked, every language was withdrawn
    as its self-test failed) — or, where namespaces cannot be made at all, that reason."""
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="executor-test-"))
    base.chmod(0o755)  # the runs' uids pass through it to their directories
    hello = {
        "python": "print('hello')",
        "node": "console.log('hello')",
        "java": 'class Main { public static void main(String[] a) { System.out.println("hello"); '
        "} }",
    }
    try:
        env = {"EXECUTOR_PREWARM": "true", "EXECUTOR_RUNS_DIR": str(base / "runs")}
        with start_service(tmp_path, env) as service:
            wait_for_deferred_self_tests(service)
            offered = {runtime["language"] for runtime in service.client.get("/runtimes").json()}
            assert offered == set(hello), service.log()
            for language, code in hello.items():
                result = service.execute({"language": language, "code": code})
                assert (result["status"], result["stdout"]) == ("ok", "hello\n"), result
            layers = {layer["name"]: layer for layer in service.info()["isolation"]["layers"]}
            namespaces = layers["namespaces"]
            assert not namespaces["active"], namespaces
            assert (
                f"{base}/runs lies in /tmp" in namespaces["detail"]
                and "EXECUTOR_RUNS_DIR" in namespaces["detail"]
            ) or "cannot create" in namespaces["detail"], namespaces
    finally:
        shutil.rmtree(base, ignore_errors=True)
