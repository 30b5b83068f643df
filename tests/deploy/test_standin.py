"""The local stand-in of ACA (deploy/local: containers per image behind HAProxy) under
`executor rehearse`: every submission answered once with its right verdict, also when a replica
is killed in the middle. Needs Docker, the built images and Debian's haproxy."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from executor.client import RetryPolicy
from executor.rehearsal import report
from executor.rehearsal.runner import LoadShape, Rehearsal
from executor.rehearsal.workload import build

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "local"
DOCKER = "/usr/bin/docker"
# Container names start with the branch's name so that leftovers can be told apart.
PREFIX = "deploy-test-standin"

pytestmark = pytest.mark.docker


@dataclass
class Standin:
    """A running stand-in: its state (URLs, containers) as deploy/local/up printed it."""

    state: dict[str, Any]
    state_dir: Path

    @property
    def urls(self) -> dict[str, str]:
        return dict(self.state["urls"])

    def server_states(self) -> dict[str, str]:
        """HAProxy's view of each replica (UP, DOWN, ...), from its stats page as CSV."""
        import urllib.request

        with urllib.request.urlopen(self.state["stats"] + ";csv", timeout=5) as response:
            rows = response.read().decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        states = {}
        for row in rows[1:]:
            cells = dict(zip(header, row.split(","), strict=False))
            if cells.get("svname", "").startswith(PREFIX):
                states[cells["svname"]] = cells["status"]
        return states


def free_base_port() -> int:
    """A port P such that P..P+9 are free on 127.0.0.1 (frontends and the stats page)."""
    for base in range(20000, 60000, 10):
        try:
            sockets = []
            for port in range(base, base + 10):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no 10 free consecutive ports")


def bring_up(tmp_path: Path, *, replicas: int) -> Iterator[Standin]:
    state_dir = tmp_path / "standin"
    command = [
        str(LOCAL / "up"),
        "--prefix", PREFIX,
        "--replicas", str(replicas),
        "--base-port", str(free_base_port()),
        "--state-dir", str(state_dir),
    ]  # fmt: skip
    env = {**os.environ, "PYTHON": sys.executable}
    started = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    try:
        assert started.returncode == 0, started.stderr
        yield Standin(state=json.loads(started.stdout), state_dir=state_dir)
    finally:
        down = [str(LOCAL / "down"), "--prefix", PREFIX, "--state-dir", str(state_dir)]
        subprocess.run(down, env=env, check=True)
        left = subprocess.run(
            [DOCKER, "ps", "-aq", "--filter", f"label=executor.standin={PREFIX}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert left == [], "deploy/local/down left containers"


@pytest.fixture
def one_replica_each(tmp_path: Path) -> Iterator[Standin]:
    yield from bring_up(tmp_path, replicas=1)


@pytest.fixture
def three_replicas_each(tmp_path: Path) -> Iterator[Standin]:
    yield from bring_up(tmp_path, replicas=3)


def test_a_rehearsal_through_haproxy_gets_every_verdict_right(
    one_replica_each: Standin, tmp_path: Path
) -> None:
    """Sized for CI. 1. deploy/local/up: one container per language at 0.5 vCPU / 1 GiB behind
    HAProxy. 2. `executor rehearse`: 60 students x 2 submissions of the contest mix, 12 in flight.
    Expected: exit 0; every submission answered exactly once with its right verdict; a chart."""
    chart, summary_path = tmp_path / "rehearsal.png", tmp_path / "rehearsal.json"
    command = [sys.executable, "-m", "executor", "rehearse"]
    for language, url in one_replica_each.urls.items():
        command += ["--url", f"{language}={url}"]
    command += [
        "--students", "60", "--submissions-per-student", "2", "--concurrency", "12",
        "--no-progress", "--chart", str(chart), "--json", str(summary_path),
        "--replicas-per-language", "1",
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    result = json.loads(summary_path.read_text())
    summary = result["summary"]
    assert summary["answered"] == summary["correct"] == 120, summary
    assert summary["errors"] == 0 and summary["wrong_verdicts"] == 0
    assert summary["answered_exactly_once"]
    assert set(summary["per_language"]) == {"python", "node", "java"}
    assert result["plan"]["replicas"] >= 3
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_1000_submissions_on_three_replicas_each_survive_a_replica_killed_midway(
    three_replicas_each: Standin, tmp_path: Path
) -> None:
    """The issue's rehearsal. 1. deploy/local/up: three containers per language. 2. 100
    students x 10 submissions (1,000) of the contest mix, 24 in flight. 3. When 400 are
    answered, `docker kill` one Java replica (SIGKILL: runs in flight on it are lost; Java's
    runs are the longest, so some are in flight).
    Expected: every submission answered exactly once with its right verdict, no error; HAProxy
    marks the killed replica DOWN. A submission in flight on the killed replica is retried by
    the client (502 from HAProxy) and may run twice; the summary counts them.
    Writes the chart and summary to $REHEARSAL_OUT when set (deploy/README.md's figures)."""
    victim = three_replicas_each.state["containers"]["java"][1]["name"]
    killed = threading.Event()

    def kill_midway(rehearsal: Rehearsal) -> None:
        if len(rehearsal.outcomes) >= 400 and not killed.is_set():
            killed.set()
            rehearsal.mark(f"{victim} killed")
            threading.Thread(
                target=subprocess.run, args=([DOCKER, "kill", victim],), kwargs={"check": True}
            ).start()

    rehearsal = Rehearsal(
        submissions=build(students=100, submissions_per_student=10, seed=13),
        urls=three_replicas_each.urls,
        shape=LoadShape(concurrency=24),
        retry=RetryPolicy(deadline_s=300),
        seed=13,
        on_update=kill_midway,
    )
    started = time.monotonic()
    asyncio.run(rehearsal.run())
    duration_s = time.monotonic() - started
    summary = report.summarize(rehearsal)

    out = Path(os.environ.get("REHEARSAL_OUT", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    report.chart(rehearsal, out / "rehearsal-1000-kill.png")
    (out / "rehearsal-1000-kill.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "rehearsal-1000-kill.md").write_text(report.markdown(summary) + "\n")

    assert killed.is_set()
    assert summary["errors"] == 0, summary["error_examples"]
    assert summary["wrong_verdicts"] == 0, summary["wrong_examples"]
    assert summary["answered"] == 1000 and summary["answered_exactly_once"]
    assert three_replicas_each.server_states()[victim].startswith("DOWN")
    print(f"\n1,000 submissions in {duration_s:.0f} s; retries {summary['retries']}")
