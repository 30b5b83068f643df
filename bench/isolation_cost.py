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
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from executor.testing import HostService, with_docker_default_capabilities

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 120
HELLO = {"language": "python", "code": "print('hello')\n"}


@dataclass
class Config:
    """One service under measurement and what it measured."""

    name: str
    isolation: str
    docker_caps: bool = False
    service: HostService | None = None
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
    env = {
        "EXECUTOR_ISOLATION": config.isolation,
        "EXECUTOR_LANGUAGES": "python",
        "EXECUTOR_MAX_CONCURRENCY": "2",
    }
    launcher = with_docker_default_capabilities() if config.docker_caps else None
    config.service = HostService.start(
        env=env, launcher=launcher, log_dir=log_dir, cwd=REPO, timeout_s=READY_TIMEOUT_S
    )


def stop(config: Config) -> None:
    if config.service is not None:
        config.service.stop()


def hello(config: Config) -> None:
    assert config.service is not None
    started = time.perf_counter()
    response = config.service.client.post("/execute", json=HELLO)
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


if __name__ == "__main__":
    sys.exit(main())
