"""Starts a service for tests and benchmarks: `executor serve` here or an image in a container.

Like Starlette's ``TestClient``, but against a real process: ``HostService`` runs
``python -m executor serve`` on a free 127.0.0.1 port, ``ContainerService`` runs a language image
as Azure Container Apps would (``docker run -d --cpus 0.5 --memory 1g``, published on 127.0.0.1
only). Both wait for ``/readyz`` (and, if asked, for the warm compilers), and both offer the same
small interface: ``url``, ``client`` (an ``httpx.Client``), ``execute``, ``log``, ``stop``, and
``with``. Imported only by tests and benchmarks: httpx comes with the ``test`` extra, not with the
service.

Over 300 lines: two starters (host and container) behind one interface, with the waiting and
the log handling they share.
"""

import abc
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

__all__ = [
    "CAP_NAMES",
    "CONTAINER_LIMITS",
    "CONTAINER_PORT",
    "DOCKER",
    "DOCKER_DEFAULT_CAPS",
    "ContainerService",
    "HostService",
    "Launcher",
    "Readiness",
    "RunningService",
    "ServiceError",
    "UnexpectedStatus",
    "free_port",
    "with_docker_default_capabilities",
    "without_capabilities",
]

DOCKER = "/usr/bin/docker"
# The replica size on Azure Container Apps.
CONTAINER_LIMITS = ("--cpus", "0.5", "--memory", "1g")
# The port the service listens on inside its image (the image's EXPOSE).
CONTAINER_PORT = 8080
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.05
# One readiness probe; a service that takes longer to answer is not ready.
PROBE_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 30.0
# Reading a container's state is a `docker inspect` process: done at most this often while
# waiting, so that polling does not load the machine whose start-up is being measured.
CONTAINER_CHECK_INTERVAL_S = 1.0
# Linux capability names by number (include/uapi/linux/capability.h).
# fmt: off
CAP_NAMES = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
    "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
    "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
    "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
)
# What Docker and containerd grant a container by default (moby: oci/caps/defaults.go).
DOCKER_DEFAULT_CAPS = frozenset((
    "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
    "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap",
))
# fmt: on

Launcher = Callable[[list[str]], list[str]]
"""Wraps the service's command line; the wrapper must exec the service in its own process, so
that the SIGTERM of ``HostService.stop`` reaches the service."""


class ServiceError(RuntimeError):
    """The service could not be started: it exited, or it was not ready in time.

    ``log`` holds what the service wrote (its last 6,000 characters are in the message)."""

    def __init__(self, message: str, *, log: str) -> None:
        super().__init__(message)
        self.message = message
        self.log = log

    def __str__(self) -> str:
        return f"{self.message}:\n{self.log[-6000:]}"


class UnexpectedStatus(AssertionError):
    """An HTTP answer whose status is not the one expected: a test failure, with the body."""

    def __init__(self, *, method: str, path: str, status: int, expected: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}, expected {expected}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Readiness:
    """When the service became reachable, in seconds from the launch (``started_at``)."""

    listening_s: float  # the first HTTP answer of any status: the socket listens
    ready_s: float  # the first 200 from /readyz


def stack_baseline_source(*, host: str, port: int) -> str:
    """Python source of the readiness baseline (images/measure.py, bench/run.py): the libraries
    the service is built on, used as the service uses them (uvicorn with its defaults serving a
    Starlette app, a pydantic model validated, a prometheus-client metric, python-json-logger's
    formatter), with a /readyz that answers 200 at once and no code of the service. Timed from
    its start to that 200, it is what the interpreter, the libraries (and in a container, Docker)
    take on the machine that day: the service's start less that is its own."""
    return f"""
import logging
import prometheus_client, pydantic, uvicorn
from pythonjsonlogger.json import JsonFormatter
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
class Probe(pydantic.BaseModel):
    ready: bool
REQUESTS = prometheus_client.Counter("stack_requests", "requests")
logging.basicConfig(level=logging.INFO)
logging.getLogger().handlers[0].setFormatter(JsonFormatter())
async def readyz(request):
    REQUESTS.inc()
    return JSONResponse(Probe(ready=True).model_dump())
app = Starlette(routes=[Route("/readyz", readyz)])
uvicorn.run(app, host={host!r}, port={port}, log_level="warning", access_log=False)
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may take it before it is used)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def without_capabilities(names: Collection[str]) -> Launcher:
    """A launcher that runs the service as root without the capabilities ``names`` (``setuid``,
    …): `capsh` cuts them from the bounding set, and root's exec then cannot hold them.

    Raises FileNotFoundError when capsh is not installed."""
    capsh = shutil.which("capsh") or "/usr/sbin/capsh"
    if not os.path.exists(capsh):
        raise FileNotFoundError("capsh is missing: apt-get install -y libcap2-bin")
    drop = ",".join(f"cap_{name}" for name in names)

    def launch(argv: list[str]) -> list[str]:
        return [capsh, f"--drop={drop}", "--", "-c", "exec " + shlex.join(argv)]

    return launch


def with_docker_default_capabilities() -> Launcher:
    """A launcher that runs the service as root with only the capabilities Docker grants a
    container by default, as in an ordinary container (Azure Container Apps)."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    return without_capabilities(
        [name for name in CAP_NAMES[: last + 1] if name not in DOCKER_DEFAULT_CAPS]
    )


