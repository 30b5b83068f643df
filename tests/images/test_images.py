"""The language images under a real Docker engine: metadata, contents, and the service in a
container of the replica's size (--cpus 0.5 --memory 1g, default capabilities and seccomp)."""

import json
import subprocess
import time

import pytest

from executor.testing import ContainerService
from tests.support import (
    BASE_IMAGE,
    IMAGES,
    JAVA_PRINTS_ITS_PID,
    LANGUAGES,
    container_name,
    execute_watching_runners,
    program,
    runner_uids_of,
)

pytestmark = pytest.mark.docker

ENTRYPOINT = ["/opt/executor/bin/executor", "serve", "--host", "0.0.0.0", "--port", "8080"]
JAVA_HOME = "/usr/lib/jvm/java-21-openjdk-amd64"
JAVAC_CDS_ARCHIVE = f"{JAVA_HOME}/lib/server/javac.jsa"
COMPILE_SERVER_JAR = f"{JAVA_HOME}/lib/server/compile-server.jar"
COMPILE_SERVER_CDS_ARCHIVE = f"{JAVA_HOME}/lib/server/compile-server.jsa"
# What the Node image's node says of itself: its LTS codename (false for a Current release),
# whether V8's startup snapshot is built in, and its path.
NODE_BUILD_SCRIPT = (
    "console.log(JSON.stringify({lts: process.release.lts || false,"
    " snapshot: process.config.variables.node_use_node_snapshot, path: process.execPath}))"
)
# The service's probe of the image's JDK, as it runs at startup.
JAVA_PROBE_SCRIPT = f"""
from executor.languages.java.toolchain import probe_java
print(" ".join(probe_java("{JAVA_HOME}/bin/java").expansions["compile_server"]))
"""
# Where the service finds the Java runner's classes: the image's, beside the JDK (a cache that
# cannot be made shows that it compiles nothing at start).
JAVA_RUNNER_SCRIPT = f"""
from executor.languages.java.runner import build_runner
from executor.languages.java.toolchain import probe_java
print(build_runner(probe_java("{JAVA_HOME}/bin/java"), "/proc/no-cache-here"))
"""
PYTHON_IMAGE_MAX_BYTES = 150 * 10**6
EXECUTOR_LAYER_MAX_BYTES = 30 * 10**6
SPIN_LIMITS = {"time_ms": 1000, "wall_time_ms": 10000}
MEMORY_LIMITS = {"memory_mb": 128, "time_ms": 10000, "wall_time_ms": 20000}
BOMB_LIMITS = {"processes": 32, "time_ms": 2000, "wall_time_ms": 4000, "memory_mb": 512}
# Time for the service to notice, kill, reap and answer, beyond a run's wall limit, at 0.5 CPU.
MARGIN_MS = 3000
# Java compiles before it runs; the compilation has its own limits.
COMPILE_ALLOWANCE_S = {"python": 0.0, "node": 0.0, "java": 30.0}

# Lists every regular file that is setuid, setgid or carries file capabilities.
PRIVILEGED_FILES_SCRIPT = """
import os, stat
for root, dirs, files in os.walk("/"):
    if root == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    for name in files:
        path = os.path.join(root, name)
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            continue
        if mode & (stat.S_ISUID | stat.S_ISGID):
            print(f"{path} mode {oct(mode)}")
        try:
            os.getxattr(path, "security.capability", follow_symlinks=False)
        except OSError:
            continue
        print(f"{path} has file capabilities")
"""

# Lists the processes of the run uids [argv[1], argv[1] + argv[2]) and every zombie.
# How long a run's leftovers may take to go (the cleanup runs after the answer).
LEFTOVERS_TIMEOUT_S = 10
LEFTOVERS_SCRIPT = """
import os, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
runner_uids = {int(uid) for uid in sys.argv[3:]}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    except OSError:
        continue
    uid = int(fields["Uid"].split()[0])
    state = fields["State"].split()[0]
    if (first <= uid < first + count and uid not in runner_uids) or state == "Z":
        print(pid, fields["Name"].strip(), f"uid={uid}", f"state={state}")
"""


