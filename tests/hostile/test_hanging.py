"""Hanging: a run that stops itself or its group is ended at its wall limit."""

import pytest

from tests.hostile.support import MARGIN_MS, Hostile, assert_contained


@pytest.mark.parametrize("language", ["python", "node"])
def test_sigstop_itself(hostile: Hostile, language: str) -> None:
    """1. Print, then SIGSTOP itself. 2. The wall limit (1.5 s) passes.
    Expected: time_limit_exceeded at the wall limit, the line before the stop kept."""
    limits = {"time_ms": 1000, "wall_time_ms": 1500}
    result = hostile.run(language, "hostile_sigstop_self", limits=limits)
    assert result["status"] == "time_limit_exceeded", result
    assert result["stdout"] == "stopping\n"
    assert 1500 <= result["wall_time_ms"] <= 1500 + MARGIN_MS
    assert_contained(hostile, language=language)


def test_sigtstp_its_group(hostile: Hostile) -> None:
    """1. Fork a child, send SIGTSTP to the whole process group, then pause.
    Expected: time_limit_exceeded at the 1.5 s wall limit; parent and child gone."""
    limits = {"time_ms": 1000, "wall_time_ms": 1500}
    result = hostile.run("python", "hostile_sigtstp_group", limits=limits)
    assert result["status"] == "time_limit_exceeded", result
    assert result["stdout"].startswith("stopping the group\n")
    assert 1500 <= result["wall_time_ms"] <= 1500 + MARGIN_MS
    assert_contained(hostile)
