"""The native spawn helper (native/spawn_helper.c): the one way a sandboxed child is started.

The helper applies a ChildPlan (namespaces, rlimits, uid drop, no_new_privs, seccomp) between
its own start and the exec of the program. Popen starts it with vfork, about a millisecond,
where forking the service for a preexec_fn costs ten or more on a large heap; and the steps are
written once, in C, instead of once in C and once in Python. It also acts on every process of a
uid as that uid (kill, query) and removes a uid's System V IPC objects.
"""

import asyncio
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
from executor.sandbox.seccomp import SeccompFilter, program_fd

SOURCE_NAME = "spawn_helper.c"
COMPILE_TIMEOUT_S = 60
ERROR_READ_BYTES = 4096


class SpawnError(RuntimeError):
    """The command could not be started at all (missing interpreter, a setup step refused)."""


class HelperUnavailable(RuntimeError):
    """No helper binary: none given and none could be compiled (the message says how to fix)."""


@dataclass(frozen=True)
class SpawnHelper:
    """A built ``executor-spawn``, its library (the same steps without the exec, for a child a
    zygote forked: ``library_path``), and the seccomp program it installs.

    ``filter_fd`` is a sealed memfd holding the BPF program (seccomp.program_fd), shared by
    every spawn and kept open for the service's lifetime; None when seccomp is not available.
    """

    path: str
    filter_fd: int | None

    @property
    def library_path(self) -> str:
        """``lib<name>.so`` beside the executable (built with it, or shipped with it)."""
        directory, name = os.path.split(self.path)
        return os.path.join(directory, f"lib{name}.so")

    def setup_options(self, plan: ChildPlan, *, error_fd: str, filter_fd: str) -> list[str]:
        """The options that apply ``plan``, for the helper or its library; ``error_fd`` and
        ``filter_fd`` as they should appear (a number, or a placeholder a zygote fills in)."""
        options = ["-e", error_fd, "-w", f"{OOM_SCORE_ADJ_PATH}={plan.oom_score_adj}"]
        if plan.network_namespace:
            options += ["-N", plan.network_namespace]
        if plan.unshare_flags:
            options += ["-n", str(plan.unshare_flags)]
            for path, text in plan.ipc_limits:
                options += ["-w", f"{path}={text}"]
            if plan.private_tmp:
                options += ["-t", plan.private_tmp]
            if plan.private_proc:
                options += ["-P", PRIVATE_PROC_OPTIONS]
        for which, value in plan.rlimits:
            options += ["-r", f"{which}:{value}"]
        if plan.idle:
            options += ["-i"]
        if plan.identity is not None:
            options += ["-u", str(plan.identity.uid), "-g", str(plan.identity.gid)]
        if plan.landlock is not None:
            options += ["-L", str(plan.landlock.abi)]
            for option, paths in (
                ("-W", plan.landlock.whole),
                ("-S", plan.landlock.shared),
                ("-D", plan.landlock.devices),
            ):
                for path in paths:
                    options += [option, path]
        if plan.seccomp and self.filter_fd is not None:
            options += ["-s", filter_fd]
        return options

    def command(
        self,
        plan: ChildPlan,
        argv: tuple[str, ...],
        *,
        error_fd: int,
        result_fd: int | None = None,
    ) -> list[str]:
        """The helper's command line that applies ``plan`` and then execs ``argv`` (with
        ``result_fd``, in a child it waits for: see native/spawn_helper.c -R)."""
        filter_fd = str(self.filter_fd) if self.filter_fd is not None else ""
        command = [
            self.path,
            *self.setup_options(plan, error_fd=str(error_fd), filter_fd=filter_fd),
        ]
        if result_fd is not None:
            command += ["-R", str(result_fd)]
        return [*command, "--", *argv]

    async def spawn(
        self,
        plan: ChildPlan,
        argv: tuple[str, ...],
        *,
        cwd: str,
        env: dict[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
        result_fd: int | None = None,
        inherited_fds: tuple[int, ...] = (),
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` under ``plan`` in a new session; return once the program itself is
        running. With ``result_fd`` (a pipe's writing end) the helper stays as the program's
        parent and reports its peak memory there when it ends (read_peak_rss_kb). The program
        also holds ``inherited_fds``, at the same numbers (a runner's control pipes). Raises
        SpawnError if the helper or the program cannot start, or a setup step is refused (the
        message names the step). The event loop keeps serving meanwhile."""
        error_r, error_w = os.pipe()
        pass_fds = (error_w, self.filter_fd) if plan.seccomp and self.filter_fd else (error_w,)
        if result_fd is not None:
            pass_fds = (*pass_fds, result_fd)
        pass_fds = (*pass_fds, *inherited_fds)
        try:
            proc = subprocess.Popen(
                self.command(plan, argv, error_fd=error_w, result_fd=result_fd),
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env=env,
                start_new_session=True,
                pass_fds=pass_fds,
                close_fds=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(error_r)
            raise SpawnError(f"cannot start the spawn helper: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                os.close(error_w)
        try:
            # The helper's error pipe is close-on-exec: EOF with nothing written means the
            # program itself is running.
            error = await _read_until_eof(error_r)
        finally:
            os.close(error_r)
        if error:
            await asyncio.to_thread(proc.wait)
            raise SpawnError(f"cannot start {argv[0]}: {error.decode(errors='replace')}")
        return proc

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
            detail = os.read(error_r, ERROR_READ_BYTES).decode(errors="replace")
        finally:
            if error_w != -1:
                os.close(error_w)
            os.close(error_r)
        return None if done.returncode == 0 else detail or f"exit status {done.returncode}"

    def kill_all(self, identity: RunIdentity) -> None:
        """SIGKILL every process of the uid, sent as that uid in one ``kill(-1)``."""
        self._as_uid("-k", identity)

    def any_alive(self, identity: RunIdentity) -> bool:
        """Whether the uid has any process at all (zombies included)."""
        done = subprocess.run([self.path, "-q", str(identity.uid)], check=False, close_fds=True)
        if done.returncode not in (0, 1):
            raise OSError(f"{self.path} -q failed with exit status {done.returncode}")
        return done.returncode == 0

    def pss_kb(self, identity: RunIdentity) -> int:
        """The proportional set size of all the uid's processes, in KB: a page shared by several
        of them counts once in all (read as the uid: see native/spawn_helper.c -M)."""
        done = subprocess.run(
            [self.path, "-M", str(identity.uid)], capture_output=True, check=True, close_fds=True
        )
        fields = done.stdout.split()
        if len(fields) != 2 or fields[0] != b"pss":
            raise OSError(f"{self.path} -M answered {done.stdout[:100]!r}")
        return int(fields[1])

    def remove_ipc(self, identity: RunIdentity) -> None:
        """Remove, as the uid, every System V IPC object it created or owns."""
        self._as_uid("-I", identity)

    def _as_uid(self, mode: str, identity: RunIdentity) -> None:
        subprocess.run([self.path, mode, str(identity.uid)], check=True, close_fds=True)


def read_peak_rss_kb(result_fd: int) -> int | None:
    """The program's peak resident memory the helper reported on the reading end of its result
    pipe, once the helper has exited; None if it reported nothing (killed first)."""
    os.set_blocking(result_fd, False)
    try:
        line = os.read(result_fd, 64).decode(errors="replace")
    except BlockingIOError:
        return None
    fields = line.split()
    if len(fields) == 2 and fields[0] == "maxrss" and fields[1].isdigit():
        return int(fields[1])
    return None


def load_helper(*, prebuilt: str, cache_dir: str, seccomp: SeccompFilter | None) -> SpawnHelper:
    """The helper at ``prebuilt`` if given, else one compiled from the packaged source into
    ``cache_dir`` (once per source version; needs ``cc``). Raises HelperUnavailable."""
    path = prebuilt or _compiled(cache_dir)
    if not os.access(path, os.X_OK):
        raise HelperUnavailable(f"{path} is not an executable file")
    helper = SpawnHelper(path=path, filter_fd=program_fd(seccomp) if seccomp is not None else None)
    if not os.path.exists(helper.library_path):
        raise HelperUnavailable(f"{helper.library_path}, the helper's library, is missing")
    return helper


def _compiled(cache_dir: str) -> str:
    source = (resources.files("executor.sandbox") / "native" / SOURCE_NAME).read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = os.path.join(cache_dir, f"executor-spawn-{digest}")
    library = os.path.join(cache_dir, f"libexecutor-spawn-{digest}.so")
    if os.path.exists(target) and os.path.exists(library):
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise HelperUnavailable(
            "no C compiler (cc) to build the spawn helper: install one (Debian: apt-get install "
            "gcc) or set EXECUTOR_SPAWN_HELPER to a prebuilt executor-spawn"
        )
    os.makedirs(cache_dir, mode=0o755, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        source_path = os.path.join(scratch, SOURCE_NAME)
        with open(source_path, "wb") as f:
            f.write(source)
        for final, flags in (
            (library, ["-shared", "-fPIC", "-DEXECUTOR_SPAWN_LIBRARY"]),
            (target, []),  # last: its presence says both are there
        ):
            built = os.path.join(cache_dir, f".{os.path.basename(final)}-{os.getpid()}")
            done = subprocess.run(
                [compiler, "-O2", *flags, "-o", built, source_path],
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
            os.replace(built, final)  # atomic: a concurrent start sees the old or the whole file
    return target


async def _read_until_eof(fd: int) -> bytes:
    """What is written to ``fd`` until its writers close it, read without blocking the loop."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    done: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        try:
            data = os.read(fd, ERROR_READ_BYTES)
        except BlockingIOError:
            return
        if data and sum(map(len, chunks)) < ERROR_READ_BYTES:
            chunks.append(data)
        elif not data and not done.done():
            done.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)
