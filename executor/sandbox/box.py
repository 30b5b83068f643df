"""The sandbox's front door: a Sandbox hands out Boxes, each a uid of its own and a fresh
directory, that run commands under limits and are cleaned up after.

Over 300 lines because it is the one front door: the Sandbox (pools, cleanup, residents) and
the Box (run, files in and out) share its private state, and callers see only these two."""

import asyncio
import contextlib
import dataclasses
import logging
import os
import resource
import subprocess
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass

from executor.sandbox.child import ChildPlan, plan_child
from executor.sandbox.identity import IdentityPool, RunIdentity, random_uid_base
from executor.sandbox.layers import Isolation, IsolationMode, detect_isolation
from executor.sandbox.libc import set_child_subreaper
from executor.sandbox.places import SHARED_WRITABLE_DIRS
from executor.sandbox.reaper import CleanupError, kill_all_processes
from executor.sandbox.recovery import UidRange, forget_record, recover_runs_dir
from executor.sandbox.resident import Resident
from executor.sandbox.seccomp import SeccompUnavailable, build_filter
from executor.sandbox.spawn import SpawnHelper, load_helper
from executor.sandbox.spec import Outcome, ResourceLimits, RunSpec
from executor.sandbox.supervise import ZygoteRun
from executor.sandbox.supervise import run as supervise_run
from executor.sandbox.sweep import remove_ipc_objects, remove_owned_files
from executor.sandbox.usage import UsageScanner, Watch
from executor.sandbox.workdir import (
    Workdir,
    add_files,
    create_workdir,
    prepare_runs_dir,
    read_file,
    read_files,
    remove_workdir,
)
from executor.sandbox.zygote import Zygote

log = logging.getLogger("executor.sandbox")

