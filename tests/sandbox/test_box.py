"""The sandbox's front door: boxes with a uid of their own, an environment from scratch, files
in and out, cleaned up after; residents in boxes of their own."""

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.sandbox import (
    IsolationMode,
    KillReason,
    ResidentFailed,
    ResourceLimits,
    Sandbox,
    SandboxConfig,
    SpawnError,
)
from executor.sandbox.libc import is_child_subreaper

PYTHON = "/usr/bin/python3"
LIMITS = ResourceLimits(
    cpu_time_ms=2000, wall_time_ms=5000, memory_kb=256 * 1024, output_kb=64, processes=32,
    file_size_kb=64,
)  # fmt: skip


def open_sandbox(
    runs_dir: Path, helper_dir: Path, *, pool_size: int = 2, companions: int = 0
) -> Sandbox:
    config = SandboxConfig(
        mode=IsolationMode.AUTO,
        runs_dir=str(runs_dir),
        helper_dir=str(helper_dir),
        spawn_helper="",
        pool_size=pool_size,
        companion_pool_size=companions,
    )
    return asyncio.run(Sandbox.open(config))


@pytest.fixture
def runs_dir(reachable_dir: Path) -> Path:
    """A runs directory outside /tmp, as the service's own: with a mount namespace a run sees
    its private directory over /tmp, so a box under /tmp would be out of its sight."""
    return reachable_dir / "runs"


