"""Every run limit, declared once: the request model, the settings, /info and the README's
Limits table all come from RUN_LIMITS."""

from dataclasses import dataclass


@dataclass(frozen=True)
class LimitSpec:
    """One limit a request may set.

    ``name`` is the request field and the settings' suffix (``EXECUTOR_DEFAULT_<NAME>``,
    ``EXECUTOR_MAX_<NAME>``); ``default`` and ``maximum`` are the built-in operator values;
    ``minimum`` the smallest value a request may give; ``scope`` what is limited and
    ``observed`` what the program sees at the limit (both shown in the README).
    """

    name: str
    unit: str
    default: int
    maximum: int
    minimum: int
    scope: str
    observed: str


RUN_LIMITS: tuple[LimitSpec, ...] = (
    LimitSpec(
        name="time_ms",
        unit="ms",
        default=2000,
        maximum=20000,
        minimum=1,
        scope="CPU time of the whole tree",
        observed="killed; `time_limit_exceeded`",
    ),
    LimitSpec(
        name="wall_time_ms",
        unit="ms",
        default=5000,
        maximum=60000,
        minimum=1,
        scope="real time; stopped (`SIGSTOP`) or sleeping programs too",
        observed="every process killed; `time_limit_exceeded`",
    ),
    LimitSpec(
        name="memory_mb",
        unit="MB",
        default=256,
        maximum=1024,
        minimum=1,
        scope="peak RSS of the tree; Python also gets `RLIMIT_AS` (limit + 64 MB), Node "
        "`--max-old-space-size` and Java `-Xmx` at ¾ of it",
        observed="killed, or its runtime's out-of-memory error; `memory_limit_exceeded` either way",
    ),
    LimitSpec(
        name="output_kb",
        unit="KB",
        default=64,
        maximum=1024,
        minimum=0,
        scope="stdout + stderr together",
        observed="killed as soon as the cap is reached; what was kept is returned; "
        "`output_limit_exceeded`",
    ),
    LimitSpec(
        name="processes",
        unit="count",
        default=64,
        maximum=256,
        minimum=1,
        scope="processes + threads of the run's uid (`RLIMIT_NPROC`)",
        observed="`fork`/thread creation fails (a JVM needs about 20)",
    ),
    LimitSpec(
        name="file_size_kb",
        unit="KB",
        default=1024,
        maximum=65536,
        minimum=0,
        scope="largest file written (`RLIMIT_FSIZE`)",
        observed="the write fails with `EFBIG` (or `SIGXFSZ`)",
    ),
    LimitSpec(
        name="disk_mb",
        unit="MB",
        default=256,
        maximum=1024,
        minimum=1,
        scope="everything the run holds in files: its directory and what its uid owns in "
        "`/tmp`, `/var/tmp`, `/dev/shm`, `/run/lock`; measured while it runs",
        observed="killed; `output_limit_exceeded`",
    ),
    LimitSpec(
        name="disk_files",
        unit="count",
        default=4096,
        maximum=65536,
        minimum=1,
        scope="files and directories the run holds there, its sources included (not the "
        "two directories the service makes it, `box` and `tmp`)",
        observed="killed; `output_limit_exceeded`",
    ),
)
LIMIT_NAMES: tuple[str, ...] = tuple(limit.name for limit in RUN_LIMITS)
