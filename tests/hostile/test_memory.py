"""Memory: a tree, a heap, /dev/shm files, memfds and System V segments count against the run's
limit, and none of them can take the replica down."""

import httpx
import pytest

from executor.testing import ContainerService
from tests.hostile.support import Hostile, assert_contained
from tests.support import container_name, run_program, wait_for


def test_memory_spread_over_processes(hostile: Hostile) -> None:
    """1. Eight children each hold 48 MB: each is under its own address-space limit, the tree is
    over the run's 200 MB. Expected: memory_limit_exceeded; every child gone."""
    limits = {"memory_mb": 200, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run("python", "hostile_memory_tree", limits=limits)
    assert result["status"] == "memory_limit_exceeded", result
    assert_contained(hostile)


@pytest.mark.parametrize("language", ["node", "java"])
def test_memory_bomb(hostile: Hostile, language: str) -> None:
    """1. The heap grows without end under a 128 MB limit. Expected: memory_limit_exceeded."""
    limits = {"memory_mb": 128, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run(language, "hostile_memory_bomb", limits=limits)
    assert result["status"] == "memory_limit_exceeded", result
    assert result["memory_kb"] <= (128 + 96) * 1024
    assert_contained(hostile, language=language)


def test_memory_in_shm_files(hostile: Hostile) -> None:
    """1. Write 512 MB into /dev/shm files of at most 64 MB each (the file-size limit), under a
    128 MB memory limit (or 3/4 of /dev/shm where that is smaller, as the 64 MB a container
    gets by default, so that the run passes its limit before /dev/shm is full): tmpfs pages that
    no process maps. Expected: memory_limit_exceeded where /dev/shm is the shared tmpfs (no
    namespaces); where the run has a private, disk-backed /dev/shm, ok; the files are removed
    either way."""
    memory_mb = min(128, hostile.target().probe("capacity_mb", "/dev/shm") * 3 // 4)
    limits = {"memory_mb": memory_mb, "file_size_kb": 65536, "time_ms": 5000,
              "wall_time_ms": 8000, "disk_mb": 1024}  # fmt: skip
    result = hostile.run("python", "hostile_shm_fill", args=["512"], limits=limits)
    if hostile.layer("namespaces")["active"]:
        assert (result["status"], result["stdout"]) == ("ok", "wrote 512 MB\n"), result
    else:
        assert result["status"] == "memory_limit_exceeded", result
    assert_contained(hostile)


def test_memory_in_memfd(hostile: Hostile) -> None:
    """1. Write 512 MB into anonymous memory files (memfd_create), never mapped, under a 128 MB
    limit. Expected: memory_limit_exceeded (or memfd_create refused)."""
    limits = {"memory_mb": 128, "file_size_kb": 65536, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run("python", "hostile_memfd_fill", args=["512"], limits=limits)
    assert result["status"] == "memory_limit_exceeded" or "refused" in result["stdout"], result
    assert_contained(hostile)


@pytest.mark.docker
def test_memfd_cannot_kill_the_replica(language_images: tuple[str, dict[str, str]]) -> None:
    """1. Start a container of the Python image of its own (the replica: 1 GiB, 0.5 CPU; this
    case may kill it, so not the suite's). 2. Write 2 GB into memfds under a 128 MB limit.
    Expected: memory_limit_exceeded, or memfd_create refused; the container still runs its
    service, not killed for memory. (With memfd_create allowed, the pages were charged to the
    container but to no process: at 1 GiB the OOM killer took the largest process, the service,
    and the replica died, exit 137, OOMKilled.)"""
    docker, images = language_images
    name = container_name("python")
    with ContainerService.start(images["python"], name=name, docker=docker) as container:
        limits = {"memory_mb": 128, "file_size_kb": 65536, "time_ms": 10000, "wall_time_ms": 20000}
        try:
            result = run_program(
                container, "python", "hostile_memfd_fill", args=["2048"], limits=limits
            )
        except httpx.TransportError as exc:  # the connection dropped with the service
            result = {"error": repr(exc)}

        def answers() -> bool:
            try:
                return container.client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        # A killed service takes Docker a moment to notice.
        wait_for(
            lambda: answers() or not container.state()["Running"],
            timeout_s=30,
            what="the service to answer or its container to stop",
        )
        state = {key: container.state()[key] for key in ("Status", "OOMKilled", "ExitCode")}
        assert state["Status"] == "running" and not state["OOMKilled"], (state, result)
        assert result.get("status") == "memory_limit_exceeded" or "refused" in result["stdout"], (
            result
        )


def test_memory_in_sysv_shm(hostile: Hostile) -> None:
    """1. Create four 64 MB System V shared memory segments, fill each, detach, exit, under a
    128 MB limit: a segment belongs to no process and outlives them all.
    Expected: refused (ENOSYS: the seccomp layer answers as a kernel without System V IPC);
    without seccomp, in the service's IPC namespace: memory_limit_exceeded, the segments
    counted; in a private one: ok, each segment destroyed once detached. No segment left
    afterwards either way."""
    limits = {"memory_mb": 128, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run("python", "hostile_sysv_shm", args=["64", "4"], limits=limits)
    if hostile.layer("seccomp")["active"]:
        expected = ("ok", "shmget refused: ENOSYS\nmade 0 segments of 64 MB, 0 still alive\n")
        assert (result["status"], result["stdout"]) == expected, result
    elif hostile.layer("namespaces")["active"]:
        expected = ("ok", "made 4 segments of 64 MB, 0 still alive\n")
        assert (result["status"], result["stdout"]) == expected, result
    else:
        assert result["status"] == "memory_limit_exceeded", result
    assert_contained(hostile)