class RunningService(abc.ABC):
    """A service being started or running, reached over HTTP at ``url`` through ``client``.

    ``started_at`` is ``time.perf_counter()`` taken right before the launch; every duration
    this class returns counts from it."""

    def __init__(self, *, url: str, started_at: float) -> None:
        self.url = url
        self.started_at = started_at
        self._client: httpx.Client | None = None
        # Tests use one service from several threads: the first use must make a single client.
        self._client_lock = threading.Lock()
        self._final_log: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def client(self) -> httpx.Client:
        """An HTTP client for ``url`` (closed by ``stop``), made on first use rather than at
        the launch: making one takes CPU that a start being timed would lose."""
        with self._client_lock:
            if self._client is None:
                # Plain HTTP to this host only: no need to load the certificate store, the
                # costly part of making a client.
                self._client = httpx.Client(
                    base_url=self.url, timeout=REQUEST_TIMEOUT_S, verify=False
                )
            return self._client

    @property
    def port(self) -> int:
        """The port the service is reached on from this host."""
        return int(self.url.rsplit(":", 1)[1])

    def execute(self, body: Mapping[str, Any], *, expect: int = 200) -> dict[str, Any]:
        """POST /execute with ``body``; the decoded JSON answer. Raises UnexpectedStatus (an
        AssertionError) when the status is not ``expect``."""
        response = self.client.post("/execute", json=body)
        if response.status_code != expect:
            raise UnexpectedStatus(
                method="POST",
                path="/execute",
                status=response.status_code,
                expected=expect,
                body=response.text,
            )
        answer: dict[str, Any] = response.json()
        return answer

    def info(self) -> dict[str, Any]:
        """GET /info, decoded."""
        response = self.client.get("/info")
        if response.status_code != 200:
            raise UnexpectedStatus(
                method="GET",
                path="/info",
                status=response.status_code,
                expected=200,
                body=response.text,
            )
        info: dict[str, Any] = response.json()
        return info

    def warm_compilers_ready(self) -> bool:
        """Whether every warm compiler /info lists (Java's javac server) is ready and has done
        its warm-up compiles."""
        warm = self.info().get("warm_compilers") or {}
        return all(state.get("ready") and not state.get("warm_ups_left") for state in warm.values())

    def wait_ready(
        self, *, timeout_s: float = READY_TIMEOUT_S, poll_interval_s: float = POLL_INTERVAL_S
    ) -> Readiness:
        """Poll /readyz (a fresh connection each time) until it answers 200. Returns when the
        service first answered and when it was ready, counted from the launch.

        Raises ServiceError when the service exits or is not ready within ``timeout_s``."""
        deadline = time.perf_counter() + timeout_s
        listening_s: float | None = None
        while time.perf_counter() < deadline:
            self._raise_if_gone()
            status = self._probe("/readyz")
            if status is not None:
                now_s = time.perf_counter() - self.started_at
                if listening_s is None:
                    listening_s = now_s
                if status == 200:
                    return Readiness(listening_s=listening_s, ready_s=now_s)
            time.sleep(poll_interval_s)
        raise ServiceError(f"{self.url}/readyz not 200 within {timeout_s:.0f} s", log=self.log())

    def wait_warm(
        self, *, timeout_s: float = READY_TIMEOUT_S, poll_interval_s: float = POLL_INTERVAL_S
    ) -> float:
        """Poll /info until every warm compiler is ready; returns the seconds from the launch.
        Call it once the service is ready.

        Raises ServiceError when the service exits or its compilers are not ready in time."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            self._raise_if_gone()
            if self.warm_compilers_ready():
                return time.perf_counter() - self.started_at
            time.sleep(poll_interval_s)
        raise ServiceError(
            f"{self.url}: warm compilers not ready within {timeout_s:.0f} s", log=self.log()
        )

    @abc.abstractmethod
    def alive(self) -> bool:
        """Whether the service still runs."""

    @abc.abstractmethod
    def log(self) -> str:
        """Everything the service wrote (stdout and stderr), also after ``stop``."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the service and release what it holds; safe to call again."""

    @abc.abstractmethod
    def _raise_if_gone(self) -> None:
        """Raise ServiceError if the service has exited (checked while waiting)."""

    def _close_client(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()

    def _probe(self, path: str) -> int | None:
        """The status of GET ``path`` over a fresh connection, or None while nothing answers
        (a container's published port accepts and drops connections until the service
        listens). The standard library's client: it costs far less CPU than httpx, which
        matters while a start is being timed."""
        host, _, port = self.url.removeprefix("http://").rpartition(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=PROBE_TIMEOUT_S)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()


class HostService(RunningService):
    """``python -m executor serve`` on this host, as a child process, its log in a file."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        url: str,
        log_path: Path,
        started_at: float,
        own_log_dir: bool,
    ) -> None:
        super().__init__(url=url, started_at=started_at)
        self.process = process
        self.log_path = log_path
        self._own_log_dir = own_log_dir

    @classmethod
    def spawn(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        launcher: Launcher | None = None,
        log_dir: Path | None = None,
        cwd: Path | None = None,
        port: int | None = None,
        command: Sequence[str] | None = None,
    ) -> Self:
        """Launch the service on ``port`` (default: a free one) of 127.0.0.1 and return at once
        (see ``start``).

        Its environment is built from scratch: this process's ``PATH`` and ``env`` (the
        ``EXECUTOR_*`` settings, or anything a test plants). Its output goes to
        ``executor-<port>.log`` in ``log_dir`` (default: a directory removed by ``stop``).
        ``command`` replaces ``executor serve`` (a baseline that listens on ``port``, as
        bench/run.py's stack alone)."""
        port = port if port is not None else free_port()
        argv = (
            list(command)
            if command is not None
            else [sys.executable, "-m", "executor", "serve", "--port", str(port)]
        )
        own_log_dir = log_dir is None
        directory = (
            Path(tempfile.mkdtemp(prefix="executor-service-")) if log_dir is None else log_dir
        )
        log_path = directory / f"executor-{port}.log"
        child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
        try:
            with open(log_path, "wb") as log:
                started_at = time.perf_counter()
                process = subprocess.Popen(
                    launcher(argv) if launcher is not None else argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=child_env,
                    cwd=cwd,
                )
        except BaseException:
            if own_log_dir:
                shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(
            process,
            url=f"http://127.0.0.1:{port}",
            log_path=log_path,
            started_at=started_at,
            own_log_dir=own_log_dir,
        )

    @classmethod
    def start(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        launcher: Launcher | None = None,
        log_dir: Path | None = None,
        cwd: Path | None = None,
        warm: bool = False,
        timeout_s: float = READY_TIMEOUT_S,
    ) -> Self:
        """``spawn``, then wait for /readyz and, with ``warm``, for the warm compilers (so that
        Java takes the same path every time), ``timeout_s`` in all.

        Raises ServiceError, the service stopped, when it exits or is not ready in time."""
        service = cls.spawn(env=env, launcher=launcher, log_dir=log_dir, cwd=cwd)
        _wait_started(service, warm=warm, timeout_s=timeout_s)
        return service

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        if self._final_log is not None:
            return self._final_log
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM (the service lets running work finish), then SIGKILL after 30 s."""
        self._close_client()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._own_log_dir and self._final_log is None:
            self._final_log = self.log()
            shutil.rmtree(self.log_path.parent, ignore_errors=True)

    def _raise_if_gone(self) -> None:
        if self.process.poll() is not None:
            raise ServiceError(f"executor exited with {self.process.returncode}", log=self.log())


class ContainerService(RunningService):
    """A container of a service image, its port 8080 published on 127.0.0.1."""

    def __init__(self, container_id: str, *, image: str, url: str, docker: str, started_at: float):
        super().__init__(url=url, started_at=started_at)
        self.container_id = container_id
        self.image = image
        self.docker = docker
        # The first look comes a second after the launch: most services are ready by then, and
        # a start being timed is not slowed by a `docker inspect` meanwhile.
        self._next_check = started_at + CONTAINER_CHECK_INTERVAL_S

    @classmethod
    def spawn(
        cls,
        image: str,
        *,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        docker: str = DOCKER,
        entrypoint: str | None = None,
        args: Sequence[str] = (),
    ) -> Self:
        """``docker run -d --cpus 0.5 --memory 1g -p 127.0.0.1:PORT:8080 IMAGE`` on a free
        port, Docker's default capabilities and seccomp profile, and return at once (see
        ``start``). ``env`` adds variables to the container's environment (``--env``), as an
        ACA replica gets its secrets; ``name`` names it; ``entrypoint`` and ``args`` replace
        the image's command (a baseline started from the same image, as images/measure.py's).

        Raises ServiceError when Docker refuses to run it."""
        port = free_port()
        argv = [docker, "run", "-d", *CONTAINER_LIMITS]
        argv += [f"--env={key}={value}" for key, value in (env or {}).items()]
        if name is not None:
            argv.append(f"--name={name}")
        if entrypoint is not None:
            argv.append(f"--entrypoint={entrypoint}")
        argv += ["-p", f"127.0.0.1:{port}:{CONTAINER_PORT}", image, *args]
        started_at = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise ServiceError(f"docker run {image} failed ({done.returncode})", log=done.stderr)
        return cls(
            done.stdout.strip(),
            image=image,
            url=f"http://127.0.0.1:{port}",
            docker=docker,
            started_at=started_at,
        )

    @classmethod
    def start(
        cls,
        image: str,
        *,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        docker: str = DOCKER,
        warm: bool = False,
        timeout_s: float = READY_TIMEOUT_S,
    ) -> Self:
        """``spawn``, then wait for /readyz and, with ``warm``, for the warm compilers.

        Raises ServiceError, the container removed, when it stops or is not ready in time."""
        service = cls.spawn(image, env=env, name=name, docker=docker)
        _wait_started(service, warm=warm, timeout_s=timeout_s)
        return service

    def inspect(self) -> dict[str, Any]:
        """``docker inspect`` of the container."""
        done = subprocess.run(
            [self.docker, "inspect", self.container_id],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        found: dict[str, Any] = json.loads(done.stdout)[0]
        return found

    def state(self) -> dict[str, Any]:
        """The container's ``State`` (Running, Pid, OOMKilled, ExitCode, …)."""
        state: dict[str, Any] = self.inspect()["State"]
        return state

    def exec(
        self, *argv: str, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the container (as root, beside the service)."""
        return subprocess.run(
            [self.docker, "exec", self.container_id, *argv],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def alive(self) -> bool:
        """Running, neither restarting nor killed for memory."""
        state = self.state()
        return bool(state["Running"]) and not state["Restarting"] and not state["OOMKilled"]

    def log(self) -> str:
        if self._final_log is not None:
            return self._final_log
        done = subprocess.run(
            [self.docker, "logs", self.container_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,
        )
        return done.stdout.decode(errors="replace")

    def stop(self) -> None:
        """Keep the log, then kill and remove the container and its anonymous volumes."""
        self._close_client()
        if self._final_log is not None:
            return
        self._final_log = self.log()
        subprocess.run(
            [self.docker, "rm", "-f", "-v", self.container_id],
            capture_output=True,
            timeout=120,
            check=False,
        )

    def _raise_if_gone(self) -> None:
        now = time.perf_counter()
        if now < self._next_check:
            return
        self._next_check = now + CONTAINER_CHECK_INTERVAL_S
        state = self.state()
        if not state["Running"]:
            raise ServiceError(f"{self.image} stopped ({state})", log=self.log())


def _wait_started(service: RunningService, *, warm: bool, timeout_s: float) -> None:
    """Wait for readiness (and the warm compilers), stopping the service if that fails."""
    deadline = time.perf_counter() + timeout_s
    try:
        service.wait_ready(timeout_s=timeout_s)
        if warm:
            service.wait_warm(timeout_s=max(0.0, deadline - time.perf_counter()))
    except BaseException:
        service.stop()
        raise
