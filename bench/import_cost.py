"""What the service's start costs in imports: CPU time of each import stage, libraries first.

Usage: ``.venv/bin/python bench/import_cost.py [--runs N] [--python PATH]``. Each run is a fresh
interpreter that imports the stages below one after the other and reports the CPU time
(``time.process_time``) each one took on top of the ones before; the figure per stage is the
least over the runs (the least resists the load of other work on the machine). A stage that
an earlier one already imported shows 0. In an image, run it with the image's interpreter:
``docker run -i --rm --entrypoint /opt/executor/bin/python IMAGE - < bench/import_cost.py``.
"""

import argparse
import subprocess
import sys

# Libraries first, then the service's own modules from the bottom of the request path up.
STAGES = (
    "asyncio",
    "pydantic,pydantic.main,pydantic.fields",
    "starlette.applications,starlette.routing",
    "uvicorn,uvloop,httptools",
    "prometheus_client",
    "pythonjsonlogger.json",
    "executor.sandbox",
    "executor.judging.models",
    "executor.settings",
    "executor.models",
    "executor.submission",
    "executor.pipeline",
    "executor.service",
    "executor.api",
    "executor.app",
    "executor.cli",
)

_PROBE = """
import importlib, sys, time
for stage in sys.argv[1:]:
    start = time.process_time()
    for name in stage.split(","):
        importlib.import_module(name)
    print(round((time.process_time() - start) * 1000, 1))
"""


def measure(python: str, *, runs: int) -> list[float]:
    """The least CPU ms of each stage over ``runs`` fresh interpreters."""
    samples: list[list[float]] = []
    for _ in range(runs):
        out = subprocess.run(
            [python, "-c", _PROBE, *STAGES], capture_output=True, text=True, check=True
        ).stdout
        samples.append([float(line) for line in out.split()])
    return [min(column) for column in zip(*samples, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    args = parser.parse_args()
    least = measure(args.python, runs=args.runs)
    for stage, ms in zip(STAGES, least, strict=True):
        print(f"{ms:7.1f} ms  {stage}")
    libraries = sum(ms for stage, ms in zip(STAGES, least, strict=True) if "executor" not in stage)
    print(f"{libraries:7.1f} ms  the libraries")
    print(f"{sum(least) - libraries:7.1f} ms  the service's own modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
