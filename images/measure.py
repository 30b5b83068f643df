"""Measure the language images and write their table into README.md.

For each image, over several runs (the median is quoted): its size, the time from `docker run`
to the first 200 on /readyz, the latency of the first and of a warm hello world through the
service, and the bare toolchain's hello world timed inside the same container (`python3
main.py`, `node main.js`, `javac Main.java` then `java Main`, spawned directly, no service and no
sandbox). Readiness has its baseline too, started from the same image in each run just before
the service: the stack alone (executor.testing's stack_baseline_source: the libraries the
service is built on, used as it uses them, uvicorn serving a Starlette app whose /readyz
answers 200 at once), so that the service's own start is read apart from Docker's and its
libraries', which move with the machine. Containers run as on Azure Container Apps' replica
size: --cpus 0.5 --memory 1g, Docker's default capabilities and seccomp profile, the port
published on 127.0.0.1 only (executor.testing's ContainerService starts them and waits for
them). Warm requests and bare runs go one at a time with a pause between them, so that each
starts with the CPU quota refilled.

The table goes into README.md between the markers ``<!-- images-table:start -->`` and
``<!-- images-table:end -->`` when the file has both; otherwise it is printed. The images must
exist (images/build.sh); hello worlds are timed with the standard library's client.

Environment: IMAGE_TAG (default latest) names the images measured, executor-<lang>:$IMAGE_TAG
and executor-base:$IMAGE_TAG, as images/build.sh tags them.

Usage: .venv/bin/python images/measure.py [--runs 5] [--warm 5] [--readme README.md] [--print]
[IMAGE...]

Over 300 lines: one measurement, from the containers it starts to the table it writes, read
top-down; the bare runs sit beside the service's so that both are timed the same way.
"""

import argparse
import datetime
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from executor.testing import CONTAINER_PORT, ContainerService, ServiceError, stack_baseline_source

REPO_DIR = Path(__file__).resolve().parent.parent
START_MARKER = "<!-- images-table:start -->"
END_MARKER = "<!-- images-table:end -->"
LANGUAGES = ("python", "node", "java")
HELLO = {
    "python": 'print("hello, world")\n',
    "node": 'console.log("hello, world");\n',
    "java": (
        "public class Main {\n"
        "    public static void main(String[] args) {\n"
        '        System.out.println("hello, world");\n'
        "    }\n"
        "}\n"
    ),
}
# The bare toolchain's hello world, per language: the commands run in a fresh directory.
BARE_COMMANDS = {
    "python": [["python3", "main.py"]],
    "node": [["node", "main.js"]],
    "java": [["javac", "Main.java"], ["java", "-cp", ".", "Main"]],
}
BARE_FILES = {"python": "main.py", "node": "main.js", "java": "Main.java"}
READY_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.01
WARM_POLL_INTERVAL_S = 0.1
REQUEST_TIMEOUT_S = 60.0
# Between warm requests and between bare runs: two of the CFS periods (100 ms) that --cpus
# counts its quota in, so that each starts with its quota refilled and none pays for the last.
PAUSE_S = 0.2
# Containers are named so, with the tag, that a killed measurement's leftovers can be found.
CONTAINER_PREFIX = "executor-measure-"

# Run inside the container by its own python: times the bare hello world (argv: a JSON list of
# the commands, the file name, the source, the number of runs, the pause), after one untimed run
# that warms the page cache. Prints a JSON list of [wall ms, CPU ms] per run.
BARE_SCRIPT = """
import json, os, resource, subprocess, sys, tempfile, time
commands, name, source = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
runs, pause_s = int(sys.argv[4]), float(sys.argv[5])
times = []
with tempfile.TemporaryDirectory() as work:
    with open(os.path.join(work, name), "w") as f:
        f.write(source)
    for _ in range(runs + 1):
        time.sleep(pause_s)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        for command in commands:
            subprocess.run(command, cwd=work, check=True, stdout=subprocess.DEVNULL)
        wall_ms = (time.monotonic() - started) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        times.append([wall_ms, cpu_s * 1000])
print(json.dumps(times[1:]))
"""


