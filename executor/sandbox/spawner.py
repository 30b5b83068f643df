"""The native spawn helper: builds it once, and turns a ChildPlan into its command line."""

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources

from executor.sandbox.child import OOM_SCORE_ADJ_PATH, PRIVATE_PROC_OPTIONS, ChildPlan
from executor.sandbox.identity import RunIdentity
from executor.sandbox.seccomp import SeccompFilter

SOURCE_NAME = "spawn_helper.c"
COMPILE_TIMEOUT_S = 60


class HelperUnavailable(RuntimeError):
    """No helper binary: none given and none could be compiled (the reason says why)."""


@dataclass(frozen=True)
class SpawnHelper:
    """A built ``executor-spawn`` (see native/spawn_helper.c) and the seccomp program it loads.

    ``filter_fd`` is a memfd holding the BPF program, shared by every spawn (the helper reads it
    with pread), kept open for the service's lifetime.
    """

    path: str
    filter_fd: int | None

    def command(self, plan: ChildPlan, argv: tuple[str, ...], *, error_fd: int) -> list[str]:
        """The helper's command line that applies ``plan`` and then execs ``argv``."""
        command = [
            self.path,
            "-e",
            str(error_fd),
            "-w",
            f"{OOM_SCORE_ADJ_PATH}={plan.oom_score_adj}",
        ]
        if plan.unshare_flags:
            command += ["-n", str(plan.unshare_flags)]
            for path, value in plan.ipc_limits:
                command += ["-w", f"{path}={value}"]
            if plan.private_tmp:
                command += ["-t", plan.private_tmp]
            if plan.private_proc:
                command += ["-P", PRIVATE_PROC_OPTIONS.decode()]
        for which, value in plan.rlimits:
            command += ["-r", f"{which}:{value}"]
        if plan.identity is not None:
            command += ["-u", str(plan.identity.uid), "-g", str(plan.identity.gid)]
        if plan.seccomp is not None and self.filter_fd is not None:
            command += ["-s", str(self.filter_fd)]
        return [*command, "--", *argv]

    def pass_fds(self, plan: ChildPlan, error_fd: int) -> tuple[int, ...]:
        """Descriptors the helper must inherit for ``plan``."""
        if plan.seccomp is not None and self.filter_fd is not None:
            return (error_fd, self.filter_fd)
        return (error_fd,)

    def check_seccomp(self) -> str | None:
        """Install the filter in a child, check that AF_INET is refused and AF_UNIX allowed;
        None if so, else what went wrong."""
        if self.filter_fd is None:
            return "the helper was given no seccomp filter"
        error_r, error_w = os.pipe()
        try:
            done = subprocess.run(
                [self.path, "-e", str(error_w), "-s", str(self.filter_fd), "-c"],
                pass_fds=(error_w, self.filter_fd),
                check=False,
            )
            os.close(error_w)
            error_w = -1
            detail = os.read(error_r, 4096).decode(errors="replace")
        finally:
            if error_w != -1:
                os.close(error_w)
            os.close(error_r)
        return None if done.returncode == 0 else detail or f"exit status {done.returncode}"

    def kill_all(self, identity: RunIdentity) -> None:
        """SIGKILL every process of the uid, sent as that uid in one ``kill(-1)``."""
        subprocess.run([self.path, "-k", str(identity.uid)], check=True, close_fds=True)

    def any_alive(self, identity: RunIdentity) -> bool:
        """Whether the uid has any process at all (zombies included)."""
        done = subprocess.run([self.path, "-q", str(identity.uid)], check=False, close_fds=True)
        if done.returncode not in (0, 1):
            raise OSError(f"{self.path} -q failed with exit status {done.returncode}")
        return done.returncode == 0


def load_helper(*, prebuilt: str, cache_dir: str, seccomp: SeccompFilter | None) -> SpawnHelper:
    """The helper at ``prebuilt`` if given, else one compiled from the packaged source into
    ``cache_dir`` (once per source version; needs ``cc``). Raises HelperUnavailable."""
    path = prebuilt or _compiled(cache_dir)
    if not os.access(path, os.X_OK):
        raise HelperUnavailable(f"{path} is not an executable file")
    filter_fd = None
    if seccomp is not None:
        filter_fd = os.memfd_create("seccomp-filter", os.MFD_CLOEXEC)
        os.write(filter_fd, seccomp.program)
    return SpawnHelper(path=path, filter_fd=filter_fd)


def _compiled(cache_dir: str) -> str:
    source = (resources.files("executor.sandbox") / "native" / SOURCE_NAME).read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = os.path.join(cache_dir, f"executor-spawn-{digest}")
    if os.path.exists(target):
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise HelperUnavailable("no C compiler (cc) to build the spawn helper")
    os.makedirs(cache_dir, mode=0o755, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        source_path = os.path.join(scratch, SOURCE_NAME)
        with open(source_path, "wb") as f:
            f.write(source)
        built = os.path.join(cache_dir, f".executor-spawn-{digest}-{os.getpid()}")
        done = subprocess.run(
            [compiler, "-O2", "-o", built, source_path],
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(built)
            raise HelperUnavailable(f"compiling the spawn helper failed: {done.stderr[-500:]}")
    os.chmod(built, 0o755)
    os.replace(built, target)  # atomic: a concurrent start sees the old name or the whole file
    return target
