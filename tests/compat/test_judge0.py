"""The Judge0 Python SDK (``judge0`` on PyPI), unchanged, against this service (the host
service and each language image): runs with and without expected_output, a batch, an
asynchronous submission polled to its end, every status a program can produce here; and, by
HTTP, the parts of Judge0's API the SDK does not use (wait=true, fields, errors, options)."""

import base64
from typing import Any

import httpx
import judge0
import pytest

from executor.compat.judge0_catalog import CATALOG, JUDGE0_VERSION
from tests.compat.conftest import Target, only

NAME_PREFIX = {"python": "Python (", "node": "JavaScript (", "java": "Java ("}
ECHO = {
    "python": "print(input())",
    "node": "console.log(require('fs').readFileSync(0, 'utf8').trim())",
    "java": "import java.util.*;\npublic class Main { public static void main(String[] a) {\n"
    "  System.out.println(new Scanner(System.in).nextLine()); } }",
}
SPIN = {
    "python": "while True: pass",
    "node": "for (;;) {}",
    "java": "public class Main { public static void main(String[] a) { for (;;) {} } }",
}
EXIT_3 = {
    "python": "import sys; sys.exit(3)",
    "node": "process.exit(3)",
    "java": "public class Main { public static void main(String[] a) { System.exit(3); } }",
}
SLEEP_THEN_PRINT = {
    "python": "import time; time.sleep(2); print('awake')",
    "node": "setTimeout(() => console.log('awake'), 2000)",
    "java": "public class Main { public static void main(String[] a) throws Exception {"
    ' Thread.sleep(2000); System.out.println("awake"); } }',
}
# Python programs ending each way a program can end here, and the Judge0 status each gets.
PYTHON_ENDINGS = {
    "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)": judge0.Status.RUNTIME_ERROR_SIGSEGV,
    "import os, signal; os.kill(os.getpid(), signal.SIGFPE)": judge0.Status.RUNTIME_ERROR_SIGFPE,
    "import os; os.abort()": judge0.Status.RUNTIME_ERROR_SIGABRT,
    "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)": judge0.Status.RUNTIME_ERROR_OTHER,
    # The output limit: Judge0 stops a run at its file-size limit (SIGXFSZ).
    "while True: print('x' * 1000)": judge0.Status.RUNTIME_ERROR_SIGXFSZ,
}
# The memory limit (64 MB here, in KB): Judge0's kernel kill, Runtime Error (Other).
GROW = "x = []\nwhile True:\n    x.append(bytearray(1 << 20))"
# Room for a Java compile at 0.5 CPU in a container.
WALL_S = 20.0


def _client(target: Target) -> judge0.Client:
    return judge0.Client(target.url, retry_strategy=judge0.MaxWaitTime(120))


def _language_id(client: judge0.Client, language: str) -> int:
    (found,) = [lang.id for lang in client.languages if lang.name.startswith(NAME_PREFIX[language])]
    return found


def _run(target: Target, language: str, source: str, **fields: Any) -> judge0.Submission:
    client = _client(target)
    fields.setdefault("wall_time_limit", WALL_S)
    result = judge0.run(
        client=client, source_code=source, language=_language_id(client, language), **fields
    )
    assert isinstance(result, judge0.Submission)
    return result


def test_the_client_starts_and_finds_a_judge0_version_whose_ids_are_listed(
    compat_service: Target,
) -> None:
    client = _client(compat_service)
    assert client.version == JUDGE0_VERSION
    ids = {e.language_id for entries in CATALOG.values() for e in entries}
    assert {lang.id for lang in client.languages} <= ids
    assert len(client.languages) == len(compat_service.languages)
    assert client.config.max_submission_batch_size == 20
    statuses = client.get_statuses()
    assert [s["id"] for s in statuses] == list(range(1, 15))
    assert statuses[3] == {"id": 4, "description": "Wrong Answer"}


def test_a_run_without_expected_output_is_accepted_with_its_output(
    compat_service: Target, language: str
) -> None:
    result = _run(compat_service, language, ECHO[language], stdin="héllo")
    assert result.status == judge0.Status.ACCEPTED, result
    assert result.stdout == "héllo\n"
    assert result.time is not None and result.memory and result.memory > 0
    assert result.finished_at is not None and result.exit_code == 0


def test_expected_output_is_compared_as_judge0_compares_it(
    compat_service: Target, language: str
) -> None:
    accepted = _run(compat_service, language, ECHO[language], stdin="42", expected_output="42 \n\n")
    assert accepted.status == judge0.Status.ACCEPTED, accepted
    wrong = _run(compat_service, language, ECHO[language], stdin="42", expected_output="43")
    assert wrong.status == judge0.Status.WRONG_ANSWER, wrong
    assert wrong.stdout == "42\n"


def test_a_batch_runs_each_test_case(compat_service: Target, language: str) -> None:
    """1. One program, three test cases: the SDK sends one POST /submissions/batch and polls
    GET /submissions/batch. Expected: each verdict in order."""
    client = _client(compat_service)
    results = judge0.run(
        client=client,
        source_code=ECHO[language],
        language=_language_id(client, language),
        wall_time_limit=WALL_S,
        test_cases=[("1", "1"), ("2", "3"), ("three", "three")],
    )
    assert isinstance(results, list)
    assert [r.status for r in results] == [
        judge0.Status.ACCEPTED,
        judge0.Status.WRONG_ANSWER,
        judge0.Status.ACCEPTED,
    ]
    assert len({r.token for r in results}) == 3


