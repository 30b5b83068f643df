"""`executor serve` as an operator starts it: a bad setting is a one-line message and exit 3."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("variable", "value"),
    [("EXECUTOR_LOG_LEVEL", "loud"), ("EXECUTOR_MAX_CONCURRENCY", "0"), ("EXECUTOR_TYPO", "1")],
)
def test_a_bad_setting_stops_startup_with_exit_code_3(variable: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "executor", "serve", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("executor: bad setting: ") and variable in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
