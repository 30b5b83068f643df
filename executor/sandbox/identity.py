"""A pool of unprivileged uids, one per concurrent run: a run's processes and files are its own."""

import asyncio
import secrets
from dataclasses import dataclass

# Kept below 2**31 (some tools treat uids as signed) and above the ranges distributions and
# user namespaces hand out, so a pool never meets a real account.
UID_RANGE_START = 1_000_000
UID_RANGE_END = 2_000_000_000


@dataclass(frozen=True)
class RunIdentity:
    """The uid and gid a run executes as; the gid equals the uid and has no other members."""

    uid: int
    gid: int


def random_uid_base(pool_size: int) -> int:
    """A base for a pool of ``pool_size`` uids, drawn at random so two replicas on one host almost
    never share uids (RLIMIT_NPROC counts a uid's processes across every container on a host)."""
    if pool_size < 1:
        raise ValueError(f"pool_size must be at least 1, got {pool_size}")
    slots = (UID_RANGE_END - UID_RANGE_START) // pool_size
    return UID_RANGE_START + secrets.randbelow(slots) * pool_size


class IdentityPool:
    """Hands out identities; a released identity is reused only after its run was cleaned, and
    one that could not be cleaned is retired for good."""

    def __init__(self, *, base_uid: int, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.base_uid = base_uid
        self.size = size
        self.retired: list[RunIdentity] = []
        self._free: asyncio.Queue[RunIdentity] = asyncio.Queue()
        for uid in range(base_uid, base_uid + size):
            self._free.put_nowait(RunIdentity(uid=uid, gid=uid))

    @property
    def usable(self) -> int:
        """Identities not retired: free or in use."""
        return self.size - len(self.retired)

    @property
    def free(self) -> int:
        """Identities free right now."""
        return self._free.qsize()

    async def acquire(self) -> RunIdentity:
        """Wait for a free identity."""
        return await self._free.get()

    def try_acquire(self) -> RunIdentity | None:
        """A free identity, or None at once when there is none."""
        try:
            return self._free.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def release(self, identity: RunIdentity) -> None:
        """Return an identity whose processes and files are all gone."""
        self._free.put_nowait(identity)

    def retire(self, identity: RunIdentity) -> None:
        """Never hand ``identity`` out again: something of its run could not be removed."""
        self.retired.append(identity)
