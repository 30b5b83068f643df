"""Secrets: a run sees only the environment built for it, not the service's."""

import secrets

from tests.hostile.support import (
    EXPECTED_ENV,
    QUICK,
    Hostile,
    assert_contained,
    hidden_or_denied,
    lines,
)
from tests.support import SECRET_ENV_VALUE, settled


def test_read_the_services_environment(hostile: Hostile) -> None:
    """1. Print its own environment; read /proc/1/environ, the service's /proc/<ppid>/environ,
    mem, maps, cwd and root; then every /proc/*/environ. Expected: ok; only PATH, HOME, TMPDIR
    and LANG; each service or PID 1 file refused; the service's secret nowhere in the output."""
    result = hostile.run("python", "hostile_read_env", limits=QUICK)
    assert result["status"] == "ok", result
    assert SECRET_ENV_VALUE not in result["stdout"] + result["stderr"]
    outcomes = lines(result)
    assert outcomes["own env"] == str(sorted(EXPECTED_ENV))
    denied = hidden_or_denied(hostile)
    for name in ("pid 1 environ", "parent environ", "parent mem", "parent maps", "parent cwd",
                 "parent root"):  # fmt: skip
        assert outcomes[name] == denied, (name, result)
    assert outcomes["other environs readable"] == "[]", result
    assert_contained(hostile)


def test_read_the_services_environment_node(hostile: Hostile) -> None:
    """1. Print process.env's names; read the service's and PID 1's environ.
    Expected: ok; only the variables built for the run; both files refused; no secret."""
    result = hostile.run("node", "hostile_read_env", limits=QUICK)
    assert result["status"] == "ok", result
    assert SECRET_ENV_VALUE not in result["stdout"] + result["stderr"]
    outcomes = lines(result)
    assert set(outcomes.pop("own env").split(",")) <= EXPECTED_ENV | {"NODE_OPTIONS"}
    assert set(outcomes.values()) == {hidden_or_denied(hostile)}, result
    assert_contained(hostile, language="node")


def xored_hex(secret: str) -> str:
    """What hostile_scan_memory takes: the secret's bytes XOR 0x5A, in hex (so that the scanning
    run never holds the secret itself)."""
    return bytes(b ^ 0x5A for b in secret.encode()).hex()


def test_inherited_memory_holds_no_secret_of_the_service_or_another_run(hostile: Hostile) -> None:
    """1. Run A gets a secret as its argument and on stdin, prints it, ends. 2. Run B scans all
    of its own memory (what it inherited: from the zygote that forked it, where one serves
    Python) for A's secret and for the secret in the service's environment. Expected: both ok,
    nothing found."""
    secret = f"a-secret-{secrets.token_hex(8)}"
    result_a = hostile.run("python", "echo_stdin", args=[secret], stdin=secret)
    assert result_a["status"] == "ok" and secret in result_a["stdout"], result_a
    settled(hostile.service)
    needles = [xored_hex(secret), xored_hex(SECRET_ENV_VALUE)]
    result_b = hostile.run("python", "hostile_scan_memory", args=needles, limits=QUICK)
    assert (result_b["status"], result_b["stdout"]) == ("ok", "found: []\n"), result_b
    # The control: the same search finds a secret the run was given on its own stdin.
    control = hostile.run("python", "hostile_scan_memory", args=needles, stdin=secret, limits=QUICK)
    assert (control["status"], control["stdout"]) == ("ok", "found: [0]\n"), control
    assert_contained(hostile)
