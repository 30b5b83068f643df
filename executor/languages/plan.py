"""LanguagePlan: a frozen description of how one language compiles and runs a submission."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Placeholders in argv templates, filled per run:
#   {interpreter}  absolute path of the runtime binary      {compiler} of the compiler
#   {main}         the entry file's name                     {main_class} Java's main class
#   {heap_mb}      heap cap derived from the memory limit    {sources} every source file (expands)
#   {args}         the user's arguments (expands to several argv items)
#   {compiler_jvm_flags} the toolchain's compiler JVM flags, each as -J<flag> (expands)


@dataclass(frozen=True)
class Toolchain:
    """A runtime found on this machine: its binaries and version."""

    version: str
    interpreter: str
    compiler: str | None = None
    # JVM flags for the compiler's own JVM only, found with the toolchain (javac's CDS archive).
    compiler_jvm_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanguagePlan:
    """How one language runs. Everything a language differs in is here; the service and the
    sandbox know no language.

    memory_strategy  ``address_space``: RLIMIT_AS at the memory limit plus
                     ``address_space_slack_mb`` (for runtimes that reserve little address space:
                     CPython). ``heap_flag``: the runtime's own heap cap via ``{heap_mb}`` (V8 and
                     the JVM reserve gigabytes of address space they never touch, so RLIMIT_AS
                     would kill correct programs). Either way the supervisor also kills the tree
                     when its RSS passes the limit.
    oom_markers      regexes on stderr that show the runtime ran out of its memory cap; with a
                     non-zero exit they make the verdict ``memory_limit_exceeded``.
    """

    name: str
    aliases: tuple[str, ...]
    source_suffix: str
    default_main: str
    run_argv: tuple[str, ...]
    compile_argv: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    memory_strategy: str = "address_space"
    address_space_slack_mb: int = 64
    oom_markers: tuple[re.Pattern[str], ...] = ()
    self_test_source: str = ""
    self_test_stdout: str = "hello\n"
    # The version the self-test prints on stderr (group 1), so that discovery starts the runtime
    # once, not a second time for a version probe (a deferred self-test uses probe_toolchain).
    self_test_version: re.Pattern[str] = re.compile(r"^\s*v?(\d+(?:\.\d+)*)\s*$")
    # True for a language whose self-test is slow (Java's needs a compile): it is offered once
    # its toolchain answers the version probe, and its self-test runs in the background after
    # the warm compiler is up, withdrawing it if it fails. False: the self-test gates readiness.
    self_test_deferred: bool = False
    # Hooks for what data cannot say (Java: the file and class follow the source's public class).
    main_name_for: Callable[[str], str] | None = None
    main_class_for: Callable[[str, str], str] | None = None
    # Discovery, at startup only: the binaries that may run this language, in order of
    # preference (cheap: PATH lookups), and, for a deferred self-test, a version probe.
    find_binaries: Callable[[], list[str]] = field(default=lambda: [])
    probe_toolchain: Callable[[str], Toolchain | None] = field(default=lambda _: None)
    # A long-lived compiler the service keeps warm (see warm_compiler.py); fresh one as fallback.
    warm_compiler: bool = False

    def entry_name(self, code: str) -> str:
        """The file name a single ``code`` string is saved under."""
        return self.main_name_for(code) if self.main_name_for else self.default_main

    def main_class(self, main: str, content: str) -> str:
        """The class to run (Java); for other languages the entry file itself."""
        return self.main_class_for(main, content) if self.main_class_for else main


def heap_mb_for(memory_kb: int) -> int:
    """The heap cap a managed runtime gets under a memory limit: three quarters of it, leaving the
    rest for the runtime itself (code, stacks, metaspace), never under 16 MB."""
    return max(16, memory_kb * 3 // 4 // 1024)


def expand_argv(
    template: tuple[str, ...],
    *,
    toolchain: Toolchain,
    main: str,
    main_class: str,
    heap_mb: int,
    sources: list[str],
    args: list[str],
) -> tuple[str, ...]:
    """Fill a template's placeholders; ``{sources}`` and ``{args}`` expand to several items."""
    argv: list[str] = []
    for item in template:
        if item == "{sources}":
            argv.extend(sources)
        elif item == "{compiler_jvm_flags}":
            argv.extend(f"-J{flag}" for flag in toolchain.compiler_jvm_flags)
        elif item == "{args}":
            argv.extend(args)
        else:
            argv.append(
                item.format(
                    interpreter=toolchain.interpreter,
                    compiler=toolchain.compiler or "",
                    main=main,
                    main_class=main_class,
                    heap_mb=heap_mb,
                )
            )
    return tuple(argv)
