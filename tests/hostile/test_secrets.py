"""Secrets: a run sees only the environment built for it, not the service's."""

from tests.hostile.support import (
    EXPECTED_ENV,
    QUICK,
    Hostile,
    assert_contained,
    hidden_or_denied,
    lines,
)
from tests.support import SECRET_ENV_VALUE


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
