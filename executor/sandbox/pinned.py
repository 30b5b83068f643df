"""Measures memory a run pins outside its processes in System V IPC objects, which no
process's resident size shows (files on memory filesystems are measured by usage.py)."""

from executor.sandbox.identity import RunIdentity
from executor.sandbox.procfs import sysv_ipc_objects


def held_ipc_kb(identity: RunIdentity) -> int:
    """KB held by the System V shared memory segments and message queues the uid created: they
    outlive detaching and exiting. The seccomp layer refuses to make them; this counts what a
    run makes without it. Objects in a private IPC namespace are not seen here
    (child.IPC_NAMESPACE_LIMITS bounds those)."""
    held = sum(
        o.held_bytes for o in sysv_ipc_objects(("shm", "msg")) if o.creator_uid == identity.uid
    )
    return held // 1024
