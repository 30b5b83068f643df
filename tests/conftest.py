"""Shared fixtures: a real executor service in a subprocess, and the programs under programs/."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PROGRAMS = Path(__file__).parent / "programs"
LANGUAGES = ("python", "node", "java")
SUFFIX = {"python": ".py", "node": ".js", "java": ".java"}
READY_TIMEOUT_S = 120.0


@dataclass
class Service:
    """A running `executor serve` and an HTTP client for it."""

    process: subprocess.Popen[bytes]
    url: str
    client: httpx.Client
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def execute(self, body: dict, *, expect: int = 200) -> dict:
        response = self.client.post("/execute", json=body)
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json()

    def run_program(self, language: str, case: str, **extra: object) -> dict:
        return self.execute({"language": language, **program(language, case), **extra})


def program(language: str, case: str) -> dict:
    """The request fields for tests/programs/<language>/<case>: ``code`` for a single file
    (any name with the language's suffix, case-insensitive, underscores ignored), ``files`` for a
    directory (entry point first: main.* or Main.java)."""
    folder = PROGRAMS / language
    directory = folder / case
    if directory.is_dir():
        paths = sorted(directory.iterdir(), key=lambda p: (p.stem.lower() != "main", p.name))
        return {"files": [{"name": p.name, "content": p.read_text()} for p in paths]}
    wanted = case.replace("_", "").lower()
    for path in folder.iterdir():
        if path.suffix == SUFFIX[language] and path.stem.replace("_", "").lower() == wanted:
            return {"code": path.read_text()}
    raise FileNotFoundError(f"no program {case!r} for {language} in {folder}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    *,
    warm: bool = False,
    launcher: Callable[[list[str]], list[str]] | None = None,
) -> Service:
    """Start `python -m executor serve` on a free loopback port and wait for /readyz (and, with
    ``warm``, for the warm Java compiler, so Java tests take one path every time).

    ``launcher`` wraps the command (e.g. in ``capsh --drop=...``); it must exec the service in
    the same process, so that the SIGTERM of stop_service reaches it."""
    port = free_port()
    argv = [sys.executable, "-m", "executor", "serve", "--port", str(port)]
    log_path = tmp_path / f"executor-{port}.log"
    child_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "EXECUTOR_MAX_CONCURRENCY": "4",
        "SERVICE_SECRET_FOR_TESTS": "do-not-leak-0xC0FFEE",
        **(env or {}),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            launcher(argv) if launcher is not None else argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=Path(__file__).parent.parent,
        )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=120)
    service = Service(process=process, url=url, client=client, log_path=log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"executor exited with {process.returncode}:\n{service.log()}")
        try:
            if client.get("/readyz").status_code == 200 and (not warm or warm_ready(service)):
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    stop_service(service)
    raise RuntimeError(f"executor not ready after {READY_TIMEOUT_S}s:\n{service.log()}")


def warm_ready(service: Service) -> bool:
    warm = service.client.get("/info").json()["warm_compilers"]
    return all(state["ready"] for state in warm.values())


def stop_service(service: Service) -> None:
    service.client.close()
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGTERM)
        try:
            service.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the whole session, with every isolation layer this machine allows."""
    svc = start_service(tmp_path_factory.mktemp("service"), warm=True)
    offered = {r["language"] for r in svc.client.get("/runtimes").json()}
    missing = set(LANGUAGES) - offered
    if missing:
        stop_service(svc)
        raise RuntimeError(f"toolchains missing for {sorted(missing)}:\n{svc.log()}")
    yield svc
    stop_service(svc)


def processes_of_uids(first_uid: int, count: int) -> list[str]:
    """Processes whose real uid lies in [first_uid, first_uid + count): a run's leftovers."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                if first_uid <= uid < first_uid + count:
                    found.append(f"{name} uid={uid}")
    return found


def settled(service: Service, *, timeout_s: float = 30) -> dict:
    """/info once no cleanup is under way (cleanup runs after the answer is sent)."""
    deadline = time.monotonic() + timeout_s
    while True:
        info = service.client.get("/info").json()
        if info["load"]["cleaning"] == 0 or time.monotonic() > deadline:
            return info
        time.sleep(0.01)


def leftovers(service: Service) -> list[str]:
    """Processes still alive under the service's run uids once the service has cleaned up after
    the last run (should always be none)."""
    pool = settled(service)["isolation"]["uid_pool"]
    assert pool is not None, "the uid layer is not active"
    return processes_of_uids(pool["base"], pool["size"])
