"""Finds runtime binaries on this machine and asks each for its version."""

import os
import pathlib
import shutil
import stat
import subprocess

PROBE_TIMEOUT_S = 10.0


def probe_output(argv: list[str]) -> str | None:
    """Run a trusted probe command (as the service) and return stdout + stderr, or None."""
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return (done.stdout + done.stderr).decode(errors="replace")


def candidates(names: list[str], extra_paths: list[str]) -> list[str]:
    """Absolute paths of ELF binaries: those ``names`` resolve to on PATH first, then
    ``extra_paths`` that exist; duplicates (after resolving symlinks) and scripts removed, and,
    for a service running as root (whose runs take other uids), binaries those uids cannot
    execute."""
    found: list[str] = []
    for name in names:
        path = shutil.which(name)
        if path:
            found.append(path)
    found.extend(p for p in extra_paths if os.path.exists(p))
    unique: list[str] = []
    seen: set[str] = set()
    for path in found:
        real = os.path.realpath(path)
        if real not in seen and _is_elf(real) and (os.geteuid() != 0 or executable_by_others(real)):
            seen.add(real)
            unique.append(real)
    return unique


def executable_by_others(path: str) -> bool:
    """True if a uid with no claim on the file (a run's) may execute it: the file has the
    others' execute bit and so has every directory above it. Languages are offered on a version
    probe, which runs as the service: without this, an interpreter under root's home (mode 0700
    here; a venv's python3 links to pyenv's there) answered the probe and failed every run."""
    real = os.path.realpath(path)
    for node in (real, *map(str, pathlib.PurePath(real).parents)):
        try:
            if not os.stat(node).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _is_elf(path: str) -> bool:
    # A wrapper script (a pyenv or asdf shim) re-resolves the interpreter on every call, which
    # costs 100-200 ms a run, and may live where the run's uid cannot read it: only binaries.
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False
