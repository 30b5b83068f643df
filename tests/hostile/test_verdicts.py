"""Verdicts no program can forge: a limit status only with evidence that the limit was reached,
the process limit named as what it is, and a limit kill with no exit code and no signal."""

from tests.hostile.support import QUICK, Hostile, assert_contained


def test_a_printed_out_of_memory_message_is_not_a_memory_limit(hostile: Hostile) -> None:
    """1. A Python program prints a MemoryError traceback on stderr and exits 1 at a few MB.
    2. A Node program prints V8's heap-out-of-memory line and aborts. 3. A Java program prints
    the JVM's "Terminating due to java.lang.OutOfMemoryError" on stdout and exits 3.
    Expected: runtime_error each time (the message alone is no evidence: no memory was used)."""
    for language, case in (
        ("python", "fake_memory_error"),
        ("node", "fake_heap_out_of_memory"),
        ("java", "FakeOutOfMemory"),
    ):
        # Room for a JVM's start on a loaded machine: the verdict, not the time, is the point.
        result = hostile.run(language, case, limits={"time_ms": 5000, "wall_time_ms": 10000})
        assert result["status"] == "runtime_error", (language, result)
        assert result["memory_kb"] < 128 * 1024, result
    assert_contained(hostile)


def test_a_self_sent_sigxcpu_is_not_a_time_limit(hostile: Hostile) -> None:
    """1. A program sends itself SIGXCPU after a few ms of CPU. Expected: runtime_error with
    the signal named (RLIMIT_CPU's signal, sent by the program itself, is no evidence)."""
    result = hostile.run("python", "self_sigxcpu", limits=QUICK)
    assert (result["status"], result["signal"]) == ("runtime_error", "SIGXCPU"), result
    assert_contained(hostile)


def test_the_process_limit_is_not_a_memory_limit(hostile: Hostile) -> None:
    """1. A Java program starts threads under a process limit of 40 until the JVM fails with
    "OutOfMemoryError: unable to create native thread" and terminates. Expected:
    runtime_error, the message naming the process limit, at well under the memory limit."""
    limits = {"processes": 40, "time_ms": 5000, "wall_time_ms": 10000}
    result = hostile.run("java", "ThreadsPastTheLimit", limits=limits)
    assert result["status"] == "runtime_error", result
    assert result["message"] == "reached the process limit (40 processes and threads)", result
    assert "unable to create native thread" in result["stderr"] and result["stdout"] == ""
    assert_contained(hostile, language="java")


def test_a_real_out_of_memory_is_a_memory_limit_with_the_jvm_message_on_stderr(
    hostile: Hostile,
) -> None:
    """1. A Java program fills its heap until the JVM terminates with OutOfMemoryError.
    Expected: memory_limit_exceeded; the JVM's message on stderr, none on stdout."""
    limits = {"memory_mb": 128, "time_ms": 5000, "wall_time_ms": 10000}
    result = hostile.run("java", "MemoryHog", limits=limits)
    assert result["status"] == "memory_limit_exceeded", result
    assert "OutOfMemoryError" not in result["stdout"], result
    assert_contained(hostile, language="java")


def test_a_run_over_its_memory_limit_that_exits_at_once_is_a_memory_limit(
    hostile: Hostile,
) -> None:
    """1. A Python program takes 48 MB at once under a 32 MB limit, prints and exits 0, within
    a few milliseconds: between two of the supervisor's samples. Expected (five times, since
    whether a sample catches it is a matter of timing): memory_limit_exceeded every time, its
    reported peak over the limit (a limit that holds only for slow programs does not hold)."""
    for _ in range(5):
        result = hostile.run("python", "hostile_quick_hog", limits={"memory_mb": 32})
        assert result["status"] == "memory_limit_exceeded", result
        assert result["memory_kb"] > 32 * 1024, result
    assert_contained(hostile)


def test_a_limit_kill_reports_no_exit_code_and_no_signal(hostile: Hostile) -> None:
    """1. A program spins past its CPU limit. Expected: time_limit_exceeded, exit_code and
    signal null (the status says why; the SIGKILL was the service's), a message naming the
    limit."""
    result = hostile.run("python", "hostile_cpu_spin", args=["1"], limits=QUICK)
    assert result["status"] == "time_limit_exceeded", result
    assert (result["exit_code"], result["signal"]) == (None, None), result
    assert result["message"] in (
        "used more than 1000 ms of CPU time",
        "ran longer than 2000 ms",
    ), result
    assert_contained(hostile)
