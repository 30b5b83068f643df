"""Other runs: a run cannot reach a concurrent run's files or command line, nor leave anything for
the next run, and links it plants lead the cleanup nowhere."""

import concurrent.futures
import secrets
from pathlib import Path

from tests.hostile.support import QUICK, RUN_ROOT, Hostile, assert_contained, lines
from tests.support import settled, wait_for


def beside_run_a(
    hostile: Hostile,
    case: str,
    *,
    b_args: list[str],
    a_case: str = "hostile_run_a",
    a_args: tuple[str, ...] = (),
    b_limits: dict[str, int] | None = None,
) -> tuple[dict, dict, str]:
    """Run A (``a_case``: a secret in its workspace and on its command line, then ``a_args``)
    and, while it waits, run B (``case``, with ``b_args`` and A's workspace path). Returns both
    results and the secret."""
    secret = f"a-secret-{secrets.token_hex(8)}"
    target = hostile.target()
    before = target.probe("listdir", RUN_ROOT)
    limits = {"time_ms": 5000, "wall_time_ms": 20000}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        args = [secret, *a_args]
        run_a = pool.submit(hostile.run, "python", a_case, args=args, limits=limits)
        found: list[str | None] = [None]

        def a_box() -> str | None:
            found[0] = target.probe("find_box", RUN_ROOT, before, secret)
            return found[0]

        wait_for(lambda: a_box() is not None or run_a.done(), timeout_s=15, what="run A")
        box = found[0]
        assert box is not None, run_a.result()
        try:
            limits_b = {**QUICK, **(b_limits or {})}
            result_b = hostile.run("python", case, args=[*b_args, box], limits=limits_b)
        finally:
            target.probe("write_text", f"{box}/release", "")
        result_a = run_a.result(timeout=30)
    assert result_a["status"] == "ok", result_a
    assert result_a["stdout"].splitlines()[-2:] == [
        "['a-secret.txt', 'main.py', 'release']",
        secret,
    ]
    return result_a, result_b, secret


def test_another_runs_files(hostile: Hostile) -> None:
    """1. Run A writes a secret in its workspace and waits. 2. The test finds A's workspace (as
    root) and starts run B with its path. 3. B lists the run root, A's directories, reads,
    appends, creates and renames there, and looks at every foreign process's cwd, fd and root.
    4. The test releases A. Expected: both ok; every attempt of B refused; A's files as A left
    them; A's secret nowhere in B's output."""
    _, result_b, secret = beside_run_a(hostile, "hostile_run_b", b_args=[])
    assert result_b["status"] == "ok", result_b
    assert secret not in result_b["stdout"] + result_b["stderr"]
    outcomes = lines(result_b)
    assert {"list runs", "list A root", "read A secret", "create in A box"} <= set(outcomes)
    assert all(v in ("EACCES", "EPERM") for v in outcomes.values()), result_b
    assert_contained(hostile)


def test_a_concurrent_run_finds_no_file_and_no_socket_of_another(hostile: Hostile) -> None:
    """1. Run A writes its secret into /tmp, /var/tmp, /dev/shm and /run/lock with the default
    permissions, listens on an abstract AF_UNIX socket that answers with it, and waits. 2. Run
    B, concurrently, reads those paths and connects to that socket. 3. The test releases A.
    Expected: both ok; every one of B's attempts refused (A's files are its own: umask 077, or
    out of reach: a private /tmp, or never made: Landlock; no socket at all: seccomp); A's
    secret nowhere in B's output."""
    token = secrets.token_hex(8)
    result_a, result_b, secret = beside_run_a(
        hostile, "hostile_share_b", b_args=[token], a_case="hostile_share_a", a_args=(token,)
    )
    assert result_b["status"] == "ok", result_b
    assert secret not in result_b["stdout"] + result_b["stderr"], (result_a, result_b)
    outcomes = lines(result_b)
    assert len(outcomes) == 5 and not any(v.startswith("got") for v in outcomes.values())
    assert lines(result_a)["abstract socket"] == "EPERM", result_a
    assert_contained(hostile)


def test_another_runs_command_line(hostile: Hostile) -> None:
    """1. Run A has a secret among its arguments and waits. 2. Run B prints the command line of
    every process it can see. Expected: ok, A's secret not among them: a private /proc hides
    other users' processes, and a run started from a zygote gets its arguments through a memfd,
    never on a command line."""
    _, result_b, secret = beside_run_a(hostile, "hostile_read_cmdlines", b_args=[])
    assert result_b["status"] == "ok", result_b
    assert "cmdline" in result_b["stdout"]
    assert_contained(hostile)
    assert secret not in result_b["stdout"] + result_b["stderr"]


