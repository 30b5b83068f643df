"""Network: no run reaches the service, the loopback, or Docker's socket."""

from tests.hostile.support import QUICK, Hostile, assert_contained, lines
from tests.support import SECRET_ENV_VALUE


def test_network_python(hostile: Hostile) -> None:
    """1. Connect to the service's own port on 127.0.0.1 and ::1, open UDP, raw, netlink and
    packet sockets, a Unix socket pair, and Docker's socket. Expected: ok; every network
    socket refused with EPERM (seccomp), the socket pair allowed, Docker's socket refused."""
    result = hostile.run("python", "hostile_network", args=[str(hostile.port)], limits=QUICK)
    assert result["status"] == "ok", result
    outcomes = lines(result)
    assert outcomes.pop("unix pair") == "allowed"
    # No socket of any family can even be made: the Docker socket is out of reach as well.
    assert outcomes.pop("docker.sock") == "EPERM"
    assert set(outcomes.values()) == {"EPERM"}, result
    assert_contained(hostile)


def test_network_node(hostile: Hostile) -> None:
    """1. net.connect to the service's port over IPv4 and IPv6, and a UDP datagram to it.
    Expected: ok; each refused with EPERM."""
    result = hostile.run("node", "hostile_network", args=[str(hostile.port)], limits=QUICK)
    assert result["status"] == "ok", result
    assert lines(result) == {"tcp 127.0.0.1": "EPERM", "tcp ::1": "EPERM", "udp": "EPERM"}
    assert_contained(hostile, language="node")


def test_network_java(hostile: Hostile) -> None:
    """1. A Java Socket connects to the service's port on 127.0.0.1. Expected: ok, refused
    ("Operation not permitted"); the JVM sees only the environment built for it."""
    limits = {"time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run("java", "hostile_network", args=[str(hostile.port)], limits=limits)
    assert result["status"] == "ok", result
    assert "Operation not permitted" in lines(result)["tcp 127.0.0.1"], result
    assert SECRET_ENV_VALUE not in result["stdout"] + result["stderr"]
    assert_contained(hostile, language="java")
