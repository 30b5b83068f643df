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
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass

from executor.sandbox.child import ChildPlan, plan_child, same_setup
from executor.sandbox.identity import IdentityPool, RunIdentity, random_uid_base
from executor.sandbox.layers import Isolation, IsolationMode, detect_isolation
from executor.sandbox.libc import set_child_subreaper
from executor.sandbox.netns import NetworkNamespaces
from executor.sandbox.places import SHARED_WRITABLE_DIRS
from executor.sandbox.reaper import CleanupError, kill_all_processes
from executor.sandbox.recovery import UidRange, forget_record, recover_runs_dir
from executor.sandbox.resident import Resident
from executor.sandbox.runner import Runner, RunnerState
from executor.sandbox.seccomp import SeccompUnavailable, build_filter
from executor.sandbox.spawn import SpawnHelper, load_helper
from executor.sandbox.spec import Outcome, ResourceLimits, RunSpec
from executor.sandbox.supervise import Prewarmed, RunnerRun, ZygoteRun
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
    read_by_runs    other directories whose files runs open (the runners' scripts)
    """

    mode: IsolationMode
    runs_dir: str
    helper_dir: str
    spawn_helper: str
    pool_size: int
    uid_base: int | None = None
    resident_slots: int = 1
    companion_pool_size: int = 0
    read_by_runs: tuple[str, ...] = ()


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
        # Each uid's runs take turns in one network namespace (made on its first run).
        self.network_namespaces = NetworkNamespaces()
        self._cleanups: set[asyncio.Task[None]] = set()
        # Runners started and not yet adopted by a box, and what to tell their owner when one
        # ends before that (see start_runner).
        self._runners: dict[Runner, Callable[[Runner], None]] = {}
        # Set whenever a uid of the pool comes back (a cleanup ended): a box waiting for one
        # looks again, and takes one back from an idle runner if none is coming.
        self._uid_returned = asyncio.Event()
        self._uid_waiters = 0
        self._pool_cleanups = 0
        # Called whenever a uid of the pool comes back (a runner may start there).
        self.uid_listeners: list[Callable[[], None]] = []

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
            run_paths=(config.runs_dir, *config.read_by_runs),
        )
        sandbox = cls(config, helper=helper, isolation=isolation, base_uid=base_uid)
        if sandbox.pool is not None:
            # A dead service's runs and runners (a process waiting on its pipe, files) go
            # before any uid is used.
            await recover_runs_dir(config.runs_dir, own=sandbox.uids, helper=helper)
        if sandbox.scanner is not None:
            sandbox.scanner.start()
        return sandbox

    @contextlib.asynccontextmanager
    async def box(
        self,
        files: Mapping[str, bytes],
        *,
        companion: bool = False,
        runner: Runner | None = None,
    ) -> AsyncIterator["Box"]:
        """A fresh box holding ``files``: waits for a free uid (of the companion pool with
        ``companion``; raises ValueError when the sandbox has none), makes its directory. With
        ``runner`` (taken from this sandbox's idle ones), the box is the runner's own: its uid
        and its directory, where ``files`` are written; a runner that ended meanwhile is
        skipped (a fresh box instead). On exit the cleanup (kill what is left of the uid,
        remove its files in shared places and the directory, free the uid) runs in the
        background: the caller does not wait for it, and the uid is handed out again only
        after it."""
        pool = self.pool
        if companion:
            if self.config.companion_pool_size == 0:
                raise ValueError("this sandbox has no companion pool (companion_pool_size is 0)")
            pool = self.companion_pool
        if runner is not None and (runner.state is not RunnerState.TAKEN or companion):
            runner.lose()
            runner = None
        if runner is not None:
            self._runners.pop(runner, None)
            runner.adopt()
            identity, work = runner.identity, runner.work
            try:
                await asyncio.to_thread(add_files, work, files, identity=identity)
            except BaseException:
                runner.kill()
                self._start_cleanup(work, identity, pool, runner=runner)
                raise
        else:
            identity = await self._acquire(pool) if pool is not None else None
            work = None
        try:
            if work is None:
                # A few mkdir, write and chown calls: cheaper inline than a hop to a thread.
                work = create_workdir(self.config.runs_dir, files=files, identity=identity)
            yield Box(self, work, identity, runner=runner)
        finally:
            if runner is not None:
                runner.kill()  # not handed over (a compile failed), or already run: no-op
            self._start_cleanup(work, identity, pool, runner=runner)

    async def start_runner(
        self,
        argv_for: Callable[[str], tuple[str, ...]],
        *,
        limits: ResourceLimits,
        env: Mapping[str, str],
        on_lost: Callable[[Runner], None],
    ) -> Runner | None:
        """Start a runner (see runner.py) from ``argv_for(the box's temporary directory)`` (the
        CONTROL and STATUS descriptor numbers are appended) in a fresh box of the pool, with a
        run's setup under ``limits`` and a run's environment plus ``env``; None at once when
        no uid of the pool is free or a box waits for one.
        It initialises in the background (``wait_ready``). ``on_lost`` is called if it ends
        before a box adopts it: it died, or a box needing a uid took its uid back. Raises
        SpawnError (its box then cleaned up)."""
        pool = self.pool
        if self._uid_waiters:
            return None  # a box waits for a uid: it comes first
        identity = pool.try_acquire() if pool is not None else None
        if pool is not None and identity is None:
            return None
        work = create_workdir(self.config.runs_dir, files={}, identity=identity)
        argv = argv_for(work.tmp)
        runner = Runner(
            work=work, identity=identity, limits=limits, argv=argv, on_lost=self._runner_lost
        )
        spec = self._spec(argv, work, limits=limits, env=env, stdin=b"")
        ends: list[int] = []  # the runner's ends, closed here once it holds them
        try:
            stdin_fd = os.memfd_create("stdin", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            stdout_r, stdout_w = os.pipe()
            stderr_r, stderr_w = os.pipe()
            result_r, result_w = os.pipe()
            control_r, control_w = os.pipe()
            status_r, status_w = os.pipe()
            ends = [stdout_w, stderr_w, result_w, control_r, status_w]
            ours = [stdin_fd, stdout_r, stderr_r, result_r, control_w, status_r]
            if identity is not None:
                # A runtime that cannot use a descriptor by its number (Java) opens
                # /proc/self/fd/N, which checks the pipe's owner: the run's uid, then (no
                # other uid can reach a run's /proc/<pid>/fd).
                for fd in (control_r, status_w):
                    os.fchown(fd, identity.uid, identity.gid)
            try:
                proc = await self.helper.spawn(
                    self._plan(limits, work, identity),
                    (*argv, str(control_r), str(status_w)),
                    cwd=spec.cwd,
                    env=spec.env,
                    stdin=stdin_fd,
                    stdout=stdout_w,
                    stderr=stderr_w,
                    result_fd=result_w,
                    inherited_fds=(control_r, status_w),
                )
            except BaseException:
                for fd in ours:
                    os.close(fd)
                raise
            runner.spawned(
                proc,
                stdin_fd=stdin_fd,
                stdout_r=stdout_r,
                stderr_r=stderr_r,
                result_r=result_r,
                control_w=control_w,
                status_r=status_r,
            )
        except BaseException:
            runner.kill()
            self._start_cleanup(work, identity, pool, runner=runner)
            raise
        finally:
            for fd in ends:
                os.close(fd)
        self._runners[runner] = on_lost
        if self._uid_waiters:
            # A box began waiting while this runner was being spawned in the last free uid
            # (not evictable then, and no cleanup to wake it): it looks again and takes it.
            self._uid_returned.set()
        return runner

    @property
    def runners(self) -> list[Runner]:
        """The runners started and not adopted by a box yet (starting, idle or taken)."""
        return list(self._runners)

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
        """End the runners not adopted, wait for the cleanups under way, stop measuring,
        remove the service's record (a clean stop leaves nothing for the next service to
        recover), and stop adopting orphans (a process that opened a sandbox and goes on, as a
        test run does, would otherwise keep adopting every orphan below it and never reap
        them). Safe to call twice."""
        for runner in list(self._runners):
            runner.lose()
        if self._cleanups:
            await asyncio.wait(self._cleanups)
        if self.scanner is not None:
            await asyncio.to_thread(self.scanner.stop)
        if self.pool is not None:
            forget_record(self.config.runs_dir, own=self.uids)
        self.network_namespaces.close()
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
        child_env = {"PATH": CHILD_PATH, "HOME": work.tmp, "TMPDIR": work.tmp, "LANG": "C.UTF-8"}
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
            network_namespace=(
                self.network_namespaces.path_for(identity.uid)
                if self.isolation.namespaces and identity is not None
                else None
            ),
        )

    def _start_cleanup(
        self,
        work: Workdir | None,
        identity: RunIdentity | None,
        pool: IdentityPool | None,
        *,
        runner: Runner | None = None,
    ) -> None:
        """Clean the box up in the background (see _clean_up)."""
        if pool is not None and pool is self.pool:
            self._pool_cleanups += 1
        cleanup = asyncio.create_task(self._clean_up(work, identity, pool, runner=runner))
        self._cleanups.add(cleanup)
        cleanup.add_done_callback(self._cleanups.discard)

    async def _acquire(self, pool: IdentityPool) -> RunIdentity:
        """A free uid of ``pool``. When none is free and no cleanup of the pool is under way
        (none is coming back by itself), an idle runner gives its uid up: it is killed and its
        box cleaned as after a run. Runners hold uids of the run pool only: a box of another
        pool (companions) waits in that pool's line."""
        if pool is not self.pool:
            return await pool.acquire()
        while (identity := pool.try_acquire()) is None:
            if self._pool_cleanups == 0:
                evictable = [r for r in self._runners if r.state is not RunnerState.TAKEN]
                if evictable:
                    # The youngest: the oldest is the likeliest to be ready when asked for.
                    max(evictable, key=lambda r: r.started_at).lose()
                    continue
            self._uid_returned.clear()
            self._uid_waiters += 1
            try:
                await self._uid_returned.wait()
            finally:
                self._uid_waiters -= 1
        return identity

    def _runner_lost(self, runner: Runner) -> None:
        """A runner not adopted ended (or was ended): clean its box, tell its owner."""
        on_lost = self._runners.pop(runner, None)
        self._start_cleanup(runner.work, runner.identity, self.pool, runner=runner)
        if on_lost is not None:
            on_lost(runner)

    async def _clean_up(
        self,
        work: Workdir | None,
        identity: RunIdentity | None,
        pool: IdentityPool | None,
        *,
        runner: Runner | None = None,
    ) -> None:
        """End what is left of the uid (and a runner's keeper), remove its files in shared
        places and the directory, then free the uid in its ``pool``. Each step is tried
        whatever the others gave; a uid that cannot be cleaned is retired (logged, shown in
        /info), never reused."""
        try:
            problems = await asyncio.to_thread(self._clean_up_now, work, identity, runner)
        finally:
            if pool is not None and pool is self.pool:
                self._pool_cleanups -= 1
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
        if pool is self.pool:
            self._uid_returned.set()
            for listener in self.uid_listeners:
                listener()

    def _clean_up_now(
        self, work: Workdir | None, identity: RunIdentity | None, runner: Runner | None
    ) -> list[str]:
        problems = []
        if runner is not None:
            runner.reap()
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
    """One fresh directory and uid; ``run`` may be called several times (compile, then run).
    A box made from a runner runs its program once through it (``run`` with ``runner``)."""

    def __init__(
        self,
        sandbox: Sandbox,
        work: Workdir,
        identity: RunIdentity | None,
        *,
        runner: Runner | None = None,
    ) -> None:
        self._sandbox = sandbox
        self._work = work
        self._identity = identity
        self._runner = runner

    @property
    def prewarmed(self) -> bool:
        """Whether a runner waits in this box for its program (see ``run``)."""
        return self._runner is not None and self._runner.state is RunnerState.ADOPTED

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
        runner: RunnerRun | None = None,
    ) -> Outcome:
        """Run ``argv`` (argv[0] an absolute path) in the box's directory under ``limits`` with
        an environment built from scratch (PATH, HOME, TMPDIR, LANG, plus ``env``), and report
        what happened (see supervise.run). ``stdin_fd``/``stdout_fd`` connect it to another
        run instead (an interactive problem: two boxes, two pipes); they are handed over and
        closed once the child holds them. ``zygote`` forks it from a zygote while one is up
        (``argv`` is the cold start). ``runner`` hands it to the runner waiting in this box
        (``prewarmed``), started with ``argv``'s setup: the same steps under limits
        ``same_setup`` as ``limits`` (else the runner is killed and the run starts cold).
        Raises SpawnError if it cannot start."""
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
        waiting = self._runner if runner is not None and self.prewarmed else None
        if waiting is not None and not same_setup(waiting.limits, limits):
            waiting.kill()  # its setup is not this run's: the cleanup reaps it
            waiting = None
        return await supervise_run(
            spec,
            plan=plan,
            helper=sandbox.helper,
            scanner=scanner,
            stdin_fd=stdin_fd,
            stdout_fd=stdout_fd,
            zygote=zygote,
            prewarmed=(
                Prewarmed(waiting, entry=runner.entry, args=runner.args)
                if waiting is not None and runner is not None
                else None
            ),
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
