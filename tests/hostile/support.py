"""The services under attack and what must hold after every hostile run.

Every case checks the verdict the user gets, then `assert_contained`: no process of the run's uid
pool is left, no file of it in the shared writable places or the run directory, no System V IPC
object of it, `/healthz` answers and the next hello world is correct.

In the container mode each language's programs go to the container of its image (one offers one
language). Processes are checked on this host's /proc (a container's processes are the host's,
under the same uids: no user namespace); files (in the container's whole filesystem), System V
IPC and zombies inside the container, through `docker exec` of tests/probes.py (its filesystem,
IPC and PID namespaces are its own). The checks the tests make as root beside the service go
through the same probes, so each test reads the same in every mode.
"""

import concurrent.futures
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from executor.testing import CONTAINER_PORT, ContainerService, RunningService
from tests import probes
from tests.support import (
    processes_of_uids,
    run_program,
    runner_pids,
    runner_uids_of,
    settled,
)

ALL_CAPS = "root-all-caps"
DOCKER_CAPS = "docker-default-caps"
CONTAINER = "container"
SHARED_PLACES = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
RUN_ROOT = "/var/lib/executor-runs"
# How a probe runs in a container: the image's own interpreter, isolated from the environment.
PROBE_ARGV = ("/opt/executor/bin/python", "-I", "-c", Path(probes.__file__).read_text())
# Time for the service to notice, kill, reap, clean up and answer, beyond a run's wall limit.
MARGIN_MS = 2000
QUICK = {"time_ms": 1000, "wall_time_ms": 2000}
EXPECTED_ENV = {"HOME", "LANG", "PATH", "TMPDIR"}


@dataclass
class Target:
    """One service under attack, and where it runs: on this host, or in its own container.

    ``pid`` is the service's process id as this host sees it (a container's PID 1)."""

    service: RunningService
    info: dict
    pid: int

    @property
    def container(self) -> ContainerService | None:
        return self.service if isinstance(self.service, ContainerService) else None

    @property
    def pool(self) -> range:
        pool = self.info["isolation"]["uid_pool"]
        return range(pool["base"], pool["base"] + pool["size"])

    @property
    def port(self) -> int:
        """The service's port as its runs would reach it on 127.0.0.1."""
        if self.container is not None:
            return CONTAINER_PORT
        return self.service.port

    def probe(self, name: str, *args: Any) -> Any:
        """``tests.probes.<name>(*args)`` as root beside the service: called here for a service
        on this host, run through ``docker exec`` in a container."""
        if self.container is None:
            return getattr(probes, name)(*args)
        done = self.container.exec(*PROBE_ARGV, name, json.dumps(args))
        assert done.returncode == 0, f"probe {name}{args} failed in the container:\n{done.stderr}"
        return json.loads(done.stdout)

    def alive(self) -> bool:
        """The service process still runs (in a container: the container runs, with the same
        PID 1, not killed for memory)."""
        if self.container is None:
            return self.service.alive()
        state = self.container.state()
        return (
            bool(state["Running"])
            and not state["Restarting"]
            and not state["OOMKilled"]
            and state["Pid"] == self.pid
        )


@dataclass
class Hostile:
    """Services under attack, with what the tests need to know about them: one service for every
    language on the host, or one container per language image."""

    mode: str
    targets: dict[str, Target] = field(repr=False)

    def target(self, language: str = "python") -> Target:
        """Where ``language``'s programs run."""
        return self.targets[language]

    def each(self) -> list[Target]:
        """Every distinct service under attack."""
        return list({id(t): t for t in self.targets.values()}.values())

    @property
    def service(self) -> RunningService:
        """The service that runs Python (on the host, the only one)."""
        return self.target().service

    @property
    def info(self) -> dict:
        return self.target().info

    @property
    def pool(self) -> range:
        return self.target().pool

    @property
    def port(self) -> int:
        """The service's port as a run reaches it on 127.0.0.1: the same for every target."""
        return self.target().port

    def layer(self, name: str) -> dict:
        return next(x for x in self.info["isolation"]["layers"] if x["name"] == name)

    def active(self, name: str) -> bool:
        """Whether the layer ``name`` is active (False for one this service does not have)."""
        return any(x["name"] == name and x["active"] for x in self.info["isolation"]["layers"])

    def run(self, language: str, case: str, **extra: object) -> dict:
        return run_program(self.target(language).service, language, case, **extra)


def describe_process(pid: int) -> str:
    """State, parent and command line of a process, for a failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError as exc:
        return f"{pid}: gone ({exc})"
    wanted = ("Name", "State", "PPid", "Uid", "Threads", "SigPnd", "ShdPnd")
    fields = [line for line in status if line.split(":")[0] in wanted]
    return f"{pid}: {cmdline!r} {fields}"


def hello(language: str) -> str:
    return {"python": "hello", "node": "hello", "java": "Hello"}[language]


def assert_contained(h: Hostile, *, language: str = "python") -> None:
    """No process, file or IPC object of the pool is left once the service has cleaned up after
    the run (it does so after answering); the service answers and works."""
    target = h.target(language)
    info = settled(target.service)
    runners, runner_uids = runner_pids(info), runner_uids_of(info)
    in_container = target.container is not None
    # A container's whole filesystem is small enough to search (~0.1 s); there PID 1 is the
    # service, which inherits every orphan and must reap it.
    places, skip = (["/"], ["/proc", "/sys"]) if in_container else ([*SHARED_PLACES, RUN_ROOT], [])
    nothing = {"files": [], "ipc": [], **({"zombies": []} if in_container else {})}
    # The runners waiting in uids of the pool are no leftovers; one may start meanwhile: when
    # a look finds something, the runners are listed again and it looks again.
    for _ in range(3):
        left = processes_of_uids(target.pool.start, len(target.pool), besides=runners)
        found = target.probe(
            "leftovers",
            target.pool.start,
            len(target.pool),
            places,
            skip,
            in_container,
            sorted(runner_uids),
            SHARED_PLACES,
        )
        if not left and found == nothing:
            break
        info = target.service.info()
        runners, runner_uids = runner_pids(info), runner_uids_of(info)
    assert left == [], [describe_process(int(p.split()[0])) for p in left]
    assert found == nothing, found
    assert target.alive()
    assert target.service.client.get("/healthz").status_code == 200
    result = h.run(language, hello(language))
    assert (result["status"], result["stdout"]) == ("ok", "Hello, world!\n"), result


def hidden_or_denied(h: Hostile) -> str:
    """How opening another user's /proc/<pid>/ file fails: hidden (ENOENT) in the private /proc
    a mount namespace gives, refused (EACCES) in the shared one."""
    return "ENOENT" if h.layer("namespaces")["active"] else "EACCES"


def lines(result: dict) -> dict[str, str]:
    """``name: outcome`` lines of a program's stdout as a dict."""
    pairs = (line.split(": ", 1) for line in result["stdout"].splitlines() if ": " in line)
    return {name: outcome for name, outcome in pairs}


def health_latencies_while(h: Hostile, running: "concurrent.futures.Future[Any]") -> list[float]:
    """Seconds each GET /healthz took, one after another, while ``running`` is not done (at
    least one)."""
    latencies = []
    client = h.service.client
    while True:
        started = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        latencies.append(time.perf_counter() - started)
        if running.done():
            return latencies
        time.sleep(0.02)
