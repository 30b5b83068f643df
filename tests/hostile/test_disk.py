"""Disk, files and descriptors: the file-size and descriptor limits hold everywhere a run can
write, deep trees are removed, and stdin cannot be written."""

import concurrent.futures
import statistics

from tests.hostile.support import (
    QUICK,
    Hostile,
    assert_contained,
    health_latencies_while,
    lines,
)


def read_only_shared_places(hostile: Hostile) -> tuple[str, ...]:
    """The shared places a run may not write in: under Landlock all but /dev/shm, and with a
    mount namespace (private /tmp, /var/tmp and /dev/shm) /run/lock alone."""
    if not hostile.layer("landlock")["active"]:
        return ()
    if hostile.layer("namespaces")["active"]:
        return ("/run/lock",)
    return ("/tmp", "/var/tmp", "/run/lock")


def test_disk_fill(hostile: Hostile) -> None:
    """1. Under a 256 KB file-size limit, write past it in the workspace, HOME, TMPDIR, /tmp,
    /var/tmp, /dev/shm and /run/lock; then leave eight files at the limit in each.
    Expected: ok, every place refused at 256 KB with EFBIG, or at once (EACCES) where Landlock
    keeps the shared places but /dev/shm read-only; every file removed afterwards."""
    limits = {"file_size_kb": 256, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run("python", "hostile_disk_fill", limits=limits)
    assert result["status"] == "ok", result
    outcomes = lines(result)
    assert set(outcomes) == {"workspace", "HOME", "TMPDIR", "/tmp", "/var/tmp", "/dev/shm",
                             "/run/lock"}  # fmt: skip
    read_only = read_only_shared_places(hostile)
    for place, outcome in outcomes.items():
        expected = "EACCES at 0 KB" if place in read_only else "EFBIG at 256 KB"
        assert outcome == expected, (place, result)
    assert_contained(hostile)


def test_deep_directory_tree(hostile: Hostile) -> None:
    """1. Nest 1500 directories (deeper than Python's recursion limit) in the workspace, /tmp,
    /var/tmp and /dev/shm, with a file at the bottom of each. 2. The service removes them.
    Expected: ok (not a 500 from the cleanup), nothing of the trees left; where Landlock keeps
    the shared places read-only (and /dev/shm to regular files), the directories there are
    refused at once (EACCES)."""
    args = ["1500", ".", "/tmp", "/var/tmp", "/dev/shm"]
    # 6,000 mkdir calls take a few hundred ms of system time; leave room on a loaded machine,
    # and for the 6,000 directories under the file count.
    roomy = {"time_ms": 5000, "wall_time_ms": 10000, "disk_files": 10000}
    result = hostile.run("python", "hostile_deep_tree", args=args, limits=roomy)
    assert result["status"] == "ok", result
    no_directories = read_only_shared_places(hostile)
    if hostile.layer("landlock")["active"] and not hostile.layer("namespaces")["active"]:
        no_directories = (*no_directories, "/dev/shm")
    assert lines(result) == {
        place: "EACCES" if place in no_directories else "nested 1500 deep" for place in args[1:]
    }, result
    assert_contained(hostile)


def test_fd_exhaustion(hostile: Hostile) -> None:
    """1. Open /dev/null until refused. Expected: ok, EMFILE before 256 descriptors."""
    result = hostile.run("python", "hostile_fd_exhaustion", limits=QUICK)
    assert result["status"] == "ok", result
    words = result["stdout"].split()
    assert words[0] == "refused" and words[-1] == "EMFILE", result
    assert int(words[2]) < 256
    assert_contained(hostile)


def test_stdin_is_read_only(hostile: Hostile) -> None:
    """1. Read stdin (the service's in-memory file), then write to it, extend it to 64 KB and
    reopen it through /proc/self/fd/0 for writing. Expected: ok; the read sees the input and
    every change is refused (a sealed file is not a memory store outside the limits)."""
    result = hostile.run("python", "hostile_stdin_write", stdin="input", limits=QUICK)
    assert result["status"] == "ok", result
    outcomes = lines(result)
    assert outcomes.pop("read") == "5"
    assert all(v in ("EBADF", "EPERM", "EACCES", "EINVAL") for v in outcomes.values()), result
    assert_contained(hostile)


def test_the_disk_budget_holds_while_the_run_runs(hostile: Hostile) -> None:
    """1. Write 1,500 files of 1 MB (each under the file-size limit) in the workspace. 2. Make
    200,000 empty files. Both under the default limits (256 MB, 4,096 files). Expected:
    output_limit_exceeded each time, stopped long before the end (the budget is measured while
    the run runs), the message naming the disk limit; everything removed."""
    roomy = {"time_ms": 10000, "wall_time_ms": 20000}
    for args in (["big", "1500"], ["empty", "200000"]):
        result = hostile.run("python", "hostile_many_files", args=args, limits=roomy)
        assert result["status"] == "output_limit_exceeded", result
        assert result["message"] == "held more than 256 MB or 4096 files on disk", result
        assert "made 1500 files" not in result["stdout"], result
        assert "made 200000 files" not in result["stdout"], result
    assert_contained(hostile)


def test_files_in_dev_shm_count_against_the_disk_budget(hostile: Hostile) -> None:
    """1. Make 60,000 empty files in /dev/shm (the shared tmpfs without a mount namespace).
    Expected: output_limit_exceeded at the file count, and the service's /healthz stays fast
    meanwhile (no scan of them runs on the event loop)."""
    roomy = {"time_ms": 10000, "wall_time_ms": 20000}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        run = pool.submit(
            hostile.run, "python", "hostile_many_files", args=["empty", "60000", "/dev/shm"],
            limits=roomy,
        )  # fmt: skip
        latencies = health_latencies_while(hostile, run)
        result = run.result()
    assert result["status"] == "output_limit_exceeded", result
    assert statistics.median(latencies) < 0.25, latencies
    assert_contained(hostile)


def test_the_smallest_file_count_holds_the_sources_alone(hostile: Hostile) -> None:
    """1. disk_files 1: a one-file program that prints. 2. The same limit, a program that
    writes one file more in its directory, then prints. Expected: 1 ok (its directory's `box`
    and `tmp` are the service's, not the run's files); 2 output_limit_exceeded (its two files
    are one more than it may hold)."""
    service = hostile.target().service
    limits = {"disk_files": 1}
    result = service.execute({"language": "python", "code": "print(1)", "limits": limits})
    assert (result["status"], result["stdout"]) == ("ok", "1\n"), result
    code = "open('extra.txt', 'w').write('x')\nprint(1)"
    result = service.execute({"language": "python", "code": code, "limits": limits})
    assert result["status"] == "output_limit_exceeded", result
    assert_contained(hostile)
