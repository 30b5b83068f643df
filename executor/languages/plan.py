"""LanguagePlan: a frozen description of how one language compiles and runs a submission."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Placeholders in argv templates, filled per run by expand_argv:
#   {interpreter}  absolute path of the runtime binary      {compiler} of the compiler
#   {main}         the entry file's name                     {main_class} Java's main class
#   {heap_mb}      heap cap derived from the memory limit    {sources} every source file (expands)
#   {args}         the user's arguments (expands to several argv items)
#   {tmp_dir}      the run's own temporary directory (its TMPDIR)
#   {runner}       a runner's program (RunnerPlan.build)
#   {<name>}       where <name> is a key of the toolchain's ``expansions``: those items (expands)


class MemoryStrategy(StrEnum):
    """How a runtime's memory is capped, besides the supervisor's sampling.

    ``address_space``: RLIMIT_AS at the memory limit plus ``address_space_slack_mb`` (for
    runtimes that reserve little address space: CPython). ``heap_flag``: the runtime's own heap
    cap via ``{heap_mb}``; V8 and the JVM reserve gigabytes of address space they never touch,
    so their RLIMIT_AS is the limit plus a generous ``address_space_slack_mb``: it does not cap
    their memory, it bounds what a process can map, and with it the page tables that touching
    sparse address space costs (memory no resident size shows).
    """

    ADDRESS_SPACE = "address_space"
    HEAP_FLAG = "heap_flag"


@dataclass(frozen=True)
class Toolchain:
    """A runtime found on this machine: its binaries, version, and argv items its probe found
    (``expansions``: e.g. a class-data-sharing archive flag for the compiler's JVM)."""

    version: str
    interpreter: str
    compiler: str | None = None
    expansions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# A warm server's answer holds, besides its diagnostics and files, at most this much of its own
# (exit code, flags, counts).
RESPONSE_OVERHEAD_BYTES = 64


@dataclass(frozen=True)
class CompileBudget:
    """What one compile through a warm server may answer with. The server keeps its answer
    within it: the diagnostics cut at ``diagnostics_bytes`` (and the compile stopped there); no
    files at all when they would pass ``artifact_bytes`` (each one's path and content, plus 8
    bytes), ``artifact_files``, or ``artifact_file_bytes`` for one of them. Its whole answer is
    then at most ``response_bytes``: a longer one is the server's fault."""

    diagnostics_bytes: int
    artifact_bytes: int
    artifact_files: int
    artifact_file_bytes: int

    @property
    def response_bytes(self) -> int:
        return RESPONSE_OVERHEAD_BYTES + self.diagnostics_bytes + self.artifact_bytes


@dataclass(frozen=True)
class CompileAnswer:
    """What a warm server said of one compile: the compiler's exit code (0 ok), its diagnostics
    exactly as the command-line compiler prints them, and the files it produced by relative
    path (present only on success).

    diagnostics_cut  the diagnostics reached the budget: the compile was stopped there
    over_budget      the files would pass the budget: none came; the answer does not count
    failed           the server could not handle the request (``diagnostics`` says why); the
                     answer does not count
    """

    exit_code: int
    diagnostics: str
    artifacts: dict[str, bytes]
    diagnostics_cut: bool = False
    over_budget: bool = False
    failed: bool = False


@dataclass(frozen=True)
class WarmServerPlan:
    """A long-lived compiler the service keeps warm (warm_server.py runs it, knowing nothing of
    the language): started in a box of its own from ``files`` with ``argv`` (a template like
    ``compile_argv``), it first answers one frame when it is ready, then one frame per request.
    Sources go in with ``encode_request``, with the budget its answer must keep within;
    ``decode_response`` raises ValueError on a malformed answer. Once it is ready the service
    sends it ``warm_up_compiles`` requests of ``warm_up_sources``, each when no submission waits
    for it."""

    files: Callable[[], dict[str, bytes]]
    argv: tuple[str, ...]
    encode_request: Callable[[dict[str, bytes], CompileBudget], bytes]
    decode_response: Callable[[bytes], CompileAnswer]
    warm_up_sources: Mapping[str, bytes] = field(default_factory=dict)
    warm_up_compiles: int = 0


@dataclass(frozen=True)
class ZygotePlan:
    """A pre-initialised interpreter that forks one child per run (sandbox/zygote.py): started
    as ``argv`` (a template like ``run_argv``, with the same interpreter options) followed by
    ``script()``, the path of its program; a run it starts gets the entry file and the
    arguments, and behaves as ``run_argv`` would."""

    argv: tuple[str, ...]
    script: Callable[[], str]


@dataclass(frozen=True)
class RunnerPlan:
    """A runner started ahead for this language's runs (sandbox/runner.py has the protocol):
    ``argv`` a template like ``run_argv``, with the same interpreter options, where
    ``{runner}`` is what ``build`` returned and ``{main}`` is ``main``; the sandbox appends the
    runner's two descriptors. A request sends it ``entry`` (``{main}`` or ``{main_class}``)
    and its arguments, and the runner runs it as ``run_argv`` would.

    build  (toolchain, cache directory) → ``{runner}``: the runner's program, made ready to
           use (a path; Java compiles its runner once per JDK and source); blocking, called
           off the event loop. Raises OSError when it cannot.
    main   the entry file the runner is started for when it runs no other (Node's is fixed at
           its start), None when it runs any.
    """

    argv: tuple[str, ...]
    entry: str
    build: Callable[[Toolchain, str], str]
    main: str | None = None


@dataclass(frozen=True)
class LanguagePlan:
    """How one language runs. Everything a language differs in is here; the service and the
    sandbox know no language.

    oom_markers      regexes on stderr that show the runtime ran out of its memory cap; with a
                     non-zero exit and the memory to show for it (verdict.py) they make the
                     verdict ``memory_limit_exceeded``.
    process_limit_markers  regexes on stderr that show a process or thread could not start;
                     with a failure and many processes they name the process limit.
    check_argv       for an interpreted language, a syntax check run in the sandbox before a
                     judged submission's first test (a template like ``compile_argv``): a
                     non-zero exit is ``compilation_error`` with its stderr as the message.
    """

    name: str
    aliases: tuple[str, ...]
    source_suffix: str
    default_main: str
    run_argv: tuple[str, ...]
    compile_argv: tuple[str, ...] | None = None
    check_argv: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    memory_strategy: MemoryStrategy = MemoryStrategy.ADDRESS_SPACE
    address_space_slack_mb: int = 64
    oom_markers: tuple[re.Pattern[str], ...] = ()
    process_limit_markers: tuple[re.Pattern[str], ...] = ()
    self_test_source: str = ""
    self_test_stdout: str = "hello\n"
    # A language is offered once its toolchain answers the version probe (probe_toolchain);
    # its self-test (self_test_source printing self_test_stdout) runs in the background after
    # ready, and withdraws it if it fails: a cold start of any runtime before ready costs a
    # replica at half a CPU a good part of its second (see each plan).
    # Hooks for what data cannot say (Java: the file and class follow the source's public class).
    main_name_for: Callable[[str], str] | None = None
    main_class_for: Callable[[str, str], str] | None = None
    # Discovery, at startup only: the binaries that may run this language, in order of
    # preference (cheap: PATH lookups), and the version probe that decides whether it is offered.
    find_binaries: Callable[[], list[str]] = field(default=lambda: [])
    probe_toolchain: Callable[[str], Toolchain | None] = field(default=lambda _: None)
    # A compiler kept warm between submissions; a fresh compile_argv process is the fallback.
    warm_server: WarmServerPlan | None = None
    # Runs forked from a pre-initialised interpreter; a cold run_argv process is the fallback.
    zygote: ZygotePlan | None = None
    # Runs handed to an interpreter started ahead in its box; a cold run_argv process is the
    # fallback.
    runner: RunnerPlan | None = None

    def entry_name(self, code: str) -> str:
        """The file name a single ``code`` string is saved under."""
        return self.main_name_for(code) if self.main_name_for else self.default_main

    def main_class(self, main: str, content: str) -> str:
        """The class to run (Java); for other languages the entry file itself."""
        return self.main_class_for(main, content) if self.main_class_for else main

    def address_space_kb(self, memory_kb: int) -> int:
        """RLIMIT_AS for a run under ``memory_kb``: the limit plus the plan's slack."""
        return memory_kb + self.address_space_slack_mb * 1024


def heap_mb_for(memory_kb: int) -> int:
    """The heap cap a managed runtime gets under a memory limit: three quarters of it, leaving the
    rest for the runtime itself (code, stacks, metaspace), never under 16 MB."""
    return max(16, memory_kb * 3 // 4 // 1024)


def expand_argv(
    template: tuple[str, ...],
    *,
    toolchain: Toolchain,
    main: str = "",
    main_class: str = "",
    heap_mb: int = 0,
    sources: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
    tmp_dir: str = "",
    runner: str = "",
) -> tuple[str, ...]:
    """Fill a template's placeholders; ``{sources}``, ``{args}`` and the toolchain's expansions
    become several items (or none). A file name (``{main}``, ``{sources}``) that a tool would
    read as an option or an argument file (a leading '-' or '@') is given as ``./name``.
    Raises KeyError for an unknown placeholder."""
    argv: list[str] = []
    for item in template:
        name = item[1:-1] if item.startswith("{") and item.endswith("}") else None
        if name == "sources":
            argv.extend(_as_path(source) for source in sources)
        elif name == "main":
            argv.append(_as_path(main))
        elif name == "args":
            argv.extend(args)
        elif name is not None and name in toolchain.expansions:
            argv.extend(toolchain.expansions[name])
        else:
            argv.append(
                item.format(
                    interpreter=toolchain.interpreter,
                    compiler=toolchain.compiler or "",
                    main=main,
                    main_class=main_class,
                    heap_mb=heap_mb,
                    tmp_dir=tmp_dir,
                    runner=runner,
                )
            )
    return tuple(argv)


def _as_path(file_name: str) -> str:
    """``file_name`` as an argument no tool reads as an option: the request model refuses such
    names, and this keeps any other caller's from reaching a command line as one."""
    return f"./{file_name}" if file_name.startswith(("-", "@")) else file_name
