"""Removes what a run's uid left in shared places: files in world-writable directories, and its
System V IPC objects."""

from executor.sandbox.identity import RunIdentity
from executor.sandbox.places import SHARED_WRITABLE_DIRS, opened_dir, owned_entries
from executor.sandbox.procfs import sysv_ipc_objects
from executor.sandbox.spawn import SpawnHelper
from executor.sandbox.tree import remove_tree


def remove_owned_files(
    identity: RunIdentity, *, places: tuple[str, ...] = SHARED_WRITABLE_DIRS
) -> int:
    """Remove every entry the run's uid owns directly inside ``places`` or inside a
    world-writable directory below them (whole trees for its directories, at any depth). No
    symlink is followed. Returns how many were removed.

    Call only once no process of the uid is alive (reaper.kill_all_processes). Raises OSError
    if an entry cannot be removed.
    """
    removed = 0
    for place in places:
        with opened_dir(place) as dir_fd:
            if dir_fd is None:
                continue
            for parent_fd, name, _ in owned_entries(dir_fd, identity.uid):
                remove_tree(name, dir_fd=parent_fd)
                removed += 1
    return removed


def remove_ipc_objects(identity: RunIdentity, *, helper: SpawnHelper) -> int:
    """Remove every System V IPC object in our IPC namespace that the run's uid created or owns
    (they belong to no process, so killing the run leaves them, with their memory, for the next
    run of that uid). Removal runs as that uid, through the helper: root without
    CAP_SYS_ADMIN, as in a container, may not remove another user's objects. Returns how many
    there were."""
    count = sum(identity.uid in (o.owner_uid, o.creator_uid) for o in sysv_ipc_objects())
    if count:
        helper.remove_ipc(identity)
    return count
