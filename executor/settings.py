"""Settings from EXECUTOR_* variables: limit defaults and maxima, concurrency, isolation.

Over 300 lines: one field per EXECUTOR_* variable, each with its description; the logic
between them is short.
"""

import math
import os
import tempfile
from collections.abc import Mapping
from enum import StrEnum
from typing import Self

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    model_validator,
)

from executor.judging.models import JudgingBounds
from executor.limits import LIMIT_NAMES, RUN_LIMITS
from executor.sandbox import IsolationMode

ENV_PREFIX = "EXECUTOR_"
# Memory the service keeps for itself, out of what the container has: the service (about 60 MB)
# and a warm compiler's working set (about 170 MB for javac). The rest is for runs.
SERVICE_RESERVE_MB = 256
# The end of EXECUTOR_DRAIN_SECONDS is kept for what follows the drain: writing the last answers
# (uvicorn's graceful timeout), then stopping the warm compilers and the last cleanups.
ANSWER_GRACE_S = 2
SHUTDOWN_GRACE_S = 4


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable and the value."""


class LogFormat(StrEnum):
    """How log lines are written: one JSON object per line (for a log collector), or text (for
    a terminal)."""

    JSON = "json"
    TEXT = "text"


class LogLevel(StrEnum):
    """The service's log level (uvicorn's names)."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


# default_<limit> and max_<limit> for every limit in limits.RUN_LIMITS, declared there once.
_LimitSettings = create_model(
    "_LimitSettings",
    __config__=ConfigDict(frozen=True, extra="forbid"),
    **{
        f"{kind}_{limit.name}": (
            int,
            Field(
                value,
                ge=limit.minimum,
                description=f"{what} {limit.scope} ({limit.unit})",
            ),
        )
        for limit in RUN_LIMITS
        for kind, value, what in (
            ("default", limit.default, "when a request leaves it out:"),
            ("max", limit.maximum, "the most a request may ask:"),
        )
    },
)  # type: ignore[call-overload]


