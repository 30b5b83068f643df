"""Per-run cost of the isolation layers: a Python hello world through the API, with every layer
(EXECUTOR_ISOLATION=auto) against none (EXECUTOR_ISOLATION=none), in the same run.

Usage: ``.venv/bin/python bench/isolation_cost.py [--requests 200] [--docker-caps]`` as root
(like the service). It starts one service per configuration on free 127.0.0.1 ports (Python
only), warms each up, then sends the requests one at a time, interleaving the services round
by round so that the machine's noise falls on all of them alike, and prints medians and 90th
percentiles of the latency the client sees and of the run's own ``wall_time_ms``. With
``--docker-caps`` a third service runs ``auto`` with only Docker's default capabilities (no
namespaces: uid drop and seccomp alone). Only hello worlds run, so ``none`` is safe here.
"""

import argparse
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 120
HELLO = {"language": "python", "code": "print('hello')\n"}
# Linux capabilities by number (include/uapi/linux/capability.h), and Docker's default set.
# fmt: off
CAP_NAMES = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
    "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
    "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
    "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
)
DOCKER_DEFAULT_CAPS = frozenset((
    "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
    "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap",
))
# fmt: on


@dataclass
class Config:
    """One service under measurement and what it measured."""

    name: str
    isolation: str
    docker_caps: bool = False
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client | None = None
    latency_ms: list[float] = field(default_factory=list)
    run_wall_ms: list[int] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="hello worlds per service")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests first")
    parser.add_argument("--docker-caps", action="store_true", help="also auto, Docker caps")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the uid drop needs it", file=sys.stderr)
        return 2
    configs = [Config("none", "none"), Config("auto", "auto")]
    if args.docker_caps:
        configs.append(Config("auto, docker caps", "auto", docker_caps=True))
    log_dir = Path(tempfile.mkdtemp(prefix="isolation-cost-"))
    try:
        for config in configs:
            start(config, log_dir)
        for config in configs:
            for _ in range(args.warmup):
                hello(config)
            config.latency_ms.clear()
            config.run_wall_ms.clear()
        for _ in range(args.requests):
            for config in configs:
                hello(config)
        report(configs, args.requests)
    finally:
        for config in configs:
            stop(config)
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0


def start(config: Config, log_dir: Path) -> None:
    port = _free_port()
    argv = [sys.executable, "-m", "executor", "serve", "--port", str(port)]
    if config.docker_caps:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        drop = [f"cap_{c}" for c in CAP_NAMES[: last + 1] if c not in DOCKER_DEFAULT_CAPS]
        argv = ["capsh", f"--drop={','.join(drop)}", "--", "-c", "exec " + shlex.join(argv)]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "EXECUTOR_ISOLATION": config.isolation,
        "EXECUTOR_LANGUAGES": "python",
        "EXECUTOR_MAX_CONCURRENCY": "2",
    }
    with open(log_dir / f"{port}.log", "wb") as log:
        config.process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO
        )
    config.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if config.process.poll() is not None:
            raise RuntimeError(f"{config.name}: service exited {config.process.returncode}")
        try:
            if config.client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{config.name}: service not ready after {READY_TIMEOUT_S}s")


def stop(config: Config) -> None:
    if config.client is not None:
        config.client.close()
    if config.process is not None and config.process.poll() is None:
        config.process.send_signal(signal.SIGTERM)
        try:
            config.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            config.process.kill()
            config.process.wait()


def hello(config: Config) -> None:
    assert config.client is not None
    started = time.perf_counter()
    response = config.client.post("/execute", json=HELLO)
    elapsed_ms = (time.perf_counter() - started) * 1000
    body = response.json()
    if response.status_code != 200 or body.get("stdout") != "hello\n":
        raise RuntimeError(f"{config.name}: unexpected answer {response.status_code} {body}")
    config.latency_ms.append(elapsed_ms)
    config.run_wall_ms.append(body["wall_time_ms"])


def report(configs: list[Config], requests: int) -> None:
    base = configs[0]
    base_median = statistics.median(base.latency_ms)
    print(f"Python hello world, {requests} requests per service, interleaved, one at a time")
    print(f"{'isolation':<20} {'median ms':>10} {'p90 ms':>8} {'run wall ms':>12} {'vs none':>16}")
    for config in configs:
        median = statistics.median(config.latency_ms)
        p90 = statistics.quantiles(config.latency_ms, n=10)[-1]
        run_wall = statistics.median(config.run_wall_ms)
        extra = median - base_median
        print(
            f"{config.name:<20} {median:>10.1f} {p90:>8.1f} {run_wall:>12.0f} "
            f"{extra:>+8.1f} ms {median / base_median:>5.2f}x"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
