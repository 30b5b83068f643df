"""What the sandbox is asked to run (RunSpec) and what it reports back (Outcome)."""

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ResourceLimits:
    """Limits for one process tree. Every field carries its unit; ``None`` means "not limited".

    cpu_time_ms      CPU time of the whole tree (user + system), sampled and enforced by the
                     supervisor, plus a per-process RLIMIT_CPU backstop one second above it.
    wall_time_ms     Real time from spawn until the tree is killed.
    memory_kb        Peak resident memory of the whole tree; the tree is killed above it.
    address_space_kb RLIMIT_AS per process, for runtimes that do not reserve huge address space.
    output_kb        stdout + stderr kept; the tree is killed when more arrives.
    processes        RLIMIT_NPROC: processes and threads of the run's uid.
    file_size_kb     RLIMIT_FSIZE: largest file a process may write.
    disk_kb          Everything the run's uid holds in files (its directory and the shared
                     places), allocated size; the tree is killed above it.
    disk_files       How many files and directories it may hold there; killed above it.
    open_files       RLIMIT_NOFILE.
    stack_kb         RLIMIT_STACK (also the default stack of new threads).
    """

    cpu_time_ms: int
    wall_time_ms: int
    memory_kb: int
    output_kb: int
    processes: int
    file_size_kb: int
    disk_kb: int = 256 * 1024
    disk_files: int = 4096
    open_files: int = 256
    stack_kb: int = 8192
    address_space_kb: int | None = None


@dataclass(frozen=True)
class RunSpec:
    """One command to run. ``argv[0]`` is an absolute path; ``env`` is the child's whole
    environment (nothing of the service's own environment is added)."""

    argv: tuple[str, ...]
    cwd: str
    env: dict[str, str]
    limits: ResourceLimits
    stdin: bytes = b""


class KillReason(StrEnum):
    """Why the supervisor ended a run early; the first reason wins."""

    OUTPUT_LIMIT = "output_limit"
    MEMORY_LIMIT = "memory_limit"
    CPU_TIME_LIMIT = "cpu_time_limit"
    WALL_TIME_LIMIT = "wall_time_limit"
    DISK_LIMIT = "disk_limit"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Outcome:
    """What happened. ``exit_code`` is set when the main process exited, ``signal`` (a number)
    when a signal ended it; ``killed_for`` says whether the supervisor ended the run and why.
    ``wall_time_ms`` runs from the start to the main process's exit, or to the moment the
    supervisor killed the run at a limit.
    ``memory_kb`` is the tree's peak (pages shared between its processes counted once when it
    came near its limit); ``peak_tasks`` its most processes and threads at once;
    ``oom_killed`` that the kernel's out-of-memory killer ended it (the replica ran short)."""

    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    cpu_time_ms: int
    wall_time_ms: int
    memory_kb: int
    killed_for: KillReason | None = None
    peak_tasks: int = 0
    oom_killed: bool = False
