"""LanguagePlan helpers: argv templates expanded, heap caps and address-space limits derived."""

import os
import stat
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from executor.languages.node.plan import find_node, probe_node, runner_script
from executor.languages.plan import Toolchain, expand_argv, heap_mb_for
from executor.languages.python.plan import find_python, probe_python
from executor.languages.registry import all_plans
from executor.languages.toolchain import executable_by_others

TOOLCHAIN = Toolchain(
    version="1",
    interpreter="/bin/run",
    compiler="/bin/cc",
    expansions={"extra": ("-a", "-b"), "none": ()},
)


def test_placeholders_are_filled_and_lists_expand() -> None:
    argv = expand_argv(
        ("{compiler}", "{extra}", "-Xmx{heap_mb}m", "{sources}", "{none}", "--", "{args}"),
        toolchain=TOOLCHAIN,
        heap_mb=48,
        sources=("A.java", "B.java"),
        args=("x y", "{main}"),
    )
    assert argv == ("/bin/cc", "-a", "-b", "-Xmx48m", "A.java", "B.java", "--", "x y", "{main}")


def test_main_and_main_class_fill_their_items() -> None:
    argv = expand_argv(
        ("{interpreter}", "{main}", "{main_class}"),
        toolchain=TOOLCHAIN,
        main="Main.java",
        main_class="pkg.Main",
    )
    assert argv == ("/bin/run", "Main.java", "pkg.Main")


def test_a_file_name_is_never_given_as_an_option() -> None:
    """The request model refuses such names; the argv builder holds for any other caller."""
    argv = expand_argv(
        ("{interpreter}", "{main}", "{sources}", "{args}"),
        toolchain=TOOLCHAIN,
        main="-c",
        sources=("@opts.java", "-d", "A-b.java"),
        args=("-c", "@x"),
    )
    assert argv == ("/bin/run", "./-c", "./@opts.java", "./-d", "A-b.java", "-c", "@x")


def test_an_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError):
        expand_argv(("{nope}",), toolchain=TOOLCHAIN)


@pytest.mark.parametrize(("memory_kb", "heap_mb"), [(256 * 1024, 192), (16 * 1024, 16), (0, 16)])
def test_heap_is_three_quarters_of_the_limit_never_below_16_mb(
    memory_kb: int, heap_mb: int
) -> None:
    assert heap_mb_for(memory_kb) == heap_mb


def test_every_runtime_gets_an_address_space_limit() -> None:
    limits = {plan.name: plan.address_space_kb(256 * 1024) for plan in all_plans()}
    assert limits == {
        "python": (256 + 64) * 1024,
        "node": (256 + 4096) * 1024,
        "java": (256 + 4096) * 1024,
    }


def test_every_plan_template_expands() -> None:
    """Each plan's run, compile and warm-server templates use only known placeholders."""
    for plan in all_plans():
        toolchain = Toolchain(
            version="1",
            interpreter="/bin/x",
            compiler="/bin/c",
            expansions={"javac_jvm_flags": (), "compile_server": ()},
        )
        templates = [plan.run_argv, plan.compile_argv or ()]
        if plan.warm_server is not None:
            templates.append(plan.warm_server.argv)
        for template in templates:
            expand_argv(
                template, toolchain=toolchain, main="m", main_class="M", heap_mb=16, tmp_dir="/t"
            )


def test_nodes_runner_module_is_copied_where_the_runs_can_read_it(tmp_path: Path) -> None:
    """The package may be out of the runs' reach (under /root, mode 0700; under /tmp, which a
    run with a mount namespace sees as its own): the runner's preload module is read from the
    cache directory, readable by all, the same file for every start of one version."""
    toolchain = Toolchain(interpreter="/usr/bin/node", version="20")
    first = runner_script(toolchain, str(tmp_path / "cache"))
    again = runner_script(toolchain, str(tmp_path / "cache"))
    assert first == again and Path(first).parent == tmp_path / "cache"
    packaged = resources.files("executor.languages.node") / "runner.js"
    assert Path(first).read_bytes() == packaged.read_bytes()
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o644
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [Path(first).name]


# A script printing the running interpreter's version as its probe gives it (Node drops the "v").
VERSION_SCRIPTS = {
    "node": ("-e", "process.stdout.write(process.versions.node)"),
    "python": ("-c", "import sys; print('%d.%d.%d' % sys.version_info[:3], end='')"),
}
PROBES = {"node": (find_node, probe_node), "python": (find_python, probe_python)}


@pytest.mark.parametrize("language", sorted(PROBES))
def test_a_version_probe_gives_the_version_a_script_reports(language: str) -> None:
    # 1. Probe the first binary found, as discovery does (`node --version`, `python3
    #    --version`: no script run).
    # 2. Ask the same binary for its version by running a script.
    # Expected: the same version; None for a binary that is not this language's (/bin/true,
    # the other language's interpreter): a probe that does not answer as it should is no
    # toolchain.
    find, probe = PROBES[language]
    binary = find()[0]
    toolchain = probe(binary)
    assert toolchain is not None
    reported = subprocess.run(
        [binary, *VERSION_SCRIPTS[language]], capture_output=True, text=True, check=True
    ).stdout
    assert (toolchain.version, toolchain.interpreter) == (reported, binary)
    assert probe("/bin/true") is None
    (other,) = set(PROBES) - {language}
    assert probe(PROBES[other][0]()[0]) is None


def test_a_prerelease_python_is_offered_on_its_numbered_version(tmp_path: Path) -> None:
    # A stand-in that answers `--version` as a release candidate of CPython does.
    # Expected: the numbered part (3.14.0), not "no toolchain".
    stand_in = tmp_path / "python3"
    stand_in.write_text("#!/bin/sh\necho 'Python 3.14.0rc1'\n")
    stand_in.chmod(0o755)
    toolchain = probe_python(str(stand_in))
    assert toolchain is not None and toolchain.version == "3.14.0"


def test_an_interpreter_the_runs_uids_cannot_execute_is_not_offered_by_a_root_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1. Copy the system's python3 into a directory of mode 0700 (as an interpreter under
    #    root's home) and put that directory first on PATH.
    # 2. Find the Python binaries, as discovery does.
    # Expected, for a service running as root (its runs take other uids): the copy is not a
    # candidate (it answers `--version` as root, and every run would fail), the system's is.
    # Run as another user, the copy is the first candidate (runs keep the service's uid).
    system = find_python()[0]
    hidden = tmp_path / "home"
    hidden.mkdir(mode=0o700)
    hidden.chmod(0o700)
    copy = hidden / "python3"
    copy.write_bytes(Path(system).read_bytes())
    copy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{hidden}:{os.environ['PATH']}")
    assert not executable_by_others(str(copy))
    assert executable_by_others(system)
    found = find_python()
    if os.geteuid() == 0:
        assert str(copy) not in found and system in found
    else:
        assert found[0] == str(copy)