def test_an_asynchronous_submission_is_polled_to_its_end(
    compat_service: Target, language: str
) -> None:
    """1. async_run a program that sleeps 2 s, then poll it at once.
    Expected: In Queue or Processing while it runs; Accepted with its output once it ends."""
    client = _client(compat_service)
    submission = judge0.async_run(
        client=client,
        source_code=SLEEP_THEN_PRINT[language],
        language=_language_id(client, language),
        wall_time_limit=WALL_S,
    )
    assert isinstance(submission, judge0.Submission) and submission.token is not None
    client.get_submission(submission)
    assert submission.status in (judge0.Status.IN_QUEUE, judge0.Status.PROCESSING)
    judge0.wait(client=client, submissions=submission)
    assert submission.status == judge0.Status.ACCEPTED, submission
    assert submission.stdout == "awake\n"


def test_a_time_limit_and_a_non_zero_exit(compat_service: Target, language: str) -> None:
    spin = _run(compat_service, language, SPIN[language], cpu_time_limit=1)
    assert spin.status == judge0.Status.TIME_LIMIT_EXCEEDED, spin
    assert spin.exit_signal == 9 and spin.message
    nzec = _run(compat_service, language, EXIT_3[language])
    assert nzec.status == judge0.Status.RUNTIME_ERROR_NZEC, nzec
    assert nzec.exit_code == 3
    # Judge0 encodes message with base64_encoded=true, and the SDK leaves it encoded.
    assert base64.b64decode(nzec.message or "") == b"Exited with error status 3"


@only("java")
def test_a_compile_error_has_its_compile_output(compat_service: Target, language: str) -> None:
    result = _run(compat_service, language, "public class Main { int x = }")
    assert result.status == judge0.Status.COMPILATION_ERROR, result
    assert "error" in (result.compile_output or "")
    assert result.stdout is None and result.time is None
    assert result.message is None, result  # the compiler's words are in compile_output


@only("python")
@pytest.mark.parametrize(("source", "status"), list(PYTHON_ENDINGS.items()))
def test_each_way_a_program_ends_has_its_judge0_status(
    compat_service: Target, language: str, source: str, status: judge0.Status
) -> None:
    result = _run(compat_service, language, source)
    assert result.status == status, result


@only("python")
def test_the_memory_limit_is_runtime_error_other_and_says_so(
    compat_service: Target, language: str
) -> None:
    result = _run(compat_service, language, GROW, memory_limit=65536)
    assert result.status == judge0.Status.RUNTIME_ERROR_OTHER, result
    assert b"memory" in base64.b64decode(result.message or "") and result.exit_signal == 9


def _post(target: Target, body: dict[str, Any], query: str = "") -> httpx.Response:
    return httpx.post(f"{target.url}/submissions{query}", json=body, timeout=120)


def test_wait_true_fields_base64_and_errors_over_http(
    compat_service: Target, language: str
) -> None:
    client = _client(compat_service)
    language_id = _language_id(client, language)
    body = {
        "language_id": language_id,
        "source_code": ECHO[language],
        "stdin": "plain",
        "wall_time_limit": WALL_S,
    }
    answer = _post(compat_service, body, "?wait=true&fields=stdout,status,language,time")
    assert answer.status_code == 201, answer.text
    shown = answer.json()
    assert set(shown) == {"stdout", "status", "language", "time"}
    assert shown["stdout"] == "plain\n"
    assert shown["status"] == {"id": 3, "description": "Accepted"}
    assert shown["language"]["id"] == language_id
    encoded = {
        **body,
        "source_code": base64.b64encode(ECHO[language].encode()).decode(),
        "stdin": base64.b64encode(b"coded").decode(),
    }
    answer = _post(compat_service, encoded, "?wait=true&base64_encoded=true")
    assert base64.b64decode(answer.json()["stdout"]) == b"coded\n"
    token = answer.json()["token"]
    again = httpx.get(f"{compat_service.url}/submissions/{token}?fields=stdout,token")
    assert again.json() == {"stdout": "coded\n", "token": token}
    missing = httpx.get(f"{compat_service.url}/submissions/not-a-token")
    assert missing.status_code == 404
    bad_fields = httpx.get(f"{compat_service.url}/submissions/{token}?fields=stdout,nope")
    assert (bad_fields.status_code, bad_fields.json()) == (400, {"error": "invalid fields: [nope]"})


def test_options_this_service_does_not_offer_are_refused_as_judge0_refuses_them(
    compat_service: Target,
) -> None:
    language_id = _language_id(_client(compat_service), compat_service.languages[0])
    base = {"language_id": language_id, "source_code": "x"}
    for extra, error in (
        ({"enable_network": True}, {"enable_network": ["enabling network is not allowed"]}),
        (
            {"callback_url": "http://127.0.0.1:1/"},
            {"callback_url": ["setting callback is not allowed"]},
        ),
        (
            {"compiler_options": "-O2"},
            {"compiler_options": ["setting compiler options is not allowed"]},
        ),
        (
            {"redirect_stderr_to_stdout": True},
            {"redirect_stderr_to_stdout": ["this option cannot be enabled"]},
        ),
        ({"language_id": 1}, {"language_id": ["language with id 1 doesn't exist"]}),
        ({"source_code": ""}, {"source_code": ["can't be blank"]}),
        ({"cpu_time_limit": 1000}, {"cpu_time_limit": ["must be less than or equal to 20.0"]}),
    ):
        answer = _post(compat_service, {**base, **extra})
        assert (answer.status_code, answer.json()) == (422, error)


@only("python")
def test_command_line_arguments_are_split_as_bash_splits_them(
    compat_service: Target, language: str
) -> None:
    result = _run(
        compat_service,
        language,
        "import sys; print(sys.argv[1:])",
        command_line_arguments="a 'b c' \"d\" $HOME;",
    )
    assert result.stdout == "['a', 'b c', 'd', 'HOME']\n", result