@dataclass(frozen=True)
class RunTimes:
    """One container's timings, ms."""

    ready_ms: float
    stack_ready_ms: float
    first_hello_ms: float
    warm_hello_ms: float
    bare_hello_ms: float
    bare_cpu_ms: float


@dataclass(frozen=True)
class ImageRow:
    """An image's size and the median of its runs' timings."""

    image: str
    size_mb: float
    layer_mb: float
    ready_ms: float
    stack_ready_ms: float
    first_hello_ms: float
    warm_hello_ms: float
    bare_hello_ms: float
    bare_cpu_ms: float
    runs: int
    revision: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "images", nargs="*", help="images (default: executor-<lang>:$IMAGE_TAG, tag latest)"
    )
    parser.add_argument("--runs", type=int, default=5, help="containers started per image")
    parser.add_argument(
        "--warm", type=int, default=5, help="warm and bare hello worlds per container"
    )
    parser.add_argument("--readme", type=Path, default=REPO_DIR / "README.md")
    parser.add_argument("--print", action="store_true", help="print only, never write")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warm < 1:
        parser.error("--runs and --warm must be at least 1")
    docker = docker_client()
    tag = os.environ.get("IMAGE_TAG", "latest")
    images = args.images or [f"executor-{lang}:{tag}" for lang in LANGUAGES]
    base_size_mb = image_size_mb(docker, f"executor-base:{tag}")
    composition = base_composition(docker, f"executor-base:{tag}", base_size_mb=base_size_mb)
    # The host's load: on a shared machine it, not the quota, can bound the containers.
    load_before = os.getloadavg()[0]
    rows = []
    for image in images:
        print(f"measuring {image} ({args.runs} runs)", file=sys.stderr)
        rows.append(
            measure_image(docker, image, runs=args.runs, warm=args.warm, base_size_mb=base_size_mb)
        )
    table = render_table(rows, composition=composition, load=(load_before, os.getloadavg()[0]))
    if args.print or not write_table(args.readme, table):
        print(table)
    else:
        print(f"wrote the table into {args.readme}", file=sys.stderr)
        print(table)
    return 0


