"""Every status in each language, through the HTTP API against a real service and interpreters."""

import pytest

from tests.support import LANGUAGES, Service, leftovers, settled

# Tight limits keep the hostile cases short; wall limits leave room for a 2-core CI machine.
SPIN_LIMITS = {"time_ms": 1000, "wall_time_ms": 5000}
SLEEP_LIMITS = {"time_ms": 1000, "wall_time_ms": 1500}
FLOOD_LIMITS = {"output_kb": 64, "time_ms": 5000, "wall_time_ms": 10000}
MEMORY_LIMITS = {"memory_mb": 128, "time_ms": 5000, "wall_time_ms": 10000}
BOMB_LIMITS = {"processes": 32, "time_ms": 2000, "wall_time_ms": 3000, "memory_mb": 512}
# Time for the service to notice, kill, reap and answer, beyond a run's wall limit.
MARGIN_MS = 1500


@pytest.mark.parametrize("language", LANGUAGES)
def test_hello_world(service: Service, language: str) -> None:
    result = service.run_program(language, "hello")
    assert result["status"] == "ok", result
    assert result["stdout"] == "Hello, world!\n"
    assert result["exit_code"] == 0 and result["signal"] is None
    assert result["language"] == language and result["version"]
    assert result["memory_kb"] > 0 and result["wall_time_ms"] > 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_stdin_echo(service: Service, language: str) -> None:
    text = "line one\nline two ünïcödé\n" * 1000
    result = service.run_program(language, "echo_stdin", stdin=text)
    assert result["status"] == "ok", result
    assert result["stdout"] == text


@pytest.mark.parametrize("language", LANGUAGES)
def test_args(service: Service, language: str) -> None:
    result = service.run_program(language, "args", args=["one", "two words", "--three"])
    assert result["status"] == "ok", result
    assert result["stdout"] == "one two words --three\n"


@pytest.mark.parametrize("language", LANGUAGES)
def test_multi_file_program(service: Service, language: str) -> None:
    result = service.run_program(language, "multi")
    assert result["status"] == "ok", result
    assert result["stdout"] == "Hello, multi!\n"


@pytest.mark.parametrize("language", LANGUAGES)
def test_exit_code_3(service: Service, language: str) -> None:
    result = service.run_program(language, "exit3")
    assert result["status"] == "runtime_error", result
    assert result["exit_code"] == 3 and result["signal"] is None
    assert result["stdout"] == "leaving with 3\n"


@pytest.mark.parametrize(
    ("language", "message"),
    [("python", "ValueError: boom"), ("node", "Error: boom"), ("java", "IllegalStateException")],
)
def test_uncaught_exception(service: Service, language: str, message: str) -> None:
    result = service.run_program(language, "exception" if language != "java" else "uncaught")
    assert result["status"] == "runtime_error", result
    assert result["exit_code"] not in (0, None)
    assert message in result["stderr"]


@pytest.mark.parametrize(
    ("language", "signal"), [("python", "SIGSEGV"), ("node", "SIGABRT"), ("java", "SIGABRT")]
)
def test_crash_is_reported_with_its_signal(service: Service, language: str, signal: str) -> None:
    result = service.run_program(language, "crash")
    assert result["status"] == "runtime_error", result
    assert result["exit_code"] is None
    assert result["signal"] == signal


