"""Outliving the run: a daemon that detaches from the run is gone when the answer comes."""

import secrets

from tests.hostile.support import QUICK, Hostile, assert_contained


def test_double_forked_daemon(hostile: Hostile) -> None:
    """1. fork, setsid, fork: the grandchild keeps writing a marker in /tmp and /run/lock and
    printing for 10 s; the parent exits at once. 2. The run ends with the parent.
    Expected: ok; right after the answer no process of the pool exists (so no marker can come
    later) and no marker is there, nor after the next run."""
    token = secrets.token_hex(8)
    markers = [f"/run/lock/hostile-{token}", f"/tmp/hostile-{token}"]
    result = hostile.run("python", "hostile_double_fork", args=markers, limits=QUICK)
    assert result["status"] == "ok", result
    assert "parent done" in result["stdout"].splitlines(), result  # the daemon may print first
    assert_contained(hostile)
    assert hostile.target().probe("existing", markers) == []


def test_setsid_child_node(hostile: Hostile) -> None:
    """1. Spawn a detached child in its own session (nohup-like) that keeps writing a marker and
    printing for 10 s; the parent exits. Expected: ok; nothing of the child left, no marker."""
    marker = f"/run/lock/hostile-{secrets.token_hex(8)}"
    result = hostile.run("node", "hostile_setsid_child", args=[marker], limits=QUICK)
    assert result["status"] == "ok", result
    assert "parent done" in result["stdout"].splitlines(), result  # the daemon may print first
    assert_contained(hostile, language="node")
    assert hostile.target("node").probe("existing", [marker]) == []