def docker_client() -> str:
    """Debian's client (BuildKit built in) when present, else the docker on PATH."""
    for candidate in (os.environ.get("DOCKER"), "/usr/bin/docker", shutil.which("docker")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise SystemExit("no docker client found; run images/build.sh first")


def image_size_mb(docker: str, image: str) -> float:
    """The image's uncompressed size in MB (10^6 bytes, as `docker image ls` shows it)."""
    out = subprocess.run(
        [docker, "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"image {image} not found; build it with images/build.sh")
    return int(out.stdout.strip()) / 1e6


def base_composition(docker: str, image: str, *, base_size_mb: float) -> str:
    """What executor-base is made of: the OS image, Debian's python3, and the executor's venv
    (the layer copied to /opt/executor), in MB."""
    history = subprocess.run(
        [
            docker,
            "history",
            "--no-trunc",
            "--human=false",
            "--format",
            "{{.Size}}\t{{.CreatedBy}}",
            image,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    venv_mb = sum(
        int(line.split("\t")[0]) / 1e6 for line in history if "COPY /opt/executor" in line
    )
    os_image = image_labels(docker, image).get("org.opencontainers.image.base.name", "")
    os_mb = image_size_mb(docker, os_image) if os_image else 0.0
    python_mb = base_size_mb - os_mb - venv_mb
    return (
        f"executor-base is {base_size_mb:.0f} MB: `{os_image}` {os_mb:.0f} MB, Debian's python3 "
        f"{python_mb:.0f} MB, the executor's venv (service and dependencies) {venv_mb:.0f} MB."
    )


def image_labels(docker: str, image: str) -> dict[str, str]:
    """The image's labels."""
    out = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    labels: dict[str, str] = json.loads(out.stdout) or {}
    return labels


def measure_image(
    docker: str, image: str, *, runs: int, warm: int, base_size_mb: float
) -> ImageRow:
    language = language_of(docker, image)
    size_mb = image_size_mb(docker, image)
    times = [run_once(docker, image, language=language, warm=warm) for _ in range(runs)]
    return ImageRow(
        image=image,
        size_mb=size_mb,
        layer_mb=size_mb - base_size_mb,
        ready_ms=statistics.median(t.ready_ms for t in times),
        stack_ready_ms=statistics.median(t.stack_ready_ms for t in times),
        first_hello_ms=statistics.median(t.first_hello_ms for t in times),
        warm_hello_ms=statistics.median(t.warm_hello_ms for t in times),
        bare_hello_ms=statistics.median(t.bare_hello_ms for t in times),
        bare_cpu_ms=statistics.median(t.bare_cpu_ms for t in times),
        runs=runs,
        revision=image_labels(docker, image).get("org.opencontainers.image.revision", "unknown"),
    )


def language_of(docker: str, image: str) -> str:
    """The language the image offers, from its EXECUTOR_LANGUAGES setting."""
    out = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .Config.Env}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    for item in json.loads(out.stdout) or []:
        name, _, value = item.partition("=")
        if name == "EXECUTOR_LANGUAGES" and value in HELLO:
            return str(value)
    raise SystemExit(f"{image} sets no single EXECUTOR_LANGUAGES among {', '.join(HELLO)}")


def run_once(docker: str, image: str, *, language: str, warm: int) -> RunTimes:
    name = f"{CONTAINER_PREFIX}{container_tag(image)}-{language}-{secrets.token_hex(4)}"
    stack_ready_ms = stack_ready(docker, image, name=f"{name}-stack")
    try:
        with ContainerService.spawn(image, name=name, docker=docker) as container:
            ready_s = container.wait_ready(
                timeout_s=READY_TIMEOUT_S, poll_interval_s=POLL_INTERVAL_S
            ).ready_s
            first_hello_ms = hello_ms(container.url, language)
            # The warm latency is that of a fully started replica: Java's javac server ready.
            container.wait_warm(timeout_s=READY_TIMEOUT_S, poll_interval_s=WARM_POLL_INTERVAL_S)
            warm_ms = []
            for _ in range(warm):
                time.sleep(PAUSE_S)
                warm_ms.append(hello_ms(container.url, language))
            bare = bare_hello(container, language=language, runs=warm)
            return RunTimes(
                ready_ms=ready_s * 1000,
                stack_ready_ms=stack_ready_ms,
                first_hello_ms=first_hello_ms,
                warm_hello_ms=statistics.median(warm_ms),
                bare_hello_ms=statistics.median(wall for wall, _ in bare),
                bare_cpu_ms=statistics.median(cpu for _, cpu in bare),
            )
    except ServiceError as exc:
        raise SystemExit(str(exc)) from None


def stack_ready(docker: str, image: str, *, name: str) -> float:
    """`docker run` → /readyz 200 of the stack alone in a container of ``image``, timed as the
    service's start is, ms."""
    try:
        with ContainerService.spawn(
            image,
            name=name,
            docker=docker,
            entrypoint="/opt/executor/bin/python",
            args=("-I", "-c", stack_baseline_source(host="0.0.0.0", port=CONTAINER_PORT)),
        ) as container:
            ready_s = container.wait_ready(
                timeout_s=READY_TIMEOUT_S, poll_interval_s=POLL_INTERVAL_S
            ).ready_s
            return ready_s * 1000
    except ServiceError as exc:
        raise SystemExit(f"the stack alone did not start in {image}: {exc}") from None


def container_tag(image: str) -> str:
    """The image's tag, as a container name may hold it."""
    tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else "latest"
    return "".join(c if c.isalnum() or c in "_.-" else "-" for c in tag)


def bare_hello(container: ContainerService, *, language: str, runs: int) -> list[list[float]]:
    """The bare toolchain's hello world, ``runs`` times inside ``container`` (as root, outside
    the service): [wall ms, CPU ms] per run."""
    done = container.exec(
        "/opt/executor/bin/python",
        "-I",
        "-c",
        BARE_SCRIPT,
        json.dumps(BARE_COMMANDS[language]),
        BARE_FILES[language],
        HELLO[language],
        str(runs),
        str(PAUSE_S),
        timeout_s=REQUEST_TIMEOUT_S * runs,
    )
    if done.returncode != 0:
        raise SystemExit(f"the bare {language} hello world failed: {done.stderr}")
    times: list[list[float]] = json.loads(done.stdout)
    return times


def hello_ms(url: str, language: str) -> float:
    body = json.dumps({"language": language, "code": HELLO[language]}).encode()
    request = urllib.request.Request(
        f"{url}/execute", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
        result = json.load(response)
    elapsed_ms = (time.monotonic() - started) * 1000
    if result.get("status") != "ok" or result.get("stdout") != "hello, world\n":
        raise SystemExit(f"hello world in {language} failed: {result}")
    return elapsed_ms


def render_table(rows: list[ImageRow], *, composition: str, load: tuple[float, float]) -> str:
    """The README's table and its caption; ``load`` is the host's 1-minute load average at the
    start and at the end."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {memory_gib:.0f} GiB, "
        f"Docker {docker_version()}, load average {load[0]:.1f} at the start and "
        f"{load[1]:.1f} at the end"
    )
    revisions = ", ".join(sorted({row.revision for row in rows}))
    lines = [
        f"Measured by `images/measure.py` on {datetime.date.today().isoformat()} ({machine}), "
        f"images built from revision {revisions}; containers limited to `--cpus 0.5 --memory "
        f"1g`; median of {rows[0].runs} runs each. First hello world: the first request, right "
        "after `/readyz`; warm: once the service reports its warm compilers ready (`/info`), "
        "median of several requests one at a time, a pause between them so that each starts "
        "with the CPU quota refilled. Bare: the toolchain itself in the same container, spawned "
        "directly with its default flags (`python3 main.py`, `node main.js`, `javac Main.java` "
        "then `java Main`), timed the same way; its CPU is user + system time. The stack alone: "
        "a container of the same image started just before each of the service's, running "
        "only the libraries the service is built on (uvicorn, Starlette, pydantic, "
        "prometheus-client, python-json-logger; `stack_baseline_source` in "
        "`executor/testing.py`) with a "
        "`/readyz` that answers 200 at once, timed the same way: what Docker and the libraries "
        "take on this machine that day; the column after it is the service's own start. Sizes "
        f"uncompressed, MB = 10^6 bytes; {composition} Python's toolchain is the base's "
        "python3, so its image adds nothing on top.",
        "",
        "| image | size | toolchain on the base | `docker run` → `/readyz` 200 "
        "| the stack alone → `/readyz` | the service's own start "
        "| first hello world | warm hello world | bare hello world (CPU) | warm ÷ bare |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row.image.rpartition(':')[0] or row.image}` | {row.size_mb:.0f} MB "
            f"| {row.layer_mb:.0f} MB | {row.ready_ms:.0f} ms | {row.stack_ready_ms:.0f} ms "
            f"| {row.ready_ms - row.stack_ready_ms:+.0f} ms | {row.first_hello_ms:.0f} ms "
            f"| {row.warm_hello_ms:.0f} ms | {row.bare_hello_ms:.0f} ms ({row.bare_cpu_ms:.0f} ms) "
            f"| {row.warm_hello_ms / row.bare_hello_ms:.2f}x |"
        )
    return "\n".join(lines)


def docker_version() -> str:
    out = subprocess.run(
        [docker_client(), "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


def write_table(readme: Path, table: str) -> bool:
    """Replace what lies between the markers; False when the file or a marker is missing."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    start = text.find(START_MARKER)
    end = text.find(END_MARKER)
    if start < 0 or end < start:
        return False
    head = text[: start + len(START_MARKER)]
    readme.write_text(f"{head}\n{table}\n{text[end:]}")
    return True


if __name__ == "__main__":
    sys.exit(main())
