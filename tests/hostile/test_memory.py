"""Memory: a tree, a heap, /dev/shm files, memfds and System V segments count against the run's
limit, and none of them can take the replica down."""

import concurrent.futures
import re

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
    either way. The time limits leave room: on this machine (a VM) writing 512 MB of fresh file
    pages took 3.8-4.4 s of CPU after 20 s idle, 0.15 s right after another run's."""
    memory_mb = min(128, hostile.target().probe("capacity_mb", "/dev/shm") * 3 // 4)
    limits = {"memory_mb": memory_mb, "file_size_kb": 65536, "time_ms": 20000,
              "wall_time_ms": 30000, "disk_mb": 1024}  # fmt: skip
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


def test_memory_pinned_in_socket_buffers(hostile: Hostile) -> None:
    """1. Four processes (about 40 MB resident together) pin 300 MB in AF_UNIX socket pair
    buffers (grown with SO_SNDBUF) under a 64 MB limit, and hold it 3 s. Expected:
    memory_limit_exceeded (the kernel reports each socket's queued bytes and owner; they count
    as the run's memory)."""
    limits = {"memory_mb": 64, "time_ms": 5000, "wall_time_ms": 10000}
    result = hostile.run("python", "hostile_socket_buffers", args=["300", "4"], limits=limits)
    assert result["status"] == "memory_limit_exceeded", result
    assert_contained(hostile)


def test_page_tables_count_and_address_space_is_bounded(hostile: Hostile) -> None:
    """1. Python maps 256 GB of address space it never writes and reads a byte every 2 MB.
    2. Node allocates up to 16 ArrayBuffers of 4 GB and does the same. Both under 64 MB.
    Expected: Python's mapping refused (RLIMIT_AS); Node refused past its address-space limit
    (the limit plus 4 GB), its page tables within its memory limit or the run stopped at it."""
    limits = {"memory_mb": 64, "time_ms": 5000, "wall_time_ms": 10000}
    result = hostile.run("python", "hostile_page_tables", args=["256"], limits=limits)
    assert result["status"] == "ok", result
    assert result["stdout"] == "mmap of 256 GB refused: ENOMEM\n", result
    result = hostile.run("node", "hostile_page_tables", args=["16"], limits=limits)
    assert result["status"] in ("ok", "memory_limit_exceeded"), result
    if result["status"] == "ok":
        made, tables_kb = re.search(
            r"made (\d+) buffers.*tables (\d+) kB", result["stdout"]
        ).groups()
        assert int(made) <= 1 and int(tables_kb) < 64 * 1024, result
    assert_contained(hostile, language="node")


def test_forked_processes_sharing_pages_are_not_a_memory_limit(hostile: Hostile) -> None:
    """1. 48 forked Pythons, 2 MB of their own each, spin for 3 s under 256 MB (their resident
    sizes add up to several hundred MB, nearly all pages shared with the parent). 2. Four
    forked Pythons of 100 MB of their own each, under 256 MB. Expected: 1 ends at the time limit
    (a judge's time limit, as DMOJ and codejail report it), never the memory limit; 2 is
    memory_limit_exceeded (a real hog: its own pages count)."""
    limits = {"memory_mb": 256, "processes": 64, "time_ms": 1000, "wall_time_ms": 5000}
    result = hostile.run("python", "hostile_fork_tree", args=["48", "2", "spin"], limits=limits)
    assert result["status"] == "time_limit_exceeded", result
    limits = {"memory_mb": 256, "processes": 64, "time_ms": 5000, "wall_time_ms": 10000}
    result = hostile.run("python", "hostile_fork_tree", args=["4", "100", "sleep"], limits=limits)
    assert result["status"] == "memory_limit_exceeded", result
    assert_contained(hostile)


def test_runs_within_their_limits_never_meet_the_replicas(hostile: Hostile) -> None:
    """1. Ask for more memory than the replica has for runs. 2. Two runs at once, each asking
    700 MB and using 550 MB. Expected: 1 is a 422 saying it can never fit (in a 1 GB
    container); 2: both ok, one after the other where they do not fit side by side (no
    out-of-memory kill of a run within its limit)."""
    target = hostile.target()
    budget_mb = target.service.client.get("/info").json()["load"]["memory_budget_mb"]
    if budget_mb < 1024:
        body = {"language": "python", "code": "print(1)", "limits": {"memory_mb": 1024}}
        response = target.service.client.post("/execute", json=body)
        assert response.status_code == 422 and "can never fit" in response.text, response.text
    limits = {"memory_mb": 700, "time_ms": 5000, "wall_time_ms": 20000}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(
                hostile.run,
                "python",
                "hostile_fork_tree",
                args=["1", "550", "sleep"],
                limits=limits,
            )
            for _ in range(2)
        ]
        results = [run.result(timeout=120) for run in runs]
    assert [r["status"] for r in results] == ["ok", "ok"], results
    assert_contained(hostile)
