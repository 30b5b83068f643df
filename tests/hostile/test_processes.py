"""Processes, threads and CPU: fork bombs, thread bombs and spinning trees stop at their limits,
and nothing of them is left."""

import concurrent.futures

import pytest

from tests.hostile.support import (
    MARGIN_MS,
    QUICK,
    Hostile,
    assert_contained,
    health_latencies_while,
)


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


def test_spinning_runs_never_delay_the_service(hostile: Hostile) -> None:
    """1. Two runs at once, each spinning in 60 processes for its whole CPU limit. 2. GET
    /healthz one after another meanwhile. Expected: both time_limit_exceeded; /healthz p90
    under 1 s and none over 2 s (runs are SCHED_IDLE: the service's own work comes first)."""
    limits = {"processes": 64, "memory_mb": 512, "time_ms": 4000, "wall_time_ms": 6000}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(hostile.run, "python", "hostile_spin_many", args=["60"], limits=limits)
            for _ in range(2)
        ]
        latencies = health_latencies_while(hostile, runs[1])
        results = [run.result() for run in runs]
    assert [r["status"] for r in results] == ["time_limit_exceeded"] * 2, results
    latencies.sort()
    p90 = latencies[int(len(latencies) * 0.9)]
    assert p90 < 1.0 and latencies[-1] < 2.0, latencies
    assert_contained(hostile)