def test_files_left_for_the_next_run(hostile: Hostile, tmp_path: Path) -> None:
    """1. A run plants files (plain and dotted) in /tmp, /var/tmp, /dev/shm, /run/lock, HOME,
    a root-owned world-writable directory (like /tmp/.X11-unix), a world-writable directory of
    its own, and System V shm, message queue and semaphore keyed by a token. 2. As many runs as
    the uid pool holds (so one reuses the planter's uid) look for them.
    Expected: every run ok; nothing found; nothing of the pool left anywhere."""
    token = secrets.token_hex(8)
    target = hostile.target()
    shared = f"/run/lock/hostile-shared-{token}"
    target.probe("make_shared_dir", shared)
    try:
        planted = hostile.run("python", "hostile_plant_files", args=[token, shared])
        assert planted["status"] == "ok", planted
        # Planted, or refused where the shared places are read-only (Landlock).
        assert f"{shared}/{token}" in planted["stdout"], planted
        settled(hostile.service)
        assert target.probe("listdir", shared) == []
        for _ in range(len(hostile.pool)):
            found = hostile.run("python", "hostile_find_files", args=[token, shared])
            assert (found["status"], found["stdout"]) == ("ok", "found: []\n"), found
        assert_contained(hostile)
    finally:
        target.probe("remove", shared)


def test_planted_symlinks_and_fifos(hostile: Hostile) -> None:
    """1. The test creates a root-only secret (0600) in /var/lib. 2. The run tries to read it and
    hard-link it, then plants links to it as main.py, stdout, Main.class, HOME/.bashrc, in
    TMPDIR and /tmp, FIFOs named fifo and stdin, and swaps its own box, HOME and TMPDIR for
    links to the secret's directory, the secret and /etc. 3. The service cleans up.
    Expected: ok; read and hard link refused; the secret's content, owner and mode unchanged,
    /var/lib and /etc intact, the secret nowhere in the output."""
    content = f"root-secret-{secrets.token_hex(8)}\n"
    target = hostile.target()
    secret = f"/var/lib/executor-test-secret-{secrets.token_hex(4)}"
    before = target.probe("plant_secret", secret, content)
    try:
        result = hostile.run("python", "hostile_symlinks", args=[secret], limits=QUICK)
        assert result["status"] == "ok", result
        outcomes = lines(result)
        assert outcomes["read secret"] == "EACCES"
        assert outcomes["hard link"] == "EPERM"
        assert outcomes["read via link"] == "EACCES"
        assert result["stdout"].endswith("planted\n")
        assert content.strip() not in result["stdout"] + result["stderr"]
        after = target.probe("file_state", secret)
        assert after == before and after["content"] == content
        assert (after["uid"], after["gid"], after["mode"]) == (0, 0, 0o600)
        places = target.probe("kinds", ["/etc/passwd", "/var/lib/dpkg"])
        assert places == {"/etc/passwd": "file", "/var/lib/dpkg": "dir"}
        assert_contained(hostile)
    finally:
        target.probe("remove", secret)


def test_files_hidden_deep_in_another_runs_directory_count_and_go(hostile: Hostile) -> None:
    """1. Run A makes a chain of seven world-writable directories in /dev/shm and waits. 2. Run
    B, concurrently, writes 40 MB at the bottom (tmpfs: memory), under a 24 MB limit, and holds
    it. 3. The test releases A. Expected: A's directories refused (Landlock: no directories in
    /dev/shm), or else B is memory_limit_exceeded (its files counted at any depth below
    others' directories); nothing of either left afterwards."""
    token = secrets.token_hex(8)
    limits = {"memory_mb": 24, "file_size_kb": 65536}
    result_a, result_b, _ = beside_run_a(
        hostile,
        "hostile_nest_b",
        b_args=[token],
        a_case="hostile_nest_a",
        a_args=(token,),
        b_limits=limits,
    )
    made = lines(result_a)["mkdir"] == "made"
    if hostile.active("landlock") and not hostile.active("namespaces"):
        assert not made, result_a
    if made and not hostile.active("namespaces"):
        assert result_b["status"] == "memory_limit_exceeded", result_b
    else:
        assert result_b["status"] == "ok", result_b
    assert_contained(hostile)
