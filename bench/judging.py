"""What judging costs: a Java submission with 20 tests in one judged /execute against 20 separate
/execute calls, and what the syntax check adds to a Python or Node submission; writes
bench/JUDGING.md.

Usage: ``.venv/bin/python bench/judging.py [--rounds 5]`` as root (like the service). It starts
one service in host mode on a free 127.0.0.1 port with the warm Java compiler ready, then, round
by round (so that the machine's noise falls on both alike):

- judged: one POST with the 20 tests (expected outputs checked by the service), Java compiled
  once, each test in a fresh box;
- separate: 20 POSTs of the same program, one per test (each compiles through the warm compiler
  and runs in a fresh box), outputs compared by the client;
- syntax check: a judged one-test request for Python and Node (``compile`` reports the check's
  own CPU and wall time), against the same program's plain /execute.

Reported: medians of the wall time the client sees and of the service tree's CPU (the service,
its reaped children, and its live descendants such as the warm compiler), and their ratios.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from executor.testing import HostService

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "bench" / "JUDGING.md"
TESTS = 20
# Generous: on a loaded 2-CPU machine a JVM's hello world was seen to take 2 s of CPU.
LIMITS = {"time_ms": 10000, "wall_time_ms": 30000}
JAVA = (REPO / "tests" / "programs" / "java" / "Twice.java").read_text()
TWICE = {
    "python": (REPO / "tests" / "programs" / "python" / "twice.py").read_text(),
    "node": (REPO / "tests" / "programs" / "node" / "twice.js").read_text(),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--parallel", type=int, default=1, help="EXECUTOR_TESTS_PARALLEL of the service"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: the uid drop needs it", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()[0]
    with HostService.start(
        env={"EXECUTOR_TESTS_PARALLEL": str(args.parallel)},
        log_dir=Path(tempfile.mkdtemp(prefix="bench-judging-")),
        cwd=REPO,
        warm=True,
    ) as service:
        tree = psutil.Process(service.pid)
        measure(service, tree, rounds=1)  # warm-up: JIT of the warm compiler, caches
        figures = measure(service, tree, rounds=args.rounds)
    report = render(
        figures,
        rounds=args.rounds,
        parallel=args.parallel,
        started=started,
        load=(load_before, os.getloadavg()[0]),
    )
    args.output.write_text(report)
    print(report)
    return 0


def measure(service: HostService, tree: psutil.Process, *, rounds: int) -> dict[str, list[float]]:
    """Each figure's samples: wall ms and CPU ms per case, interleaved round by round."""
    samples: dict[str, list[float]] = {}
    tests = [{"stdin": f"{n}\n", "expected_stdout": f"{2 * n}\n"} for n in range(1, TESTS + 1)]

    def judged() -> None:
        answer = service.execute(
            {"language": "java", "code": JAVA, "tests": tests, "limits": LIMITS}
        )
        if answer["verdict"] != "accepted":
            raise RuntimeError(f"judged: {answer}")

    def separate() -> None:
        for test in tests:
            answer = service.execute(
                {"language": "java", "code": JAVA, "stdin": test["stdin"], "limits": LIMITS}
            )
            if answer["stdout"] != test["expected_stdout"]:
                raise RuntimeError(f"separate: {answer}")

    cases: dict[str, Callable[[], None]] = {"java judged": judged, "java separate": separate}
    for language, code in TWICE.items():
        cases[f"{language} judged"] = _one_test(service, language, code, samples)
        cases[f"{language} plain"] = _plain(service, language, code)
    for _ in range(rounds):
        for name, case in cases.items():
            wall_ms, cpu_ms = _timed(case, tree)
            samples.setdefault(f"{name} wall", []).append(wall_ms)
            samples.setdefault(f"{name} cpu", []).append(cpu_ms)
    return samples


