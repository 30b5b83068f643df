"""Python: CPython run in isolated mode, capped by RLIMIT_AS."""

import re
from importlib import resources

from executor.languages.plan import LanguagePlan, MemoryStrategy, Toolchain, ZygotePlan
from executor.languages.toolchain import candidates, probe_output

# The syntax check: compile every source as the interpreter would, without running or writing
# anything (py_compile writes .pyc files and reads names starting with '-' as options); the
# message is the interpreter's own. No braces: argv templates are str.format()ted.
SYNTAX_CHECK = (
    "import sys, traceback\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        with open(name, 'rb') as source:\n"
    "            compile(source.read(), name, 'exec', dont_inherit=True)\n"
    "    except (SyntaxError, ValueError) as error:\n"
    "        sys.stderr.write(''.join(traceback.format_exception_only(error)))\n"
    "        sys.exit(1)\n"
)


def find_python() -> list[str]:
    """CPython 3 binaries: PATH first (wrapper scripts such as pyenv shims skipped), then the
    system's."""
    return candidates(["python3"], ["/usr/bin/python3", "/usr/local/bin/python3"])


def probe_python(python: str) -> Toolchain | None:
    """The version ``python3 --version`` prints (Python 3.13.5 → 3.13.5; 3.14.0rc1 → 3.14.0), or
    None for anything but a CPython 3. It answers before the interpreter initialises (no site,
    no imports)."""
    match = re.fullmatch(
        r"Python (3(?:\.\d+)+)\S*", (probe_output([python, "--version"]) or "").strip()
    )
    return Toolchain(version=match.group(1), interpreter=python) if match else None


def python_plan() -> LanguagePlan:
    """-E -s: no PYTHON* variables, no user site (not -I, which would also drop the script's
    directory from sys.path and break multi-file programs); -X utf8 whatever the locale;
    -B: no __pycache__ written into the workspace."""
    return LanguagePlan(
        name="python",
        aliases=("python3", "py"),
        source_suffix=".py",
        default_main="main.py",
        run_argv=("{interpreter}", "-E", "-s", "-B", "-X", "utf8", "{main}", "{args}"),
        # After -c, the file names are the script's arguments, never the interpreter's options.
        check_argv=(
            "{interpreter}",
            "-E",
            "-s",
            "-B",
            "-X",
            "utf8",
            "-c",
            SYNTAX_CHECK,
            "{sources}",
        ),
        memory_strategy=MemoryStrategy.ADDRESS_SPACE,
        address_space_slack_mb=64,
        oom_markers=(re.compile(r"^MemoryError", re.MULTILINE),),
        # os.fork and threading's EAGAIN under RLIMIT_NPROC.
        process_limit_markers=(
            re.compile(r"Resource temporarily unavailable|can't start new thread"),
        ),
        # Runs after /readyz, as Node's and Java's: before it, a sandboxed cold python3 (15-20 ms
        # of CPU) sat between the service's start and ready. Python image, docker run ->
        # /readyz, six alternating pairs: median 1150 ms against 1235 (the log's app start ->
        # ready 3-55 ms against 25-85).
        self_test_source="print('hello')\n",
        find_binaries=find_python,
        probe_toolchain=probe_python,
        zygote=ZygotePlan(
            argv=("{interpreter}", "-E", "-s", "-B", "-X", "utf8"),
            script=zygote_script,
        ),
    )


def zygote_script() -> str:
    """The zygote's program (zygote.py in this package), run by the interpreter the runs use."""
    return str(resources.files("executor.languages.python") / "zygote.py")
