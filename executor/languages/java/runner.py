"""Java's runner (JavaRunner.java): compiled once per JDK and source, by the image beside the JDK
or else into the service's cache, where every run's uid can read it."""

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from importlib import resources

from executor.languages.plan import Toolchain

SOURCE_NAME = "JavaRunner.java"
# Where images/java/Dockerfile compiles the runner, beside the JDK's own archives: javac of
# JavaRunner.java costs 1.4 s of CPU (measured at --cpus 0.5), which a replica would otherwise
# pay right after /readyz, beside the warm compiler's start and the first request.
PREBUILT_DIR = "lib/server"
MAIN_CLASS = "executor.runner.JavaRunner"
# The runner hides its own frames with this JDK-internal annotation (honoured for classes on
# the boot class path): javac must be allowed to read it.
COMPILE_OPTIONS = (
    "-J-XX:+UseSerialGC",
    "-J-XX:TieredStopAtLevel=1",
    "-J-XX:-UsePerfData",
    "--add-exports",
    "java.base/jdk.internal.vm.annotation=ALL-UNNAMED",
    "-proc:none",
    "-encoding",
    "UTF-8",
)


class RunnerBuildFailed(OSError):
    """javac could not compile the runner (the message has its output)."""


def build_runner(toolchain: Toolchain, cache_dir: str) -> str:
    """The directory holding the compiled runner (for ``-Xbootclasspath/a:``): the one the
    image compiled beside the JDK (PREBUILT_DIR) for this source, else one compiled into
    ``cache_dir`` by ``toolchain``'s javac unless already there. javac runs at the lowest CPU
    priority (SCHED_IDLE): it never delays a run. Raises RunnerBuildFailed."""
    source = (resources.files("executor.languages.java") / SOURCE_NAME).read_bytes()
    compiler = toolchain.compiler or ""
    key = hashlib.sha256(source + b"\0" + compiler.encode() + b"\0" + toolchain.version.encode())
    name = f"java-runner-{key.hexdigest()[:16]}"
    for target in (os.path.join(_prebuilt_dir(toolchain), name), os.path.join(cache_dir, name)):
        if os.path.isdir(target):
            return target
    target = os.path.join(cache_dir, name)
    os.makedirs(cache_dir, mode=0o755, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".java-runner-", dir=cache_dir)
    try:
        source_path = os.path.join(scratch, SOURCE_NAME)
        with open(source_path, "wb") as f:
            f.write(source)
        classes = os.path.join(scratch, "classes")
        os.mkdir(classes)
        _compile_idle([compiler, *COMPILE_OPTIONS, "-d", classes, source_path], scratch)
        for directory, _, files in os.walk(classes):
            os.chmod(directory, 0o755)
            for name in files:
                os.chmod(os.path.join(directory, name), 0o644)
        try:
            os.rename(classes, target)  # atomic: a concurrent start sees none or all of it
        except OSError:
            if not os.path.isdir(target):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def build_beside_jdk(toolchain: Toolchain) -> str:
    """Compile the runner into ``toolchain``'s JDK, where build_runner looks first (the image
    does, at build time). Returns its directory. Raises RunnerBuildFailed."""
    return build_runner(toolchain, _prebuilt_dir(toolchain))


def _prebuilt_dir(toolchain: Toolchain) -> str:
    java_home = os.path.dirname(os.path.dirname(toolchain.compiler or ""))
    return os.path.join(java_home, PREBUILT_DIR)


def _compile_idle(argv: list[str], scratch: str) -> None:
    """Run ``argv`` to its end from a thread of its own at SCHED_IDLE (a child takes its
    parent thread's policy; a thread cannot leave SCHED_IDLE without CAP_SYS_NICE, so it is
    not one of the pool's). Raises RunnerBuildFailed."""
    done: list[subprocess.CompletedProcess[bytes] | BaseException] = []

    def compile_here() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            done.append(
                subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                    cwd=scratch,
                    check=False,
                )
            )
        except BaseException as exc:  # reported by the caller's thread
            done.append(exc)

    thread = threading.Thread(target=compile_here, name="java-runner-build")
    thread.start()
    thread.join()
    result = done[0]
    if isinstance(result, BaseException):
        raise RunnerBuildFailed(f"cannot run javac: {result}") from result
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
        raise RunnerBuildFailed(f"javac failed on {SOURCE_NAME}: {output}")