@pytest.mark.parametrize("language", LANGUAGES)
def test_cpu_spin_is_time_limit_exceeded(service: Service, language: str) -> None:
    result = service.run_program(language, "spin", limits=SPIN_LIMITS)
    assert result["status"] == "time_limit_exceeded", result
    assert result["time_ms"] >= SPIN_LIMITS["time_ms"]
    assert result["wall_time_ms"] <= SPIN_LIMITS["wall_time_ms"] + MARGIN_MS
    assert leftovers(service) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_sleep_is_stopped_at_the_wall_limit(service: Service, language: str) -> None:
    result = service.run_program(language, "sleep", limits=SLEEP_LIMITS)
    assert result["status"] == "time_limit_exceeded", result
    assert SLEEP_LIMITS["wall_time_ms"] <= result["wall_time_ms"]
    assert result["wall_time_ms"] <= SLEEP_LIMITS["wall_time_ms"] + MARGIN_MS
    assert result["time_ms"] < SLEEP_LIMITS["time_ms"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_output_flood_stops_at_the_cap(service: Service, language: str) -> None:
    """1. A program prints 1 KB lines forever. 2. The service keeps 64 KB, then kills it.
    Expected: output_limit_exceeded long before the 5 s CPU limit, exactly 64 KB kept."""
    result = service.run_program(language, "flood", limits=FLOOD_LIMITS)
    assert result["status"] == "output_limit_exceeded", result
    assert result["truncated"]["stdout"] is True
    assert len(result["stdout"].encode()) == FLOOD_LIMITS["output_kb"] * 1024
    assert set(result["stdout"]) <= {"x", "\n"}
    assert result["time_ms"] < FLOOD_LIMITS["time_ms"]
    assert leftovers(service) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_memory_hog_is_memory_limit_exceeded(service: Service, language: str) -> None:
    result = service.run_program(language, "memory_hog", limits=MEMORY_LIMITS)
    assert result["status"] == "memory_limit_exceeded", result
    # Enforcement samples the tree, so the peak may pass the limit by what one interval allows.
    assert result["memory_kb"] <= (MEMORY_LIMITS["memory_mb"] + 96) * 1024
    assert leftovers(service) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_fork_bomb_is_contained(service: Service, language: str) -> None:
    """1. A program forks (or spawns itself) without end, under a 32-process limit.
    2. It ends within its wall limit. 3. Nothing of it is left, and the next run is normal."""
    result = service.run_program(language, "fork_bomb", limits=BOMB_LIMITS)
    assert result["status"] in {"time_limit_exceeded", "memory_limit_exceeded", "runtime_error"}
    assert result["wall_time_ms"] <= BOMB_LIMITS["wall_time_ms"] + MARGIN_MS
    assert service.client.get("/healthz").status_code == 200
    assert leftovers(service) == []
    assert service.run_program(language, "hello")["stdout"] == "Hello, world!\n"


@pytest.mark.parametrize("language", LANGUAGES)
def test_invalid_utf8_output_is_replaced_and_flagged(service: Service, language: str) -> None:
    result = service.run_program(language, "invalid_utf8")
    assert result["status"] == "ok", result
    assert result["stdout"] == "ok \ufffd\ufffd end\n"
    assert result["invalid_utf8"] == {"stdout": True, "stderr": False}


def test_java_compile_error(service: Service) -> None:
    result = service.run_program("java", "compile_error")
    assert result["status"] == "compilation_error", result
    assert result["compile"]["status"] == "compilation_error"
    assert result["compile"]["exit_code"] == 1
    assert "incompatible types" in result["compile"]["stderr"]
    assert "CompileError.java:3" in result["compile"]["stderr"]
    assert result["stdout"] == "" and result["exit_code"] is None


def test_java_64_mb_heap_fits_a_256_mb_limit(service: Service) -> None:
    result = service.run_program("java", "heap64", limits={"memory_mb": 256})
    assert result["status"] == "ok", result
    assert result["stdout"] == "held 64 MB\n"


def test_java_cannot_use_1_gb_under_256_mb(service: Service) -> None:
    result = service.run_program(
        "java", "memory_hog", limits={"memory_mb": 256, "time_ms": 5000, "wall_time_ms": 10000}
    )
    assert result["status"] == "memory_limit_exceeded", result
    assert result["memory_kb"] < 400 * 1024


def test_java_class_name_follows_the_public_class(service: Service) -> None:
    code = (
        "public class Solution { public static void main(String[] a) { System.out.println(42); } }"
    )
    result = service.execute({"language": "java", "code": code})
    assert result["status"] == "ok", result
    assert result["stdout"] == "42\n"


def test_java_main_in_a_non_public_class(service: Service) -> None:
    code = "class Runner {\n public static void main(String[] a) { System.out.println(7); }\n}\n"
    result = service.execute({"language": "java", "code": code})
    assert result["status"] == "ok", result
    assert result["stdout"] == "7\n"


def test_concurrent_runs_do_not_see_each_others_output(service: Service) -> None:
    import concurrent.futures

    def run(i: int) -> dict:
        code = f"import time\ntime.sleep(0.2)\nprint({i})\n"
        return service.execute({"language": "python", "code": code})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    assert [r["stdout"] for r in results] == [f"{i}\n" for i in range(8)]


def test_workdir_is_fresh_and_removed(service: Service) -> None:
    code = (
        "import os\n"
        "print(sorted(os.listdir('.')))\n"
        "open('left-behind.txt', 'w').write('x')\n"
        "print(os.getcwd())\n"
    )
    first = service.execute({"language": "python", "code": code})
    second = service.execute({"language": "python", "code": code})
    assert first["stdout"].splitlines()[0] == "['main.py']"
    assert second["stdout"].splitlines()[0] == "['main.py']"
    import os

    settled(service)
    for result in (first, second):
        cwd = result["stdout"].splitlines()[1]
        assert not os.path.exists(cwd), f"{cwd} was not removed"