# Every child's PATH; the rest of its environment is HOME, TMPDIR, LANG and what the caller adds.
CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox is set up on this replica.

    runs_dir        where each box's directory is made (mode 0711, owned by the service)
    helper_dir      where the spawn helper is compiled to, when ``spawn_helper`` is empty
    spawn_helper    a prebuilt executor-spawn, or "" to compile the packaged source with cc
    pool_size       boxes at once: each holds one uid of the pool until its cleanup ends
    uid_base        first uid of the pool (None: random, so replicas on a host rarely share)
    resident_slots  uids after the pool kept for long-lived residents (a warm compiler)
    companion_pool_size  uids after the residents for companion boxes: programs that run beside
                    or after a box of the pool (an interactor talking to a run). Taken from a
                    pool of their own, a box and its companion never wait for each other's uid
    """

    mode: IsolationMode
    runs_dir: str
    helper_dir: str
    spawn_helper: str
    pool_size: int
    uid_base: int | None = None
    resident_slots: int = 1
    companion_pool_size: int = 0


class Sandbox:
    """Runs commands in boxes on this replica. Make one with ``await Sandbox.open(config)``;
    ``close`` waits for the cleanups under way."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        helper: SpawnHelper,
        isolation: Isolation,
        base_uid: int,
    ) -> None:
        self.config = config
        self.helper = helper
        self.isolation = isolation
        self.base_uid = base_uid
        self.pool = (
            IdentityPool(base_uid=base_uid, size=config.pool_size) if isolation.uid_drop else None
        )
        companion_base = base_uid + config.pool_size + config.resident_slots
        self.companion_pool = (
            IdentityPool(base_uid=companion_base, size=config.companion_pool_size)
            if isolation.uid_drop and config.companion_pool_size > 0
            else None
        )
        # With a mount namespace, a run's /tmp, /var/tmp and /dev/shm are its own directory's.
        self.shared_places = ("/run/lock",) if isolation.namespaces else SHARED_WRITABLE_DIRS
        # Files are told apart by uid: without a uid of its own a run's are not measured.
        self.scanner = (
            UsageScanner(shared=self.shared_places, runs_dir=config.runs_dir)
            if self.pool is not None
            else None
        )
        self._cleanups: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, config: SandboxConfig) -> "Sandbox":
        """Build (or find) the spawn helper, make the runs directory, and probe which isolation
        layers work here. Raises HelperUnavailable (no helper and no C compiler) and
        IsolationUnavailable (``strict`` without the uid drop or seccomp)."""
        base_uid = config.uid_base or random_uid_base(
            config.pool_size + config.resident_slots + config.companion_pool_size
        )
        try:
            set_child_subreaper()
        except OSError:
            log.warning("cannot become a child subreaper: orphans of runs go to PID 1")
        # Walking another run's tree holds one descriptor per level (places.owned_entries).
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        prepare_runs_dir(config.runs_dir)
        try:
            seccomp, seccomp_problem = build_filter(), None
        except SeccompUnavailable as exc:
            seccomp, seccomp_problem = None, str(exc)
        helper = load_helper(
            prebuilt=config.spawn_helper, cache_dir=config.helper_dir, seccomp=seccomp
        )
        isolation = await detect_isolation(
            config.mode,
            probe_identity=RunIdentity(uid=base_uid, gid=base_uid),
            seccomp_problem=seccomp_problem,
            helper=helper,
            probe_dir=config.runs_dir,
        )
        sandbox = cls(config, helper=helper, isolation=isolation, base_uid=base_uid)
        if sandbox.pool is not None:
            await recover_runs_dir(config.runs_dir, own=sandbox.uids, helper=helper)
        if sandbox.scanner is not None:
            sandbox.scanner.start()
        return sandbox

    @contextlib.asynccontextmanager
    async def box(
        self, files: Mapping[str, bytes], *, companion: bool = False
    ) -> AsyncIterator["Box"]:
        """A fresh box holding ``files``: waits for a free uid (of the companion pool with
        ``companion``; raises ValueError when the sandbox has none), makes its directory. On
        exit the cleanup (kill what is left of the uid, remove its files in shared places and
        the directory, free the uid) runs in the background: the caller does not wait for it,
        and the uid is handed out again only after it."""
        pool = self.pool
        if companion:
            if self.config.companion_pool_size == 0:
                raise ValueError("this sandbox has no companion pool (companion_pool_size is 0)")
            pool = self.companion_pool
        identity = await pool.acquire() if pool is not None else None
        work: Workdir | None = None
        try:
            # A few mkdir, write and chown calls: cheaper inline than a hop to a thread.
            work = create_workdir(self.config.runs_dir, files=files, identity=identity)
            yield Box(self, work, identity)
        finally:
            cleanup = asyncio.create_task(self._clean_up(work, identity, pool))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)

    async def start_resident(
        self,
        argv: tuple[str, ...],
        *,
        files: Mapping[str, bytes],
        limits: ResourceLimits,
        env: Mapping[str, str],
        slot: int = 0,
    ) -> Resident:
        """Start a long-lived helper in a box of its own, as the uid of resident ``slot`` (after
        the pool, so no run ever shares it). Its CPU limit covers its whole life: budget each
        exchange instead. Raises SpawnError if it cannot start; its box is then removed."""
        if not 0 <= slot < self.config.resident_slots:
            raise ValueError(f"slot must be in [0, {self.config.resident_slots}), got {slot}")
        uid = self.base_uid + self.config.pool_size + slot
        identity = RunIdentity(uid=uid, gid=uid) if self.pool is not None else None
        work = await asyncio.to_thread(
            create_workdir, self.config.runs_dir, files=files, identity=identity
        )
        resident = Resident(
            self._spec(argv, work, limits=limits, env=env, stdin=b""),
            plan=self._plan(limits, work, identity),
            helper=self.helper,
            work=work,
        )
        try:
            await resident.start()
        except BaseException:
            await resident.stop()
            raise
        return resident

    def start_zygote(self, argv: tuple[str, ...]) -> Zygote:
        """Start a zygote from ``argv`` (see zygote.py); it forks runs with this sandbox's
        helper library. Raises OSError."""
        # The environment a run gets, with neutral values: nothing of the service's own.
        env = {"PATH": CHILD_PATH, "HOME": "/", "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
        zygote = Zygote(argv, helper=self.helper, env=env)
        zygote.start()
        return zygote

    @property
    def cleaning(self) -> int:
        """Boxes whose cleanup is under way."""
        return len(self._cleanups)

    def describe(self) -> dict[str, object]:
        """What /info shows of the sandbox: the layers, the spawn helper, the uid pool."""
        return {
            "mode": self.isolation.mode.value,
            "warning": (
                "isolation is OFF: submitted code runs as the service's own user. Development only."
                if self.isolation.mode is IsolationMode.NONE
                else None
            ),
            "layers": [dataclasses.asdict(layer) for layer in self.isolation.layers],
            "spawn": f"native helper {self.helper.path}",
            "uid_pool": _describe_pool(self.pool),
            "companion_uid_pool": _describe_pool(self.companion_pool),
        }

    @property
    def uids(self) -> UidRange:
        """Every uid this sandbox may run something as: runs, residents, companions."""
        c = self.config
        return UidRange(self.base_uid, c.pool_size + c.resident_slots + c.companion_pool_size)

    async def close(self) -> None:
        """Wait for the cleanups under way, stop measuring, remove the service's record (a
        clean stop leaves nothing for the next service to recover), and stop adopting orphans
        (a process that opened a sandbox and goes on, as a test run does, would otherwise keep
        adopting every orphan below it and never reap them). Safe to call twice."""
        if self._cleanups:
            await asyncio.wait(self._cleanups)
        if self.scanner is not None:
            await asyncio.to_thread(self.scanner.stop)
        if self.pool is not None:
            forget_record(self.config.runs_dir, own=self.uids)
        with contextlib.suppress(OSError):
            set_child_subreaper(False)

    def _spec(
        self,
        argv: tuple[str, ...],
        work: Workdir,
        *,
        limits: ResourceLimits,
        env: Mapping[str, str],
        stdin: bytes,
    ) -> RunSpec:
        child_env = {"PATH": CHILD_PATH, "HOME": work.home, "TMPDIR": work.tmp, "LANG": "C.UTF-8"}
        return RunSpec(
            argv=argv, cwd=work.box, env={**child_env, **env}, limits=limits, stdin=stdin
        )

    def _plan(
        self, limits: ResourceLimits, work: Workdir, identity: RunIdentity | None
    ) -> ChildPlan:
        return plan_child(
            limits,
            identity=identity,
            seccomp=self.isolation.seccomp,
            namespaces=self.isolation.namespaces,
            private_tmp=work.tmp,
            landlock_abi=self.isolation.landlock_abi,
            writable=(work.root,),
            idle=self.isolation.idle,
        )

    async def _clean_up(
        self, work: Workdir | None, identity: RunIdentity | None, pool: IdentityPool | None
    ) -> None:
        """End what is left of the uid, remove its files in shared places and the directory,
        then free the uid in its ``pool``. Each step is tried whatever the others gave; a uid
        that cannot be cleaned is retired (logged, shown in /info), never reused."""
        problems = await asyncio.to_thread(self._clean_up_now, work, identity)
        if identity is None or pool is None:
            return
        if problems:
            pool.retire(identity)
            log.error(
                "retiring uid %d (%d of %d left): %s",
                identity.uid,
                pool.usable,
                pool.size,
                "; ".join(problems),
            )
            return
        pool.release(identity)

    def _clean_up_now(self, work: Workdir | None, identity: RunIdentity | None) -> list[str]:
        problems = []
        if identity is not None:
            if self.scanner is not None:
                self.scanner.unwatch(identity.uid)
            try:
                kill_all_processes(identity, helper=self.helper)
            except (CleanupError, OSError) as exc:
                problems.append(f"processes: {exc}")
            try:
                remove_owned_files(identity, places=self.shared_places)
            except OSError as exc:
                problems.append(f"files in shared places: {exc}")
            try:
                remove_ipc_objects(identity, helper=self.helper)
            except (OSError, subprocess.SubprocessError) as exc:
                problems.append(f"System V IPC objects: {exc}")
        if work is not None:
            remove_workdir(work)
            if os.path.lexists(work.root):
                problems.append(f"its directory {work.root} could not be removed")
        return problems

    def problem(self) -> str | None:
        """Why this sandbox should not take work any more (the platform should replace the
        replica), or None: fewer than half of a pool's uids are left usable."""
        for what, pool in (("run", self.pool), ("companion", self.companion_pool)):
            if pool is not None and pool.usable * 2 < pool.size:
                return (
                    f"only {pool.usable} of {pool.size} {what} uids are usable: the others "
                    "were retired because their runs could not be cleaned up"
                )
        return None


class Box:
    """One fresh directory and uid; ``run`` may be called several times (compile, then run)."""

    def __init__(self, sandbox: Sandbox, work: Workdir, identity: RunIdentity | None) -> None:
        self._sandbox = sandbox
        self._work = work
        self._identity = identity

    @property
    def tmp_dir(self) -> str:
        """The box's own temporary directory (every run's TMPDIR)."""
        return self._work.tmp

    async def run(
        self,
        argv: tuple[str, ...],
        *,
        limits: ResourceLimits,
        stdin: bytes = b"",
        env: Mapping[str, str] | None = None,
        stdin_fd: int | None = None,
        stdout_fd: int | None = None,
        zygote: ZygoteRun | None = None,
    ) -> Outcome:
        """Run ``argv`` (argv[0] an absolute path) in the box's directory under ``limits`` with
        an environment built from scratch (PATH, HOME, TMPDIR, LANG, plus ``env``), and report
        what happened (see supervise.run). ``stdin_fd``/``stdout_fd`` connect it to another
        run instead (an interactive problem: two boxes, two pipes); they are handed over and
        closed once the child holds them. ``zygote`` forks it from a zygote while one is up
        (``argv`` is the cold start). Raises SpawnError if it cannot start."""
        sandbox = self._sandbox
        spec = sandbox._spec(argv, self._work, limits=limits, env=env or {}, stdin=stdin)
        plan = sandbox._plan(limits, self._work, self._identity)
        scanner = sandbox.scanner if self._identity is not None else None
        if scanner is not None and self._identity is not None:
            scanner.watch(
                Watch(
                    uid=self._identity.uid,
                    work_root=self._work.root,
                    max_files=limits.disk_files,
                    max_disk_kb=limits.disk_kb,
                )
            )
        return await supervise_run(
            spec,
            plan=plan,
            helper=sandbox.helper,
            scanner=scanner,
            stdin_fd=stdin_fd,
            stdout_fd=stdout_fd,
            zygote=zygote,
        )

    async def add_files(
        self, files: Mapping[str, bytes], *, directories: Collection[str] = ()
    ) -> None:
        """Write ``files`` into the box's directory by relative path (``pkg/Name.class``), and
        make the empty ``directories``, owned by the box's uid; only while nothing runs in the
        box. Raises ValueError for a path with an empty, '.' or '..' component."""
        await asyncio.to_thread(
            add_files, self._work, files, identity=self._identity, directories=directories
        )

    async def read_file(self, path: str, *, max_bytes: int) -> bytes | None:
        """The first ``max_bytes`` of the regular file at ``path`` (relative to the box's
        directory), or None when there is none: a symlink, FIFO or device a run planted there
        is neither followed nor opened for reading. Raises ValueError for a path with an
        empty, '.' or '..' component."""
        return await asyncio.to_thread(read_file, self._work, path, max_bytes=max_bytes)

    async def read_files(
        self, *, skip: Collection[str], max_files: int, max_bytes: int
    ) -> dict[str, bytes] | None:
        """Every regular file in the box's directory by relative path, except those in
        ``skip`` (what a compiler wrote beside the sources); None when they are more than
        ``max_files`` or ``max_bytes`` together. Follows no link, opens no FIFO."""
        return await asyncio.to_thread(
            read_files, self._work, skip=skip, max_files=max_files, max_bytes=max_bytes
        )


def _describe_pool(pool: IdentityPool | None) -> dict[str, object] | None:
    if pool is None:
        return None
    return {
        "base": pool.base_uid,
        "size": pool.size,
        "usable": pool.usable,
        "retired": [identity.uid for identity in pool.retired],
    }
