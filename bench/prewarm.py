"""What runners started ahead (#11) save: Node and Java hello-world latency through /execute from
a runner against a cold start, and against the bare interpreter, in one run; writes
bench/PREWARM.md.

Usage: ``.venv/bin/python bench/prewarm.py [--rounds 15]`` as root (like the service). It starts
two services in host mode on free 127.0.0.1 ports, one with ``EXECUTOR_PREWARM=true`` and one
with ``false`` (both Node and Java only, their warm Java compilers ready), then, round by round
(so that the machine's noise falls on every side alike), for each language:

- prewarmed: waits (untimed) until the prewarmed service lists an idle runner of the language,
  then times one /execute of the hello world and checks from /info that the runner served it;
- cold: times the same /execute on the other service;
- bare: times the interpreter spawned directly on the same file (Node: ``node main.js``; Java:
  ``java -cp . Main`` on a class compiled beforehand, with the service's JVM flags).

Reported: medians of the wall time the client sees (ms), of the ``time_ms`` the service
reports (the program's CPU time), and the ratios prewarmed / cold and / bare. Java's figures
through the service include the compile by the warm compiler on both sides: it is the same
work, so the difference is the run's start-up.
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from executor.languages.java.plan import JVM_FLAGS
from executor.testing import HostService

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "bench" / "PREWARM.md"
LANGUAGES = ("node", "java")
HELLO = {
    "node": ("main.js", "console.log('hello');\n"),
    "java": (
        "Main.java",
        "public class Main {\n    public static void main(String[] args) {\n        System.out"
        '.println("hello");\n    }\n}\n',
    ),
}
RUNNER_READY_TIMEOUT_S = 120.0
READY_POLL_S = 0.02
# The bare JVM gets the service's flags and the heap a default run gets (-Xmx from 256 MB).
BARE_HEAP = "-Xmx192m"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: the uid drop needs it", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()[0]
    env = {"EXECUTOR_LANGUAGES": ",".join(LANGUAGES), "EXECUTOR_MAX_CONCURRENCY": "4"}
    scratch = Path(tempfile.mkdtemp(prefix="bench-prewarm-"))
    for log_dir in ("warm-log", "cold-log"):
        (scratch / log_dir).mkdir()
    try:
        bare = {language: _bare_argv(language, scratch / language) for language in LANGUAGES}
        with (
            HostService.start(
                env={**env, "EXECUTOR_PREWARM": "true"},
                log_dir=scratch / "warm-log",
                cwd=REPO,
                warm=True,
            ) as warm,
            HostService.start(
                env={**env, "EXECUTOR_PREWARM": "false"},
                log_dir=scratch / "cold-log",
                cwd=REPO,
                warm=True,
            ) as cold,
        ):
            measure(warm, cold, bare, scratch=scratch, rounds=1)  # warm-up: JIT, page cache
            samples = measure(warm, cold, bare, scratch=scratch, rounds=args.rounds)
            versions = {r["language"]: r["version"] for r in warm.client.get("/runtimes").json()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report = render(
        samples,
        rounds=args.rounds,
        versions=versions,
        started=started,
        load=(load_before, os.getloadavg()[0]),
    )
    args.output.write_text(report)
    print(report)
    return 0


def measure(
    warm: HostService,
    cold: HostService,
    bare: dict[str, tuple[list[str], Path]],
    *,
    scratch: Path,
    rounds: int,
) -> dict[str, list[float]]:
    """Samples per figure (``<language> <side> wall`` and ``... cpu``), round by round."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for language in LANGUAGES:
            runner = _idle_runner(warm, language)
            wall_ms, answer = _timed_execute(warm, language)
            left = [r["pid"] for r in warm.info()["prewarm"]["runners"]]
            if runner in left:
                raise RuntimeError(f"{language}: the runner {runner} did not serve the run")
            _add(samples, f"{language} prewarmed", wall_ms, answer["time_ms"])
            wall_ms, answer = _timed_execute(cold, language)
            _add(samples, f"{language} cold", wall_ms, answer["time_ms"])
            argv, cwd = bare[language]
            wall_ms, cpu_ms = _timed_spawn(argv, cwd=cwd)
            _add(samples, f"{language} bare", wall_ms, cpu_ms)
    return samples


