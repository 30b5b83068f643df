"""Settings from EXECUTOR_* variables: limit defaults and maxima, concurrency, isolation."""

import math
import os
import tempfile
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from executor.sandbox.layers import IsolationMode

ENV_PREFIX = "EXECUTOR_"
# Memory the service keeps for itself when it sizes its default concurrency.
SERVICE_RESERVE_MB = 256


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable and the value."""


class Settings(BaseModel):
    """Operator settings. Each field is read from ``EXECUTOR_<FIELD NAME IN CAPITALS>``.

    Run limits: ``default_*`` applies when a request leaves the limit out, ``max_*`` is the most
    a request may ask for (more is a 422 naming the maximum). Compilation has its own limits.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_time_ms: int = Field(2000, ge=1, description="CPU time of the run's process tree, ms")
    max_time_ms: int = Field(20000, ge=1, description="largest time_ms a request may ask, ms")
    default_wall_time_ms: int = Field(5000, ge=1, description="real time of the run, ms")
    max_wall_time_ms: int = Field(60000, ge=1, description="largest wall_time_ms, ms")
    default_memory_mb: int = Field(256, ge=1, description="peak RSS of the run's tree, MB")
    max_memory_mb: int = Field(1024, ge=1, description="largest memory_mb, MB")
    default_output_kb: int = Field(64, ge=0, description="stdout + stderr kept, KB")
    max_output_kb: int = Field(1024, ge=0, description="largest output_kb, KB")
    default_processes: int = Field(64, ge=1, description="processes + threads of the run")
    max_processes: int = Field(256, ge=1, description="largest processes")
    default_file_size_kb: int = Field(1024, ge=0, description="largest file a run writes, KB")
    max_file_size_kb: int = Field(65536, ge=0, description="largest file_size_kb, KB")
    open_files: int = Field(256, ge=16, description="file descriptors per process of a run")

    compile_time_ms: int = Field(10000, ge=1, description="CPU time of a compilation, ms")
    compile_wall_time_ms: int = Field(20000, ge=1, description="real time of a compilation, ms")
    compile_memory_mb: int = Field(512, ge=64, description="peak RSS of a compilation, MB")
    compile_output_kb: int = Field(64, ge=1, description="compiler messages kept, KB")
    compile_processes: int = Field(128, ge=1, description="processes + threads of a compilation")

    warm_compiler: bool = Field(
        True, description="keep a warm javac server (falls back to fresh javac when it is down)"
    )

    max_concurrency: int | None = Field(
        None, ge=1, description="submissions run at once; default from CPUs and memory"
    )
    max_queue: int | None = Field(
        None, ge=0, description="submissions waiting; past it a 429; default 16 x concurrency"
    )
    max_body_kb: int = Field(4096, ge=1, description="largest request body, KB")
    max_files: int = Field(64, ge=1, description="most files in one submission")
    max_args: int = Field(64, ge=0, description="most command-line arguments")
    max_arg_bytes: int = Field(4096, ge=1, description="longest single argument, bytes")

    isolation: IsolationMode = Field(
        IsolationMode.AUTO,
        description="auto | strict (refuse to start without uid drop and "
        "seccomp) | none (development only: code runs as the service's user)",
    )
    uid_base: int | None = Field(
        None, ge=1000, description="first uid of the run pool; default random per replica"
    )
    workdir_root: str = Field(
        "",
        description="where run directories are made; default /var/lib/executor-runs as root "
        "(not under /tmp, which runs see replaced by their own), else <temp>/executor-runs",
    )
    spawn_helper: str = Field(
        "auto",
        description="how runs are started: auto (the native helper, compiled with cc on first "
        "start; a preexec_fn when there is no compiler), a path to a prebuilt helper, or off",
    )
    languages: str = Field(
        "", description="comma-separated languages to offer (default: every one found)"
    )
    log_level: str = Field("info", description="uvicorn log level")

    @model_validator(mode="after")
    def _defaults_within_maxima(self) -> Self:
        for name in (
            "time_ms",
            "wall_time_ms",
            "memory_mb",
            "output_kb",
            "processes",
            "file_size_kb",
        ):
            default, maximum = getattr(self, f"default_{name}"), getattr(self, f"max_{name}")
            if default > maximum:
                raise ValueError(
                    f"{ENV_PREFIX}DEFAULT_{name.upper()}={default} is above "
                    f"{ENV_PREFIX}MAX_{name.upper()}={maximum}"
                )
        return self

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        """Read every field from ``environ``; unknown EXECUTOR_* variables are an error too, so a
        typo does not silently leave a default in place. Raises SettingsError."""
        values = {}
        for key, value in environ.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key.removeprefix(ENV_PREFIX).lower()
            if name not in cls.model_fields:
                raise SettingsError(f"unknown setting {key}={value!r}")
            values[name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                shown = f"{ENV_PREFIX}{field.upper()}={values.get(field)!r}: " if field else ""
                problems.append(f"{shown}{error['msg']}")
            raise SettingsError("; ".join(problems)) from None

    def concurrency(self) -> int:
        """Submissions run at once: the setting, or twice the CPUs this container may use,
        bounded so that every slot can reach the default memory limit, at least 2."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        by_cpu = math.ceil(available_cpus() * 2)
        by_memory = (available_memory_mb() - SERVICE_RESERVE_MB) // self.default_memory_mb
        return max(2, min(by_cpu, by_memory))

    def queue_size(self) -> int:
        return self.max_queue if self.max_queue is not None else 16 * self.concurrency()

    def run_root(self) -> str:
        if self.workdir_root:
            return self.workdir_root
        if os.geteuid() == 0:
            return "/var/lib/executor-runs"
        return os.path.join(tempfile.gettempdir(), f"executor-runs-{os.geteuid()}")

    def cache_dir(self) -> str:
        """Where the compiled spawn helper is kept: beside the run directories."""
        return os.path.join(os.path.dirname(self.run_root()), "executor-cache")

    def offered_languages(self) -> set[str] | None:
        names = {n.strip().lower() for n in self.languages.split(",") if n.strip()}
        return names or None


def available_cpus() -> float:
    """CPUs this process may use: the cgroup quota if one is set, else the affinity mask."""
    cpus = float(len(os.sched_getaffinity(0)))
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        try:
            with open(path) as f:
                text = f.read().split()
        except OSError:
            continue
        if path.endswith("cpu.max") and text and text[0] != "max":
            cpus = min(cpus, int(text[0]) / int(text[1]))
        elif path.endswith("quota_us") and text and int(text[0]) > 0:
            with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
                cpus = min(cpus, int(text[0]) / int(f.read()))
    return cpus


def available_memory_mb() -> int:
    """Memory this container may use: the cgroup limit if one is set, else the machine's."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total // (1024 * 1024)
