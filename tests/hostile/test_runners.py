"""Runners started ahead (Node, Java): each serves one run and ends with it; the next run
comes from a runner started afresh in a cleaned uid, and finds nothing of the one before (in
its memory, its directories or the shared places) nor of the service."""

import secrets

import pytest

from tests.hostile.support import Hostile, assert_contained
from tests.hostile.test_secrets import xored_hex
from tests.support import SECRET_ENV_VALUE, runner_pids, wait_for

# A runner restarts in the background at the lowest priority: on a busy machine, a JVM's
# start-up takes a while.
RUNNER_READY_TIMEOUT_S = 120
CASE = {"node": "hostile_runner_leak", "java": "HostileRunnerLeak"}


def idle_runner(h: Hostile, language: str) -> int:
    """The pid (as the service sees it) of an idle runner of ``language``, once there is one."""
    found: list[int] = []

    def look() -> bool:
        runners = h.target(language).service.info()["prewarm"]["runners"]
        found[:] = [r["pid"] for r in runners if r["language"] == language and r["state"] == "idle"]
        return bool(found)

    wait_for(
        look, timeout_s=RUNNER_READY_TIMEOUT_S, what=f"an idle {language} runner", interval_s=0.05
    )
    return found[0]


def run_from_runner(h: Hostile, language: str, **extra: object) -> tuple[int, dict]:
    """Run the leak program from an idle runner; the runner's pid and the answer. Fails
    unless that runner served it (it is no longer listed once the run is over)."""
    runner = idle_runner(h, language)
    result = h.run(language, CASE[language], **extra)
    assert runner not in runner_pids(h.target(language).service.info()), (runner, result)
    return runner, result


@pytest.mark.parametrize("language", ["node", "java"])
def test_a_runner_serves_one_run_and_the_next_finds_nothing_of_it(
    hostile: Hostile, language: str
) -> None:
    """1. Run A from a runner, a secret as its argument and on stdin: it keeps it in memory and
    writes it into files in its directory, TMPDIR, HOME, /tmp, /var/tmp and /dev/shm.
    2. Run B from a runner: it lists those places for A's files and scans every resident page
    of its own memory for A's secret and the service's. 3. Run C, the control: the same scan,
    given A's secret on its own stdin. Expected: each run served by a runner of its own (three
    pids: a runner serves one run and ends); A ok; B ok, no file and no secret found; C finds
    the secret it holds; nothing of the pool left over."""
    secret = f"a-secret-{secrets.token_hex(8)}"
    runner_a, result_a = run_from_runner(h=hostile, language=language, args=["plant", secret],
                                         stdin=secret)  # fmt: skip
    assert (result_a["status"], result_a["stdout"]) == ("ok", "planted: true\n"), result_a
    needles = [xored_hex(secret), xored_hex(SECRET_ENV_VALUE)]
    runner_b, result_b = run_from_runner(hostile, language, args=["scan", *needles])
    assert result_b["status"] == "ok", result_b
    assert result_b["stdout"] == "found: []\nfiles: []\nheld: 0\n", result_b
    runner_c, control = run_from_runner(hostile, language, args=["scan", *needles], stdin=secret)
    assert control["status"] == "ok", control
    assert control["stdout"].startswith("found: [0]\nfiles: []\n"), control
    assert len({runner_a, runner_b, runner_c}) == 3
    assert_contained(hostile, language=language)