class Settings(_LimitSettings):
    """Operator settings. Each field is read from ``EXECUTOR_<FIELD NAME IN CAPITALS>``.

    Run limits: ``default_*`` applies when a request leaves the limit out, ``max_*`` is the most
    a request may ask for (more is a 422 naming the maximum); one pair per limit in
    limits.RUN_LIMITS. Compilation has its own limits.
    """

    open_files: int = Field(256, ge=16, description="file descriptors per process of a run")

    compile_time_ms: int = Field(10000, ge=1, description="CPU time of a compilation, ms")
    compile_wall_time_ms: int = Field(20000, ge=1, description="real time of a compilation, ms")
    compile_memory_mb: int = Field(512, ge=64, description="peak RSS of a compilation, MB")
    compile_output_kb: int = Field(64, ge=1, description="compiler messages kept, KB")
    compile_processes: int = Field(128, ge=1, description="processes + threads of a compilation")

    validator_time_ms: int = Field(
        10000, ge=1, description="CPU time of an output validator or interactor, per test, ms"
    )
    validator_wall_time_ms: int = Field(
        20000,
        ge=1,
        description="real time of an output validator, per test, ms; an interactor gets the "
        "submission's wall limit plus this",
    )
    validator_memory_mb: int = Field(
        256, ge=16, description="peak RSS of an output validator or interactor, MB"
    )
    validator_output_kb: int = Field(
        64, ge=1, description="an output validator's stdout + stderr (an interactor's stderr), KB"
    )
    validator_processes: int = Field(
        64, ge=1, description="processes + threads of an output validator or interactor"
    )

    tests_parallel: int = Field(
        1,
        ge=1,
        le=64,
        description="tests of one submission run at once; each holds a run slot (counted "
        "against the concurrency) and its memory",
    )
    max_tests: int = Field(256, ge=1, le=10000, description="most tests in one request")
    test_output_kb: int = Field(
        1,
        ge=0,
        le=1024,
        description="stdout and stderr kept per test in a judged response (each), KB",
    )

    warm_compiler: bool = Field(
        True, description="keep a warm javac server (falls back to fresh javac when it is down)"
    )
    prewarm: bool = Field(
        True,
        description="start runs from processes started ahead (Python: a zygote that forks each "
        "run; Node and Java: runners waiting in idle uid slots); false, or while none is "
        "ready: every run starts cold",
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
    runs_dir: str = Field(
        "",
        description="where run directories are made; default /var/lib/executor-runs as root, "
        "else <temp>/executor-runs-<uid>. In /tmp, /var/tmp or /dev/shm the namespaces layer "
        "stays off: a run's mount namespace puts its own directory there",
    )
    spawn_helper: str = Field(
        "auto",
        description="auto: compile the packaged spawn helper with cc on first start; or the "
        "path of a prebuilt executor-spawn (the images set one)",
    )
    languages: str = Field(
        "", description="comma-separated languages to offer (default: every one found)"
    )
    log_level: LogLevel = Field(LogLevel.INFO, description="log level")
    log_format: LogFormat = Field(
        LogFormat.TEXT,
        description="json: one JSON object per line (the images set it); text: for a terminal",
    )

    drain_seconds: int = Field(
        25,
        ge=ANSWER_GRACE_S + SHUTDOWN_GRACE_S,
        le=3600,
        description="after SIGTERM, seconds until the process has exited: runs in flight and "
        "queued finish meanwhile; those still running 6 s before the end are killed and "
        "answered internal_error (below Azure Container Apps' 30 s grace period; at least 6)",
    )
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="comma-separated API keys; when set, every endpoint but /healthz and "
        "/readyz needs one (Authorization: Bearer KEY or X-API-Key: KEY)",
    )
    idempotency_ttl_s: int = Field(
        600,
        ge=0,
        description="how long the answer to a submission_id / Idempotency-Key is kept and "
        "replayed, seconds; 0 turns idempotency off",
    )
    idempotency_max_entries: int = Field(
        10000, ge=1, description="most answers kept for replay; the oldest go first"
    )
    idempotency_max_mb: int = Field(
        32, ge=1, description="most bytes of answers kept for replay, MB; the oldest go first"
    )
    max_answers_in_flight_mb: int = Field(
        32,
        ge=1,
        description="encoded answers not yet taken by their clients, MB; an answer that does "
        "not fit is replaced by a 503 with Retry-After",
    )
    send_timeout_s: int = Field(
        10,
        ge=1,
        description="a client that takes no part of its answer for this long is disconnected, s",
    )

    # The Judge0 API (executor/compat/judge0.py): its submissions are kept for polling in
    # this replica's memory only.
    judge0_results_ttl_s: int = Field(
        3600, ge=1, description="how long a finished Judge0 submission can be polled, s"
    )
    judge0_results_mb: int = Field(
        64,
        ge=1,
        description="memory for Judge0 submissions kept for polling (their text fields), MB; "
        "past it the oldest finished are dropped",
    )

    @model_validator(mode="after")
    def _defaults_within_maxima(self) -> Self:
        for name in LIMIT_NAMES:
            default, maximum = self.limit_default(name), self.limit_maximum(name)
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
            settings: Self = cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                shown = f"{ENV_PREFIX}{field.upper()}={values.get(field)!r}: " if field else ""
                problems.append(f"{shown}{error['msg']}")
            raise SettingsError("; ".join(problems)) from None
        return settings

    def concurrency(self) -> int:
        """Submissions run at once: the setting, or twice the CPUs this container may use,
        bounded so that every slot can reach the default memory limit, at least 2."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        by_cpu = math.ceil(available_cpus() * 2)
        by_memory = (available_memory_mb() - SERVICE_RESERVE_MB) // self.limit_default("memory_mb")
        return max(2, min(by_cpu, by_memory))

    def memory_budget_mb(self) -> int:
        """Memory for runs: what this container may use, less the service's own share. The
        memory limits of the submissions running at once never add up to more."""
        return max(0, available_memory_mb() - SERVICE_RESERVE_MB)

    def queue_size(self) -> int:
        """Submissions that may wait for a slot: the setting, or 16 x concurrency."""
        return self.max_queue if self.max_queue is not None else 16 * self.concurrency()

    def judging_bounds(self) -> JudgingBounds:
        """The sizes a judged request may have (validation context of the request model)."""
        return JudgingBounds(max_tests=self.max_tests, max_program_files=self.max_files)

    def limit_default(self, name: str) -> int:
        """EXECUTOR_DEFAULT_<NAME> for the limit ``name`` of limits.RUN_LIMITS."""
        value: int = getattr(self, f"default_{name}")
        return value

    def limit_maximum(self, name: str) -> int:
        """EXECUTOR_MAX_<NAME> for the limit ``name`` of limits.RUN_LIMITS."""
        value: int = getattr(self, f"max_{name}")
        return value

    def resolved_runs_dir(self) -> str:
        """Where run directories are made: the setting, or a default for this user."""
        if self.runs_dir:
            return self.runs_dir
        if os.geteuid() == 0:
            return "/var/lib/executor-runs"
        return os.path.join(tempfile.gettempdir(), f"executor-runs-{os.geteuid()}")

    def helper_dir(self) -> str:
        """Where the compiled spawn helper is kept: beside the runs directory."""
        return os.path.join(os.path.dirname(self.resolved_runs_dir()), "executor-cache")

    def prebuilt_spawn_helper(self) -> str:
        """The prebuilt helper's path, or "" to compile one."""
        return "" if self.spawn_helper == "auto" else self.spawn_helper

    def drain_run_s(self) -> int:
        """After SIGTERM, seconds that work in flight may still take before it is stopped."""
        return self.drain_seconds - ANSWER_GRACE_S - SHUTDOWN_GRACE_S

    def api_key_list(self) -> tuple[str, ...]:
        """The API keys EXECUTOR_API_KEYS holds; empty when the service is open."""
        keys = self.api_keys.get_secret_value().split(",")
        return tuple(key.strip() for key in keys if key.strip())

    def offered_languages(self) -> set[str] | None:
        """The languages EXECUTOR_LANGUAGES names, or None for every one found."""
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
