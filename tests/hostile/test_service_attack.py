"""Attacking the service process: signals, ptrace and writes to its code are all refused."""

import secrets

from tests.hostile.support import QUICK, Hostile, assert_contained, hidden_or_denied, lines


def test_kill_minus_one(hostile: Hostile) -> None:
    """1. SIGKILL and SIGSTOP the service (its parent), SIGTERM PID 1. 2. Fork a child, then
    kill(-1, SIGKILL), which reaches every process the caller may signal but the caller.
    Expected: ok; each signal to the service or PID 1 refused with EPERM; the program's own
    child killed; the service alive and answering."""
    result = hostile.run("python", "hostile_kill_all", limits=QUICK)
    assert result["status"] == "ok", result
    assert lines(result) == {
        "parent SIGKILL": "EPERM",
        "parent SIGSTOP": "EPERM",
        "pid 1 SIGTERM": "EPERM",
        "own child": "SIGKILL",
    }
    assert hostile.target().alive()
    assert_contained(hostile)


def test_ptrace_the_parent(hostile: Hostile) -> None:
    """1. PTRACE_ATTACH and PTRACE_SEIZE the service and PID 1, PTRACE_TRACEME,
    process_vm_readv of the service, open its /proc/<pid>/mem.
    Expected: ok, and every attempt refused."""
    result = hostile.run("python", "hostile_ptrace_parent", limits=QUICK)
    assert result["status"] == "ok", result
    assert lines(result) == {
        "PTRACE_ATTACH parent": "EPERM",
        "PTRACE_SEIZE parent": "EPERM",
        "PTRACE_ATTACH pid 1": "EPERM",
        "PTRACE_TRACEME": "EPERM",
        "process_vm_readv parent": "EPERM",
        "parent mem": hidden_or_denied(hostile),
    }
    assert_contained(hostile)


def test_write_the_services_code(hostile: Hostile) -> None:
    """1. Append to the service's modules, the standard library's os.py, the venv's pyvenv.cfg
    and the native spawn helper, chmod and rename them; create files in its package, in the
    directory holding it (the repository on a host, site-packages in an image, where a .pth
    would run at every start) and in the run's Python's stdlib; write the run's interpreter.
    Expected: ok, every attempt refused, no file of the service carries the program's mark."""
    mark = f"HOSTILE{secrets.token_hex(6)}"
    target = hostile.target()
    spawn = target.info["isolation"]["spawn"]
    helper = spawn.removeprefix("native helper ") if spawn.startswith("native helper ") else None
    code = target.probe("service_code", helper)
    args = [code["repo"], mark, *code["targets"]]
    result = hostile.run("python", "hostile_write_code", args=args, limits=QUICK)
    assert result["status"] == "ok", result
    outcomes = lines(result)
    assert len(outcomes) == 3 * len(code["targets"]) + 4
    # ENOENT: the code lives under /tmp (a CI clone), which a run's mount namespace replaces.
    refused = ("EACCES", "EPERM", "ETXTBSY", "ENOENT")
    assert all(outcome in refused for outcome in outcomes.values()), result
    assert any(outcome != "ENOENT" for outcome in outcomes.values()), result
    assert target.probe("marked_files", code["repo"], mark) == []
    assert_contained(hostile)


def test_a_host_wide_kernel_budget_is_refused(hostile: Hostile) -> None:
    """1. Take legacy AIO events with io_setup, 1024 at a time (aio-max-nr is one budget for
    every container on the host: taking it all made AIO fail outside the container).
    Expected: ok, io_setup refused with ENOSYS at once, nothing taken."""
    result = hostile.run("python", "hostile_aio", limits=QUICK)
    assert (result["status"], result["stdout"]) == (
        "ok",
        "io_setup refused: ENOSYS\ntook 0 AIO events\n",
    ), result
    assert_contained(hostile)