def _one_test(
    service: HostService, language: str, code: str, samples: dict[str, list[float]]
) -> Callable[[], None]:
    def run() -> None:
        answer = service.execute(
            {"language": language, "code": code, "stdin": "21\n", "expected_stdout": "42\n"}
        )
        if answer["verdict"] != "accepted":
            raise RuntimeError(f"{language} judged: {answer}")
        samples.setdefault(f"{language} check cpu", []).append(answer["compile"]["time_ms"])
        samples.setdefault(f"{language} check wall", []).append(answer["compile"]["wall_time_ms"])

    return run


def _plain(service: HostService, language: str, code: str) -> Callable[[], None]:
    def run() -> None:
        answer = service.execute({"language": language, "code": code, "stdin": "21\n"})
        if answer["stdout"] != "42\n":
            raise RuntimeError(f"{language} plain: {answer}")

    return run


def _timed(case: Callable[[], None], tree: psutil.Process) -> tuple[float, float]:
    before = _tree_cpu_s(tree)
    started = time.perf_counter()
    case()
    wall_ms = (time.perf_counter() - started) * 1000
    # Cleanups run after the answer: wait for them, so their CPU counts to this case.
    time.sleep(0.3)
    return wall_ms, (_tree_cpu_s(tree) - before) * 1000


def _tree_cpu_s(tree: psutil.Process) -> float:
    """The service's CPU, its reaped children's, and its live descendants' (the warm compiler's
    JVM lives for many compiles)."""
    times = tree.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in tree.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return float(total)


def render(
    samples: dict[str, list[float]],
    *,
    rounds: int,
    parallel: int,
    started: datetime.datetime,
    load: tuple[float, float],
) -> str:
    med = {name: statistics.median(values) for name, values in samples.items()}

    def row(what: str, case: str, baseline: str, unit: str = "ms") -> str:
        value, base = med[case], med[baseline]
        return f"| {what} | {value:,.0f} {unit} | {base:,.0f} {unit} | {value / base:.2f}x |"

    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Judging benchmark",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        f"- command: `.venv/bin/python bench/judging.py --rounds {rounds} --parallel {parallel}`"
        f" (EXECUTOR_TESTS_PARALLEL={parallel})",
        f"- machine: {os.cpu_count()} CPUs, Linux {platform.release()}, Python "
        f"{platform.python_version()}; code: git {commit}",
        f"- load average (1 min) at the start and end: {load[0]:.2f}, {load[1]:.2f}",
        f"- medians of {rounds} rounds, cases interleaved in each round, after one warm-up round",
        "",
        "| figure | measured | baseline | ratio |",
        "|---|--:|--:|--:|",
        row(
            f"Java, {TESTS} tests: one judged /execute vs {TESTS} separate /execute, wall",
            "java judged wall",
            "java separate wall",
        ),
        row(
            f"Java, {TESTS} tests: the same, service tree CPU",
            "java judged cpu",
            "java separate cpu",
        ),
    ]
    for language in TWICE:
        lines.append(
            row(
                f"{language}: a judged one-test /execute (syntax check + test) vs a plain "
                "/execute, wall",
                f"{language} judged wall",
                f"{language} plain wall",
            )
        )
        lines.append(
            row(
                f"{language}: the same, service tree CPU",
                f"{language} judged cpu",
                f"{language} plain cpu",
            )
        )
    lines += [
        "",
        "The syntax check's own cost, as the response's `compile` reports it (the check runs in a "
        "box of its own, before the first test):",
        "",
    ]
    for language in TWICE:
        lines.append(
            f"- {language}: {med[f'{language} check cpu']:.0f} ms CPU, "
            f"{med[f'{language} check wall']:.0f} ms wall (median)"
        )
    lines += [
        "",
        "Wall: as the client sees it (keep-alive HTTP on 127.0.0.1). CPU: the service process, "
        "its reaped children (every run's spawn helper and program) and its live descendants "
        "(the warm compiler), measured 0.3 s after the answer so that the cleanups count.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