def render(
    samples: dict[str, list[float]],
    *,
    rounds: int,
    versions: dict[str, str],
    started: datetime.datetime,
    load: tuple[float, float],
) -> str:
    def median(key: str) -> float:
        return statistics.median(samples[key])

    lines = [
        "# Prewarmed runners: hello world, Node and Java",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC by `.venv/bin/python bench/prewarm.py "
        f"--rounds {rounds}` on {platform.node()} ({os.cpu_count()} CPUs, Linux "
        f"{platform.release()}), load average {load[0]:.2f} before and {load[1]:.2f} after; "
        + ", ".join(f"{language} {version}" for language, version in versions.items())
        + ".",
        "",
        "Medians of each side's samples, taken round by round. Wall: what the client sees "
        "(service) or spawn to exit (bare). CPU: the service's `time_ms` (the program's CPU "
        "time; a runner's start-up before the go signal is not counted) or the bare "
        "process's rusage. Java through the service includes the warm compiler's compile on "
        "both sides.",
        "",
        "| language | prewarmed wall ms | cold wall ms | bare wall ms | prewarmed / cold | "
        "prewarmed / bare | cold / bare | prewarmed time_ms | cold time_ms | bare CPU ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for language in LANGUAGES:
        warm_ms = median(f"{language} prewarmed wall")
        cold_ms = median(f"{language} cold wall")
        bare_ms = median(f"{language} bare wall")
        lines.append(
            f"| {language} | {warm_ms:.0f} | {cold_ms:.0f} | {bare_ms:.0f} | "
            f"{warm_ms / cold_ms:.2f}x | {warm_ms / bare_ms:.2f}x | {cold_ms / bare_ms:.2f}x | "
            f"{median(f'{language} prewarmed cpu'):.0f} | {median(f'{language} cold cpu'):.0f} "
            f"| {median(f'{language} bare cpu'):.0f} |"
        )
    lines.append("")
    return "\n".join(lines)


def _bare_argv(language: str, directory: Path) -> tuple[list[str], Path]:
    """The bare interpreter's argv on the hello world written to ``directory`` (Java: compiled
    there first, untimed)."""
    directory.mkdir(parents=True)
    name, source = HELLO[language]
    (directory / name).write_text(source)
    if language == "node":
        return [_which("node"), name], directory
    subprocess.run([_which("javac"), name], cwd=directory, check=True)
    return [_which("java"), *JVM_FLAGS, BARE_HEAP, "-cp", ".", "Main"], directory


def _which(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise SystemExit(f"{binary} not found on PATH")
    return path


def _idle_runner(service: HostService, language: str) -> int:
    """The pid of an idle runner of ``language``, waiting (untimed) until there is one."""
    deadline = time.monotonic() + RUNNER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        for runner in service.info()["prewarm"]["runners"]:
            if runner["language"] == language and runner["state"] == "idle":
                return int(runner["pid"])
        time.sleep(READY_POLL_S)
    raise RuntimeError(f"no idle {language} runner within {RUNNER_READY_TIMEOUT_S:.0f} s")


def _timed_execute(service: HostService, language: str) -> tuple[float, dict[str, Any]]:
    name, source = HELLO[language]
    started = time.perf_counter()
    answer = service.execute({"language": language, "files": [{"name": name, "content": source}]})
    wall_ms = (time.perf_counter() - started) * 1000
    if (answer["status"], answer["stdout"]) != ("ok", "hello\n"):
        raise RuntimeError(f"{language}: {answer}")
    return wall_ms, answer


def _timed_spawn(argv: list[str], *, cwd: Path) -> tuple[float, float]:
    """Wall ms from spawn to exit, and the child's CPU ms (its rusage)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    )
    _, status, rusage = os.wait4(proc.pid, 0)
    wall_ms = (time.perf_counter() - started) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed")
    return wall_ms, (rusage.ru_utime + rusage.ru_stime) * 1000


def _add(samples: dict[str, list[float]], side: str, wall_ms: float, cpu_ms: float) -> None:
    samples.setdefault(f"{side} wall", []).append(wall_ms)
    samples.setdefault(f"{side} cpu", []).append(cpu_ms)


if __name__ == "__main__":
    sys.exit(main())