# -- the images, without running the service ---------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_image_metadata(docker: str, images: dict[str, str], language: str) -> None:
    """The service runs as root (it drops to per-run uids itself), on port 8080, offering only
    the image's language, with a health check and OCI labels."""
    config = inspect(docker, images[language])["Config"]
    assert config["User"] in ("", "root", "0")
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ENTRYPOINT
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert f"EXECUTOR_LANGUAGES={language}" in config["Env"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == f"executor-{language}"
    assert labels["org.opencontainers.image.version"]
    assert labels["org.opencontainers.image.revision"]


@pytest.mark.parametrize("image", [BASE_IMAGE, *IMAGES.values()])
def test_no_setuid_setgid_or_file_capabilities(
    docker: str, images: dict[str, str], image: str
) -> None:
    """Nothing user code can reach may raise privileges: no setuid or setgid file, no file
    capabilities, anywhere in the image."""
    done = subprocess.run(
        [
            docker,
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "/opt/executor/bin/python",
            image,
            "-I",
            "-c",
            PRIVILEGED_FILES_SCRIPT,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_python_image_is_under_150_mb(docker: str, images: dict[str, str]) -> None:
    size = inspect(docker, images["python"])["Size"]
    assert size < PYTHON_IMAGE_MAX_BYTES, f"{size / 1e6:.1f} MB"


def test_executor_layer_is_under_30_mb(docker: str, images: dict[str, str]) -> None:
    """The layer the executor adds on top of Python (its venv: the service and dependencies)."""
    history = subprocess.run(
        [
            docker,
            "history",
            "--no-trunc",
            "--human=false",
            "--format",
            "{{.Size}}\t{{.CreatedBy}}",
            BASE_IMAGE,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    sizes = [int(line.split("\t")[0]) for line in history if "COPY /opt/executor" in line]
    assert len(sizes) == 1, history
    assert sizes[0] < EXECUTOR_LAYER_MAX_BYTES, f"{sizes[0] / 1e6:.1f} MB"


def test_javac_class_data_sharing_archive_maps(docker: str, images: dict[str, str]) -> None:
    """The javac archive built into the Java image is usable by that image's JVM: -Xshare:on
    fails the start instead of ignoring an archive that cannot be mapped."""
    done = subprocess.run(
        [
            docker,
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "javac",
            images["java"],
            "-J-Xshare:on",
            f"-J-XX:SharedArchiveFile={JAVAC_CDS_ARCHIVE}",
            "-J-XX:+UseSerialGC",
            "-J-XX:TieredStopAtLevel=1",
            "-version",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_node_is_an_official_lts_build_with_the_startup_snapshot(
    docker: str, images: dict[str, str]
) -> None:
    """The Node image's node is an LTS release built with V8's startup snapshot (Debian's is
    not, and costs several times the CPU per start), installed alone: no npm."""
    done = docker_run(docker, images["node"], "node", "-e", NODE_BUILD_SCRIPT)
    assert done.returncode == 0, done.stderr
    build = json.loads(done.stdout)
    assert build["lts"], build
    assert build["snapshot"] is True, build
    assert build["path"] == "/usr/local/bin/node"
    npm = docker_run(docker, images["node"], "sh", "-c", "command -v npm npx corepack")
    assert npm.stdout == ""


def test_the_prebuilt_compile_server_is_used_and_its_archive_maps(
    docker: str, images: dict[str, str]
) -> None:
    """The service's probe picks the Java image's compile-server jar (built from its own
    source) with its archive, and that archive is usable by the image's JVM: -Xshare:on fails
    the start instead of ignoring an archive that cannot be mapped."""
    probe = docker_run(
        docker, images["java"], "/opt/executor/bin/python", "-I", "-c", JAVA_PROBE_SCRIPT
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == [
        f"-XX:SharedArchiveFile={COMPILE_SERVER_CDS_ARCHIVE}",
        "-cp",
        COMPILE_SERVER_JAR,
        "CompileServer",
    ]
    server = docker_run(
        docker,
        images["java"],
        "java",
        "-Xshare:on",
        f"-XX:SharedArchiveFile={COMPILE_SERVER_CDS_ARCHIVE}",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        COMPILE_SERVER_JAR,
        "CompileServer",
        "0",
    )
    assert server.returncode == 0, server.stderr


def test_the_java_runner_is_prebuilt_beside_the_jdk(docker: str, images: dict[str, str]) -> None:
    """The service finds the Java runner's classes that the image compiled for its JDK: no
    javac of the runner at start (1.4 s of CPU at --cpus 0.5, right after /readyz)."""
    probe = docker_run(
        docker, images["java"], "/opt/executor/bin/python", "-I", "-c", JAVA_RUNNER_SCRIPT
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(f"{JAVA_HOME}/lib/server/java-runner-"), probe.stdout


def test_a_java_submission_right_after_readyz_runs_in_a_runner(
    docker: str, images: dict[str, str]
) -> None:
    """1. Start a Java container (--cpus 0.5 --memory 1g); once /readyz is 200, its warm
    compiler and a runner start.
    2. Send at once a program printing its pid; while it is answered, read /info over and over
    for the runners that wait.
    Expected: it ran in one of those runners (its pid is a runner's), not in a JVM started cold
    beside the compiler's start, which on half a CPU costs the first request its CPU."""
    with ContainerService.start(
        images["java"], name=container_name("java-first"), docker=docker
    ) as running:
        body = {"language": "java", "code": JAVA_PRINTS_ITS_PID}
        answer, runner_pids = execute_watching_runners(running, body, language="java")
        assert answer["status"] == "ok", answer
        assert int(str(answer["stdout"])) in runner_pids, (answer["stdout"], runner_pids)


def docker_run(docker: str, image: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``argv`` in a throwaway container of ``image`` without network, stdin empty; what it
    prints decoded, undecodable bytes replaced."""
    return subprocess.run(
        [docker, "run", "--rm", "--network", "none", "--entrypoint", argv[0], image, *argv[1:]],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )


# -- a running container of each language image ------------------------------------------------


def test_health_ready_and_runtimes(container: ContainerService, language: str) -> None:
    """/healthz and /readyz answer 200, and /runtimes offers the image's language alone."""
    assert container.client.get("/healthz").status_code == 200
    assert container.client.get("/readyz").status_code == 200
    response = container.client.get("/runtimes")
    assert response.status_code == 200
    runtimes = response.json()
    assert isinstance(runtimes, list)
    assert [runtime["language"] for runtime in runtimes] == [language]


def test_healthcheck_command_passes(container: ContainerService) -> None:
    test = inspect(container.docker, container.image)["Config"]["Healthcheck"]["Test"]
    done = container.exec(*test[1:])
    assert done.returncode == 0, done.stderr


def test_hello_world(container: ContainerService, language: str) -> None:
    result = run(container, language, "hello")
    assert result["status"] == "ok", result
    assert result["stdout"] == "Hello, world!\n"
    assert result["exit_code"] == 0


def test_stdin_echo(container: ContainerService, language: str) -> None:
    text = "line one\nline two ünïcödé\n" * 100
    result = run(container, language, "echo_stdin", stdin=text)
    assert result["status"] == "ok", result
    assert result["stdout"] == text


def test_cpu_spin_is_time_limit_exceeded(container: ContainerService, language: str) -> None:
    """1. A program spins on the CPU under a 1 s CPU limit (10 s wall).
    Expected: time_limit_exceeded, stopped near 1 s of CPU, long before the wall limit."""
    result = run(container, language, "spin", limits=SPIN_LIMITS)
    assert result["status"] == "time_limit_exceeded", result
    assert result["wall_time_ms"] < SPIN_LIMITS["wall_time_ms"]
    assert_contained(container)


def test_allocation_past_the_limit_is_memory_limit_exceeded(
    container: ContainerService, language: str
) -> None:
    """1. A program allocates 1 MB blocks without end under a 128 MB limit.
    Expected: memory_limit_exceeded; the container (1 GB) is neither killed nor restarted."""
    result = run(container, language, "memory_hog", limits=MEMORY_LIMITS)
    assert result["status"] == "memory_limit_exceeded", result
    assert_contained(container)


def test_fork_bomb_is_contained(container: ContainerService, language: str) -> None:
    """1. A program forks (or spawns itself) without end under a 32-process limit.
    2. It ends within its wall limit. 3. Nothing of it is left in the container.
    4. The next hello world runs normally."""
    started = time.monotonic()
    result = run(container, language, "fork_bomb", limits=BOMB_LIMITS)
    elapsed_s = time.monotonic() - started
    assert result["status"] in {"time_limit_exceeded", "memory_limit_exceeded", "runtime_error"}
    assert result["wall_time_ms"] <= BOMB_LIMITS["wall_time_ms"] + MARGIN_MS, result
    budget_s = (BOMB_LIMITS["wall_time_ms"] + MARGIN_MS) / 1000
    assert elapsed_s < budget_s + COMPILE_ALLOWANCE_S[language]
    assert_contained(container)
    hello = run(container, language, "hello")
    assert hello["status"] == "ok", hello
    assert hello["stdout"] == "Hello, world!\n"


def run(container: ContainerService, language: str, case: str, **extra: object) -> dict:
    """POST /execute of tests/programs/<language>/<case> with ``extra``; the answer of a 200."""
    return container.execute({"language": language, **program(language, case), **extra})


def inspect(docker: str, name: str) -> dict:
    """``docker inspect`` of an image or a container."""
    done = subprocess.run(
        [docker, "inspect", name], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]


def assert_contained(container: ContainerService) -> None:
    """The run left no process under the run uids and no zombie, and the container still runs
    its first start. (The service's own helpers, such as a warm compiler, run outside the pool;
    a runner started ahead waits in a uid of the pool of its own, which /info lists: one may
    start between that list and the look, so a look that finds something looks again.)"""
    deadline = time.monotonic() + LEFTOVERS_TIMEOUT_S
    while True:
        response = container.client.get("/info")
        assert response.status_code == 200
        info = response.json()
        assert isinstance(info, dict)
        pool = info["isolation"]["uid_pool"]
        assert pool is not None, "no uid pool: runs would share the service's uid in the container"
        leftovers = container.exec(
            "/opt/executor/bin/python",
            "-I",
            "-c",
            LEFTOVERS_SCRIPT,
            str(pool["base"]),
            str(pool["size"]),
            *(str(uid) for uid in runner_uids_of(info)),
        )
        assert leftovers.returncode == 0, leftovers.stderr
        if leftovers.stdout == "" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert leftovers.stdout == "", f"left in the container:\n{leftovers.stdout}"
    state = container.state()
    assert state["Running"] and not state["OOMKilled"] and not state["Restarting"], state
    assert container.client.get("/healthz").status_code == 200
