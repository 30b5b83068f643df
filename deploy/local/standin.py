"""The local stand-in of the ACA environment: K containers per language image behind HAProxy.

`up` starts, for each language of the Terraform values (images, cpu, memory, min_replicas, mode,
executor_settings), K containers of its image at the replica size, each published on a loopback
port, and one HAProxy (Debian's package) with a frontend per language on 127.0.0.1, health checks
on /readyz and least-connections balancing. It prints the client URLs as JSON. `down` stops
HAProxy and removes every container of the stand-in. Nothing is installed here: a missing docker,
haproxy or python-hcl2 is an error that says what to install.
"""

import argparse
import json
import os
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TERRAFORM = HERE.parent / "terraform"
LANGUAGES = ("python", "node", "java")  # frontend port = base port + index
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
READY_TIMEOUT_S = 180.0
# variables.tf defaults, for values a tfvars file leaves out.
DEFAULTS: dict[str, Any] = {
    "images": {lang: f"executor-{lang}:latest" for lang in LANGUAGES},
    "mode": "shared",
    "cpu": 0.5,
    "memory": "1Gi",
    "min_replicas": {lang: 0 for lang in LANGUAGES},
    "replica_concurrency": None,
    "executor_settings": {},
    "api_keys": [],
}


class StandinError(Exception):
    """Something the operator must fix; the message says what."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/local/standin.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the stand-in")
    up.add_argument(
        "--tfvars",
        type=Path,
        help="Terraform values (default: terraform.tfvars, "
        "else terraform.tfvars.example, in deploy/terraform)",
    )
    up.add_argument(
        "--replicas",
        type=int,
        help="containers per language (default: min_replicas of each language, at least 1)",
    )
    up.add_argument("--mode", choices=("shared", "per_execution"), help="override the tfvars")
    up.add_argument("--languages", help="comma-separated subset of the tfvars' languages")
    up.add_argument(
        "--base-port",
        type=int,
        default=18080,
        help="python on this port, node +1, java +2, HAProxy's stats page +9",
    )
    for command in (up, commands.add_parser("down", help="stop the stand-in")):
        command.add_argument(
            "--prefix",
            default="executor-standin",
            help="container name prefix and label (default executor-standin)",
        )
        command.add_argument("--state-dir", type=Path, help="default: <temp dir>/<prefix>")
    args = parser.parse_args(argv)
    state_dir = args.state_dir or Path(tempfile.gettempdir()) / args.prefix
    try:
        if args.command == "up":
            print(json.dumps(bring_up(args, state_dir), indent=2))
        else:
            bring_down(args.prefix, state_dir)
    except StandinError as exc:
        print(f"standin: {exc}", file=sys.stderr)
        return 1
    return 0


def bring_up(args: argparse.Namespace, state_dir: Path) -> dict[str, Any]:
    """Start containers and HAProxy; return the state (URLs, containers, HAProxy's pid file)."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise StandinError(
            "haproxy not found: install Debian's package (apt-get install -y haproxy)"
        )
    if subprocess.run([DOCKER, "info"], capture_output=True, check=False).returncode != 0:
        raise StandinError(f"no Docker engine answers to {DOCKER} info")
    if (state_dir / "state.json").exists():
        raise StandinError(f"already up (state in {state_dir}): run deploy/local/down first")
    values = read_tfvars(args.tfvars)
    mode = args.mode or values["mode"]
    if mode == "session_pool":
        raise StandinError(
            "mode session_pool has no local stand-in (Hyper-V sessions); "
            "use --mode shared or per_execution"
        )
    languages = [lang for lang in LANGUAGES if lang in values["images"]]
    if args.languages:
        languages = [lang for lang in languages if lang in args.languages.split(",")]
    env = service_env(values, mode)
    state_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "prefix": args.prefix,
        "mode": mode,
        "cpu": values["cpu"],
        "memory": values["memory"],
        "containers": {},
        "urls": {},
        "pidfile": str(state_dir / "haproxy.pid"),
    }
    try:
        for language in languages:
            count = args.replicas or max(1, int(values["min_replicas"].get(language, 0)))
            state["containers"][language] = [
                start_container(args.prefix, language, index, values, env) for index in range(count)
            ]
            _save(state_dir, state)
        for containers in state["containers"].values():
            for container in containers:
                wait_ready(container["url"])
        config = render_haproxy(state, state_dir, base_port=args.base_port)
        check = subprocess.run(
            [haproxy, "-c", "-q", "-f", str(config)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise StandinError(f"haproxy rejects {config}:\n{check.stderr}")
        subprocess.run([haproxy, "-D", "-f", str(config)], check=True)
        for index, language in enumerate(LANGUAGES):
            if language in state["containers"]:
                state["urls"][language] = f"http://127.0.0.1:{args.base_port + index}"
        state["stats"] = f"http://127.0.0.1:{args.base_port + 9}/"
        _save(state_dir, state)
        for url in state["urls"].values():
            wait_ready(url)
    except BaseException:
        bring_down(args.prefix, state_dir)
        raise
    return state


def bring_down(prefix: str, state_dir: Path) -> None:
    """Stop HAProxy (the pid in its pid file) and remove every container labelled with
    ``prefix``; remove the state directory. Safe to run twice."""
    pidfile = state_dir / "haproxy.pid"
    if pidfile.exists():
        for line in pidfile.read_text().split():
            _stop_pid(int(line))
    listed = subprocess.run(
        [DOCKER, "ps", "-aq", "--filter", f"label=executor.standin={prefix}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run([DOCKER, "rm", "-f", *listed], capture_output=True, check=False)
    shutil.rmtree(state_dir, ignore_errors=True)


def read_tfvars(path: Path | None) -> dict[str, Any]:
    """The Terraform values the stand-in uses, defaults filled in as variables.tf has them."""
    try:
        import hcl2
    except ImportError:
        raise StandinError("python-hcl2 is missing: pip install -e '.[deploy]'") from None
    if path is None:
        path = TERRAFORM / "terraform.tfvars"
        if not path.exists():
            path = TERRAFORM / "terraform.tfvars.example"
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    with open(path) as file:
        given = hcl2.load(file, serialization_options=options)
    return {**DEFAULTS, **{key: value for key, value in given.items() if key in DEFAULTS}}


def service_env(values: dict[str, Any], mode: str) -> dict[str, str]:
    """The EXECUTOR_* settings of a replica, as main.tf's local.executor_env builds them."""
    env = {str(k): str(v) for k, v in values["executor_settings"].items()}
    if mode == "per_execution":
        env.update(EXECUTOR_MAX_CONCURRENCY="1", EXECUTOR_MAX_QUEUE="0")
    elif values["replica_concurrency"] is not None:
        env["EXECUTOR_MAX_CONCURRENCY"] = str(values["replica_concurrency"])
    if values["api_keys"]:
        env["EXECUTOR_API_KEYS"] = ",".join(values["api_keys"])
    return env


def start_container(
    prefix: str, language: str, index: int, values: dict[str, Any], env: dict[str, str]
) -> dict[str, str]:
    """``docker run`` one replica, published on a free loopback port; its name and URL."""
    name = f"{prefix}-{language}-{index}"
    argv = [
        DOCKER,
        "run",
        "-d",
        "--name",
        name,
        "--label",
        f"executor.standin={prefix}",
        "--cpus",
        str(values["cpu"]),
        "--memory",
        docker_memory(values["memory"]),
        "-p",
        "127.0.0.1::8080",
    ]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    started = subprocess.run(
        [*argv, values["images"][language]], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        raise StandinError(f"docker run {name} failed: {started.stderr.strip()}")
    port = subprocess.run(
        [DOCKER, "port", name, "8080/tcp"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    return {"name": name, "url": f"http://{port}"}


def docker_memory(value: str) -> str:
    """ACA's "1Gi" / "0.5Gi" / "512Mi" as Docker's --memory ("1024m")."""
    units = {"Gi": 1024, "Mi": 1}
    for suffix, mib in units.items():
        if value.endswith(suffix):
            return f"{int(float(value[: -len(suffix)]) * mib)}m"
    raise StandinError(f"memory {value!r}: expected a number of Gi or Mi, e.g. 1Gi")


def render_haproxy(state: dict[str, Any], state_dir: Path, *, base_port: int) -> Path:
    main = string.Template((HERE / "haproxy.cfg.template").read_text())
    block = string.Template((HERE / "haproxy-language.cfg.template").read_text())
    sections = []
    for index, language in enumerate(LANGUAGES):
        containers = state["containers"].get(language)
        if not containers:
            continue
        servers = "\n".join(
            f"    server {c['name']} {c['url'].removeprefix('http://')} check" for c in containers
        )
        sections.append(
            block.substitute(language=language, port=base_port + index, servers=servers)
        )
    path = state_dir / "haproxy.cfg"
    path.write_text(
        main.substitute(
            pidfile=state["pidfile"],
            stats_socket=state_dir / "haproxy.sock",
            languages="\n".join(sections),
            stats_port=base_port + 9,
        )
    )
    return path


def wait_ready(url: str) -> None:
    """Poll ``url``/readyz until 200, READY_TIMEOUT_S at most."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise StandinError(f"{url}/readyz did not answer 200 within {READY_TIMEOUT_S:.0f} s")


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _save(state_dir: Path, state: dict[str, Any]) -> None:
    (state_dir / "state.json").write_text(json.dumps(state, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
