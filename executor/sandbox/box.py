"""The sandbox's front door: a Sandbox hands out Boxes, each a uid of its own and a fresh
directory, that run commands under limits and are cleaned up after."""

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from executor.sandbox.child import ChildPlan, plan_child
from executor.sandbox.identity import IdentityPool, RunIdentity, random_uid_base
from executor.sandbox.layers import Isolation, IsolationMode, detect_isolation
from executor.sandbox.libc import set_child_subreaper
from executor.sandbox.places import SHARED_WRITABLE_DIRS
from executor.sandbox.reaper import kill_all_processes
from executor.sandbox.resident import Resident
from executor.sandbox.seccomp import SeccompUnavailable, build_filter
from executor.sandbox.spawn import SpawnHelper, load_helper
from executor.sandbox.spec import Outcome, ResourceLimits, RunSpec
from executor.sandbox.supervise import run as supervise_run
from executor.sandbox.sweep import remove_ipc_objects, remove_owned_files
from executor.sandbox.workdir import (
    Workdir,
    add_files,
    create_workdir,
    prepare_runs_dir,
    remove_workdir,
)

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
    """

    mode: IsolationMode
    runs_dir: str
    helper_dir: str
    spawn_helper: str
    pool_size: int
    uid_base: int | None = None
    resident_slots: int = 1


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
        self._cleanups: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, config: SandboxConfig) -> "Sandbox":
        """Build (or find) the spawn helper, make the runs directory, and probe which isolation
        layers work here. Raises HelperUnavailable (no helper and no C compiler) and
        IsolationUnavailable (``strict`` without the uid drop or seccomp)."""
        base_uid = config.uid_base or random_uid_base(config.pool_size + config.resident_slots)
        try:
            set_child_subreaper()
        except OSError:
            log.warning("cannot become a child subreaper: orphans of runs go to PID 1")
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
        return cls(config, helper=helper, isolation=isolation, base_uid=base_uid)

    @contextlib.asynccontextmanager
    async def box(self, files: Mapping[str, bytes]) -> AsyncIterator["Box"]:
        """A fresh box holding ``files``: waits for a free uid, makes its directory. On exit the
        cleanup (kill what is left of the uid, remove its files in shared places and the
        directory, free the uid) runs in the background: the caller does not wait for it, and
        the uid is handed out again only after it."""
        identity = await self.pool.acquire() if self.pool is not None else None
        work: Workdir | None = None
        try:
            # A few mkdir, write and chown calls: cheaper inline than a hop to a thread.
            work = create_workdir(self.config.runs_dir, files=files, identity=identity)
            yield Box(self, work, identity)
        finally:
            cleanup = asyncio.create_task(self._clean_up(work, identity))
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
            "uid_pool": (
                {"base": self.pool.base_uid, "size": self.pool.size}
                if self.pool is not None
                else None
            ),
        }

    async def close(self) -> None:
        """Wait for the cleanups under way."""
        if self._cleanups:
            await asyncio.wait(self._cleanups)

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
        )

    async def _clean_up(self, work: Workdir | None, identity: RunIdentity | None) -> None:
        """End what is left of the uid, remove its files in shared places and the directory,
        then free the uid. A uid that cannot be cleaned is retired (logged), never reused."""
        try:
            await asyncio.to_thread(self._clean_up_now, work, identity)
        except Exception:
            log.exception("retiring uid %s: its run could not be cleaned up", identity)
            return
        if identity is not None and self.pool is not None:
            self.pool.release(identity)

    def _clean_up_now(self, work: Workdir | None, identity: RunIdentity | None) -> None:
        if identity is not None:
            kill_all_processes(identity, helper=self.helper)
            # With a mount namespace, the run's /tmp, /var/tmp and /dev/shm were its directory's.
            places = ("/run/lock",) if self.isolation.namespaces else SHARED_WRITABLE_DIRS
            remove_owned_files(identity, places=places)
            remove_ipc_objects(identity, helper=self.helper)
        if work is not None:
            remove_workdir(work)


class Box:
    """One fresh directory and uid; ``run`` may be called several times (compile, then run)."""

    def __init__(self, sandbox: Sandbox, work: Workdir, identity: RunIdentity | None) -> None:
        self._sandbox = sandbox
        self._work = work
        self._identity = identity

    async def run(
        self,
        argv: tuple[str, ...],
        *,
        limits: ResourceLimits,
        stdin: bytes = b"",
        env: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Run ``argv`` (argv[0] an absolute path) in the box's directory under ``limits`` with
        an environment built from scratch (PATH, HOME, TMPDIR, LANG, plus ``env``), and report
        what happened (see supervise.run). Raises SpawnError if it cannot start."""
        sandbox = self._sandbox
        spec = sandbox._spec(argv, self._work, limits=limits, env=env or {}, stdin=stdin)
        plan = sandbox._plan(limits, self._work, self._identity)
        return await supervise_run(spec, plan=plan, helper=sandbox.helper)

    async def add_files(self, files: Mapping[str, bytes]) -> None:
        """Write ``files`` into the box's directory by relative path (``pkg/Name.class``),
        owned by the box's uid; only while nothing runs in the box. Raises ValueError for a
        path with an empty, '.' or '..' component."""
        await asyncio.to_thread(add_files, self._work, files, identity=self._identity)