@pytest.fixture
def sandbox(runs_dir: Path, tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox opened in the test process, closed after the test (a test that closes it
    itself checks what a close leaves): the test process adopts orphans only while it is open."""
    sandbox = open_sandbox(runs_dir, tmp_path / "helper")
    yield sandbox
    asyncio.run(sandbox.close())


def test_a_box_runs_as_a_pool_uid_with_its_files_and_a_clean_environment(
    sandbox: Sandbox, runs_dir: Path
) -> None:
    """1. A box with one file. 2. A program prints its uid, environment and the file.
    Expected: a pool uid, only PATH/HOME/TMPDIR/LANG plus what was given, the file's text."""
    os.environ["SANDBOX_TEST_SECRET"] = "do-not-leak"
    code = (
        "import os\nprint(os.getuid())\nprint(sorted(os.environ))\n"
        "print(open('data.txt').read())\nprint(os.environ['HOME'].startswith(os.getcwd()[:-4]))"
    )

    async def scenario() -> bytes:
        async with sandbox.box({"data.txt": b"hello"}) as box:
            outcome = await box.run((PYTHON, "-c", code), limits=LIMITS, env={"EXTRA": "1"})
        await sandbox.close()
        return outcome.stdout

    try:
        lines = asyncio.run(scenario()).decode().splitlines()
    finally:
        del os.environ["SANDBOX_TEST_SECRET"]
    assert sandbox.pool is not None
    assert sandbox.pool.base_uid <= int(lines[0]) < sandbox.pool.base_uid + 2
    assert lines[1] == str(sorted(["EXTRA", "HOME", "LANG", "PATH", "TMPDIR"]))
    assert lines[2:] == ["hello", "True"]
    assert os.listdir(runs_dir) == []
    assert not is_child_subreaper()  # closed: orphans below the test process go to PID 1 again


def test_files_added_between_runs_are_seen_and_the_uid_is_reused_after_cleanup(
    sandbox: Sandbox,
) -> None:
    async def scenario() -> list[bytes]:
        seen = []
        for _ in range(3):  # more boxes than the pool has uids: each waits for a cleanup
            async with sandbox.box({}) as box:
                await box.add_files({"pkg/a.txt": b"added"})
                outcome = await box.run((PYTHON, "-c", "print(open('pkg/a.txt').read())"),
                                        limits=LIMITS)  # fmt: skip
                seen.append(outcome.stdout)
        await sandbox.close()
        return seen

    assert asyncio.run(scenario()) == [b"added\n"] * 3
    assert sandbox.cleaning == 0


def test_a_missing_program_is_a_spawn_error_and_the_box_is_still_removed(
    sandbox: Sandbox, runs_dir: Path
) -> None:
    async def scenario() -> None:
        try:
            async with sandbox.box({}) as box:
                await box.run(("/no/such/program",), limits=LIMITS)
        finally:
            await sandbox.close()

    with pytest.raises(SpawnError):
        asyncio.run(scenario())
    assert os.listdir(runs_dir) == []


def test_a_resident_answers_frames_and_its_box_is_removed_on_stop(
    sandbox: Sandbox, runs_dir: Path
) -> None:
    """1. A resident echo server (length-prefixed frames on stdio) in its own box, as the uid
    after the pool. 2. One exchange. 3. Stop. Expected: the echo, its uid, its box gone."""
    server = (
        "import os, struct, sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(struct.pack('>i', 5) + b'ready'); out.flush()\n"
        "n, = struct.unpack('>i', sys.stdin.buffer.read(4))\n"
        "body = sys.stdin.buffer.read(n) + str(os.getuid()).encode()\n"
        "out.write(struct.pack('>i', len(body)) + body); out.flush()\n"
        "sys.stdin.buffer.read()\n"
    )

    async def scenario() -> tuple[bytes, bytes]:
        resident = await sandbox.start_resident(
            (PYTHON, "server.py"), files={"server.py": server.encode()}, limits=LIMITS, env={}
        )
        try:
            ready = await resident.exchange(None, cpu_time_ms=5000, wall_time_ms=5000,
                                            memory_kb=LIMITS.memory_kb,
                                            max_response_bytes=5)  # fmt: skip
            echo = await resident.exchange(b"ping:", cpu_time_ms=5000, wall_time_ms=5000,
                                           memory_kb=LIMITS.memory_kb,
                                           max_response_bytes=64)  # fmt: skip
        finally:
            await resident.stop()
            await sandbox.close()
        return ready.response, echo.response

    ready, echo = asyncio.run(scenario())
    assert sandbox.pool is not None
    assert ready == b"ready"
    assert echo == f"ping:{sandbox.pool.base_uid + sandbox.pool.size}".encode()
    assert os.listdir(runs_dir) == []


def test_two_connected_boxes_end_when_either_side_leaves(runs_dir: Path, tmp_path: Path) -> None:
    """1. A box of the pool and one of the companion pool, connected stdout to stdin both ways
    by two pipes handed over to Box.run. 2. One side says one line and leaves at once; the
    other reads until end-of-file. Expected: the reader sees the line and then end-of-file
    right away (no descriptor held by the service keeps it waiting for its 5 s wall limit);
    each side ran as a uid of its own pool."""
    sandbox = open_sandbox(runs_dir, tmp_path / "helper", pool_size=1, companions=1)
    leaver = "import os; print(os.getuid(), flush=True)"
    # Its stdout goes to the side that left: it reports on stderr, which is captured.
    reader = "import os, sys; print(sys.stdin.read().split(), os.getuid(), file=sys.stderr)"

    async def scenario() -> tuple[bytes, int]:
        async with sandbox.box({}) as box, sandbox.box({}, companion=True) as companion:
            to_box_r, to_box_w = os.pipe()
            to_companion_r, to_companion_w = os.pipe()
            left, read = await asyncio.gather(
                box.run((PYTHON, "-c", leaver), limits=LIMITS, stdin_fd=to_box_r,
                        stdout_fd=to_companion_w),
                companion.run((PYTHON, "-c", reader), limits=LIMITS, stdin_fd=to_companion_r,
                              stdout_fd=to_box_w),
            )  # fmt: skip
        await sandbox.close()
        assert left.exit_code == 0
        return read.stderr, read.wall_time_ms

    output, wall_ms = asyncio.run(scenario())
    assert sandbox.pool is not None and sandbox.companion_pool is not None
    words = output.decode().replace("[", " ").replace("]", " ").replace("'", " ").split()
    assert words == [str(sandbox.pool.base_uid), str(sandbox.companion_pool.base_uid)]
    assert wall_ms < LIMITS.wall_time_ms / 2
    assert os.listdir(runs_dir) == []


def test_a_companion_box_needs_a_companion_pool(sandbox: Sandbox) -> None:
    async def scenario() -> None:
        async with sandbox.box({}, companion=True):
            pass

    with pytest.raises(ValueError, match="no companion pool"):
        asyncio.run(scenario())


def test_a_resident_announcing_a_frame_past_the_cap_is_killed_unread(
    sandbox: Sandbox, runs_dir: Path
) -> None:
    """1. A resident answers with a frame header announcing 1 GB (and starts writing it).
    2. The exchange allows 1 MB. Expected: ResidentFailed for the output limit at once, nothing
    of the frame read, the resident's box removed."""
    server = (
        "import struct, sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(struct.pack('>i', 2**30)); out.flush()\n"
        "while True: out.write(b'x' * 65536)\n"
    )

    async def scenario() -> ResidentFailed:
        resident = await sandbox.start_resident(
            (PYTHON, "server.py"), files={"server.py": server.encode()}, limits=LIMITS, env={}
        )
        try:
            with pytest.raises(ResidentFailed) as failed:
                await resident.exchange(None, cpu_time_ms=5000, wall_time_ms=5000,
                                        memory_kb=LIMITS.memory_kb,
                                        max_response_bytes=2**20)  # fmt: skip
            assert not resident.alive
        finally:
            await resident.stop()
            await sandbox.close()
        return failed.value

    failure = asyncio.run(scenario())
    assert failure.reason == KillReason.OUTPUT_LIMIT
    assert "1073741824 bytes" in str(failure)
    assert os.listdir(runs_dir) == []


def test_a_box_gets_the_uid_of_a_runner_spawned_while_it_waited(
    runs_dir: Path, tmp_path: Path
) -> None:
    """1. A sandbox with one run uid. 2. A runner (a process that only waits) is being spawned
    in that uid when a box asks for one. Expected: once the runner is spawned, the box ends it
    and gets the uid after its cleanup, within seconds, not never; the runner's owner is told
    it was lost; the box's run works; nothing is left in the runs directory."""
    sandbox = open_sandbox(runs_dir, tmp_path / "helper", pool_size=1)
    waiter = (PYTHON, "-c", "import time; time.sleep(60)")

    async def scenario() -> tuple[int, int]:
        lost: list[object] = []
        starting = asyncio.create_task(
            sandbox.start_runner(lambda tmp: waiter, limits=LIMITS, env={}, on_lost=lost.append)
        )
        # One turn of the loop: the runner takes the uid and awaits its spawn.
        await asyncio.sleep(0)
        assert sandbox.pool is not None and sandbox.pool.free == 0

        async def run_in_a_box() -> int:
            async with sandbox.box({}) as box:
                outcome = await box.run((PYTHON, "-c", "print('ok')"), limits=LIMITS)
                return outcome.exit_code or 0

        exit_code = await asyncio.wait_for(run_in_a_box(), timeout=30)
        assert await starting is not None
        await sandbox.close()
        return exit_code, len(lost)

    assert asyncio.run(scenario()) == (0, 1)
    assert os.listdir(runs_dir) == []


def test_a_uids_runs_take_turns_in_one_network_namespace(runs_dir: Path, tmp_path: Path) -> None:
    """1. A sandbox with two uids. 2. Twice, two boxes at once (so one of each uid) each print
    their uid and network namespace. Expected, with the namespaces layer: each uid's two runs in
    one namespace, the two uids in two, neither the test process's; without it, every run in
    the test process's namespace."""
    sandbox = open_sandbox(runs_dir, tmp_path / "helper", pool_size=2)
    code = "import os; print(os.getuid(), os.readlink('/proc/self/ns/net'))"

    async def scenario() -> list[list[str]]:
        seen = []
        for _ in range(2):
            async with sandbox.box({}) as first, sandbox.box({}) as second:
                for box in (first, second):
                    outcome = await box.run((PYTHON, "-c", code), limits=LIMITS)
                    seen.append(outcome.stdout.decode().split())
        await sandbox.close()
        return seen

    seen = asyncio.run(scenario())
    namespaces_of: dict[str, set[str]] = {}
    for uid, namespace in seen:
        namespaces_of.setdefault(uid, set()).add(namespace)
    own = os.readlink("/proc/self/ns/net")
    assert len(namespaces_of) == 2, seen
    if sandbox.isolation.namespaces:
        assert all(len(found) == 1 for found in namespaces_of.values()), seen
        assert len(set.union(*namespaces_of.values(), {own})) == 3, seen
    else:
        assert set.union(*namespaces_of.values()) == {own}, seen
