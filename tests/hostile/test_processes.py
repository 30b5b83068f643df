"""Processes, threads and CPU: fork bombs, thread bombs and spinning trees stop at their limits,
and nothing of them is left."""

import pytest

from tests.hostile.support import MARGIN_MS, QUICK, Hostile, assert_contained


@pytest.mark.parametrize("language", ["python", "node"])
def test_fork_bomb(hostile: Hostile, language: str) -> None:
    """1. Every process forks (or spawns itself detached) without end and spins, under a limit of
    32 processes. 2. The run is stopped at its CPU or wall limit.
    Expected: time_limit_exceeded within the wall limit; nothing of it left."""
    limits = {"processes": 32, "time_ms": 2000, "wall_time_ms": 3000, "memory_mb": 512}
    result = hostile.run(language, "hostile_fork_bomb", limits=limits)
    assert result["status"] == "time_limit_exceeded", result
    assert result["wall_time_ms"] <= limits["wall_time_ms"] + MARGIN_MS
    assert_contained(hostile, language=language)


def test_thread_bomb_python(hostile: Hostile) -> None:
    """1. Start threads that never end until one is refused (limit 16). 2. Report the count.
    Expected: ok, refused before 16 threads (the main thread counts)."""
    result = hostile.run("python", "hostile_thread_bomb", limits={"processes": 16, **QUICK})
    assert result["status"] == "ok", result
    assert result["stdout"].startswith("refused after "), result
    assert int(result["stdout"].split()[2]) < 16
    assert_contained(hostile)


def test_thread_bomb_java(hostile: Hostile) -> None:
    """1. A JVM starts sleeping threads until one is refused (limit 64, the JVM's own included).
    Expected: ok, refused before 64 threads; the JVM and its threads all gone."""
    limits = {"processes": 64, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run("java", "hostile_thread_bomb", limits=limits)
    assert result["status"] == "ok", result
    last = result["stdout"].splitlines()[-1]  # after the JVM's own warnings
    assert last.startswith("refused after "), result
    assert int(last.split()[2]) < 64
    assert_contained(hostile, language="java")


def test_cpu_spin_in_several_processes(hostile: Hostile) -> None:
    """1. Four processes spin, ignoring SIGXCPU, under a 1 s CPU limit.
    Expected: time_limit_exceeded with at least 1 s of CPU, well within the wall limit."""
    limits = {"time_ms": 1000, "wall_time_ms": 10000}
    result = hostile.run("python", "hostile_cpu_spin", limits=limits)
    assert result["status"] == "time_limit_exceeded", result
    assert result["time_ms"] >= 1000
    assert result["wall_time_ms"] < 5000
    assert_contained(hostile)
