"""The HTTP contract: endpoints, and a clear JSON error (never a 500) for every bad request."""

import concurrent.futures
import contextlib
import json
import re
import socket
import time
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Service, processes_of_uids, settled, start_service, wait_for

HELLO = {"language": "python", "code": "print('hi')"}


def error_of(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


def test_healthz_and_readyz(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_runtimes_lists_installed_languages(service: Service) -> None:
    runtimes = {r["language"]: r for r in service.client.get("/runtimes").json()}
    assert set(runtimes) == {"python", "node", "java"}
    assert "py" in runtimes["python"]["aliases"] and "js" in runtimes["node"]["aliases"]
    for runtime in runtimes.values():
        assert runtime["version"][0].isdigit()


def test_response_has_every_field(service: Service) -> None:
    result = service.execute(HELLO)
    assert set(result) == {
        "status", "message", "stdout", "stderr", "exit_code", "signal", "time_ms",
        "wall_time_ms", "memory_kb", "truncated", "invalid_utf8", "compile", "language",
        "version",
    }  # fmt: skip
    assert result["truncated"] == {"stdout": False, "stderr": False}
    assert result["compile"] is None


@pytest.mark.parametrize("alias", ["python3", "py", "PY", "javascript", "js"])
def test_aliases(service: Service, alias: str) -> None:
    code = "print('x')" if "py" in alias.lower() else "console.log('x')"
    result = service.execute({"language": alias, "code": code})
    assert result["status"] == "ok" and result["stdout"] == "x\n"


def test_version_prefix_matches(service: Service) -> None:
    installed = service.execute(HELLO)["version"]
    major_minor = ".".join(installed.split(".")[:2])
    assert service.execute({**HELLO, "version": major_minor})["status"] == "ok"


def test_wrong_version_names_the_installed_one(service: Service) -> None:
    installed = service.execute(HELLO)["version"]
    error = error_of(service.client.post("/execute", json={**HELLO, "version": "2.7"}), 400)
    assert error["code"] == "version_unavailable"
    assert installed in error["message"]


def test_unknown_language(service: Service) -> None:
    error = error_of(service.client.post("/execute", json={"language": "cobol", "code": "x"}), 400)
    assert error["code"] == "unknown_language"
    assert "python" in error["message"]


def test_oversized_body_is_413(service: Service) -> None:
    body = {**HELLO, "stdin": "x" * (4096 * 1024 + 1)}
    error = error_of(service.client.post("/execute", json=body), 413)
    assert error["code"] == "body_too_large"


def test_oversized_body_without_content_length_is_413(service: Service) -> None:
    def chunks():
        yield b'{"language": "python", "code": "print(1)", "stdin": "'
        for _ in range(5 * 1024):
            yield b"x" * 1024
        yield b'"}'

    response = service.client.post(
        "/execute", content=chunks(), headers={"content-type": "application/json"}
    )
    assert error_of(response, 413)["code"] == "body_too_large"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"not json",
        b'{"language": "python", "code": "x"',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "open-brace", "text", "unterminated", "deeply-nested"],
)
def test_malformed_json_is_400(service: Service, raw: bytes) -> None:
    response = service.client.post(
        "/execute", content=raw, headers={"content-type": "application/json"}
    )
    assert error_of(response, 400)["code"] == "invalid_json"


def test_non_utf8_body_is_400(service: Service) -> None:
    raw = b'{"language": "python", "code": "print(\xff)"}'
    response = service.client.post(
        "/execute", content=raw, headers={"content-type": "application/json"}
    )
    assert error_of(response, 400)["code"] == "invalid_json"


def test_other_content_type_is_415(service: Service) -> None:
    response = service.client.post(
        "/execute", content=json.dumps(HELLO), headers={"content-type": "text/plain"}
    )
    assert error_of(response, 415)["code"] == "unsupported_media_type"


def test_missing_content_type_is_accepted(service: Service) -> None:
    response = service.client.post("/execute", content=json.dumps(HELLO).encode())
    assert response.status_code == 200 and response.json()["stdout"] == "hi\n"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"language": "python"}, "exactly one of 'code'"),
        (
            {"language": "python", "code": "x", "files": [{"name": "a.py", "content": "x"}]},
            "exactly one",
        ),
        ({"language": "python", "files": []}, "at least one file"),
        ({"language": "python", "files": [{"name": "../evil.py", "content": "x"}]}, "'/'"),
        ({"language": "python", "files": [{"name": "a/b.py", "content": "x"}]}, "'/'"),
        ({"language": "python", "files": [{"name": "..", "content": "x"}]}, "'..'"),
        ({"language": "python", "files": [{"name": "a\u0000.py", "content": "x"}]}, "NUL"),
        ({"language": "python", "files": [{"name": "x" * 300, "content": "x"}]}, "255 bytes"),
        (
            {
                "language": "python",
                "files": [{"name": "a.py", "content": "1"}, {"name": "a.py", "content": "2"}],
            },
            "unique",
        ),
        (
            {"language": "python", "files": [{"name": "a.py", "content": "x"}], "main": "b.py"},
            "'main'",
        ),
        (
            {
                "language": "python",
                "files": [{"name": "a.py", "content": "@@", "encoding": "base64"}],
            },
            "base64",
        ),
        ({"language": "python", "code": "x", "limits": {"memory_kb": 5}}, "limits.memory_kb"),
        ({"language": "python", "code": "x", "limits": {"time_ms": -1}}, "limits.time_ms"),
        ({"language": "python", "code": "x", "limits": {"time_ms": "soon"}}, "limits.time_ms"),
        ({"language": "python", "code": "x", "limits": {"time_ms": "100"}}, "not a string"),
        ({"language": "python", "code": "x", "limits": {"time_ms": True}}, "or a boolean"),
        ({"language": "python", "code": "x", "surprise": 1}, "surprise"),
        ({"language": "python", "version": "", "code": "x"}, "version"),
        (
            {
                "language": "java",
                "files": [
                    {"name": "Main.java", "content": "class Main {}"},
                    {"name": "data.txt", "content": "1"},
                ],
                "main": "data.txt",
            },
            "is not a .java file",
        ),
        ({"language": "python", "code": 5}, "code"),
        ({"language": "python", "code": "x", "args": ["a\u0000b"]}, "NUL"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_submission_is_422(service: Service, body: dict, fragment: str) -> None:
    error = error_of(service.client.post("/execute", json=body), 422)
    assert fragment in error["message"], error


def test_limit_above_maximum_names_the_maximum(service: Service) -> None:
    body = {**HELLO, "limits": {"wall_time_ms": 10**9}}
    error = error_of(service.client.post("/execute", json=body), 422)
    assert error["code"] == "limit_too_high"
    assert error["maximum"] == 60000 and "60000" in error["message"]


def test_zero_output_limit_is_a_value_not_unset(service: Service) -> None:
    result = service.execute({**HELLO, "limits": {"output_kb": 0}})
    assert result["status"] == "output_limit_exceeded"
    assert result["stdout"] == "" and result["truncated"]["stdout"] is True


def test_base64_files_and_main(service: Service) -> None:
    import base64

    files = [
        {
            "name": "data.bin",
            "content": base64.b64encode(b"\x00\x01\x02").decode(),
            "encoding": "base64",
        },
        {"name": "run.py", "content": "print(open('data.bin','rb').read())"},
    ]
    result = service.execute({"language": "python", "files": files, "main": "run.py"})
    assert result["status"] == "ok" and result["stdout"] == "b'\\x00\\x01\\x02'\n"


def test_unknown_route_and_method_are_json(service: Service) -> None:
    assert error_of(service.client.get("/nope"), 404)["code"] == "not_found"
    assert error_of(service.client.get("/execute"), 405)["code"] == "method_not_allowed"


def test_info_lists_layers_and_limits(service: Service) -> None:
    info = service.client.get("/info").json()
    layers = {layer["name"]: layer for layer in info["isolation"]["layers"]}
    assert set(layers) == {"uid_drop", "seccomp", "landlock", "namespaces", "scheduling"}
    assert all(layer["detail"] for layer in layers.values())
    assert info["isolation"]["mode"] == "auto" and info["isolation"]["warning"] is None
    assert info["limits"]["memory_mb"] == {"default": 256, "max": 1024}


# --- submissions whose client leaves, and repeated submissions (issue 12) --------------------

DISCONNECT_SLEEP = {
    "language": "python",
    "code": "import time\ntime.sleep(50)",
    "limits": {"wall_time_ms": 60000, "time_ms": 20000},
}


def open_request(service: Service, body: dict) -> socket.socket:
    """Send POST /execute on a raw connection and leave the answer unread."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", service.port))
    sock.sendall(
        b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


@pytest.fixture(scope="module")
def one_slot_service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    env = {"EXECUTOR_MAX_CONCURRENCY": "1", "EXECUTOR_LANGUAGES": "python"}
    with start_service(tmp_path_factory.mktemp("one-slot"), env) as svc:
        yield svc


def test_a_client_that_leaves_mid_run_has_its_processes_killed_at_once(
    one_slot_service: Service,
) -> None:
    """1. A client submits a program that sleeps 50 s and, once it runs, closes its socket.
    Expected: every process of the run is gone within a second (measured: printed), the uid
    and directory released (no cleanup under way), logged as a disconnect while running."""
    service = one_slot_service
    pool = service.info()["isolation"]["uid_pool"]
    sock = open_request(service, DISCONNECT_SLEEP)
    wait_for(
        lambda: processes_of_uids(pool["base"], pool["size"]),
        timeout_s=30,
        what="the program to run",
        interval_s=0.002,
    )
    closed = time.monotonic()
    sock.close()
    wait_for(
        lambda: not processes_of_uids(pool["base"], pool["size"]),
        timeout_s=1,
        what="the run's processes to be killed",
        interval_s=0.001,
    )
    print(f"processes gone {1000 * (time.monotonic() - closed):.0f} ms after the close")
    # The slot is released once the cancelled run has unwound (its processes go first).
    wait_for(
        lambda: service.client.get("/readyz").json()["running"] == 0,
        timeout_s=5,
        what="the run slot to be released",
    )
    settled(service)
    wait_for(lambda: "disconnected=running" in service.log(), timeout_s=5, what="the log line")


def test_a_client_that_leaves_while_queued_is_taken_out_of_the_queue(
    one_slot_service: Service,
) -> None:
    """1. One client's program holds the only slot (2 s). 2. A second client submits (queued)
    and closes its socket. Expected: the queue is empty at once, the first answer is normal,
    and the second program never ran (logged as a disconnect while queued)."""
    service = one_slot_service
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(
            service.execute,
            {"language": "python", "code": "import time\ntime.sleep(2)\nprint('first')"},
        )
        wait_for(
            lambda: service.client.get("/readyz").json()["running"] == 1,
            timeout_s=30,
            what="the first program to run",
        )
        sock = open_request(service, {"language": "python", "code": "print('never')"})
        wait_for(
            lambda: service.client.get("/readyz").json()["queued"] == 1,
            timeout_s=30,
            what="the second to wait in the queue",
        )
        sock.close()
        wait_for(
            lambda: service.client.get("/readyz").json()["queued"] == 0,
            timeout_s=1,
            what="the queue to empty",
            interval_s=0.002,
        )
        assert first.result()["stdout"] == "first\n"
    wait_for(lambda: "disconnected=queued" in service.log(), timeout_s=5, what="the log line")


RANDOM = {
    "language": "python",
    "code": "import os, time\ntime.sleep(0.5)\nprint(os.urandom(8).hex())",
}


def test_a_repeated_submission_id_gets_the_first_answer_again(service: Service) -> None:
    """1. Submit a program printing random bytes with a submission_id, twice, then with the
    same id as an Idempotency-Key header. Expected: the same answer all three times, the
    repeats marked Idempotent-Replayed: true."""
    body = {**RANDOM, "submission_id": f"test-{uuid.uuid4()}"}
    first = service.client.post("/execute", json=body)
    again = service.client.post("/execute", json=body)
    header = service.client.post(
        "/execute", json=RANDOM, headers={"Idempotency-Key": body["submission_id"]}
    )
    assert first.status_code == again.status_code == header.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == header.headers["idempotent-replayed"] == "true"
    assert first.json() == again.json() == header.json()


def test_concurrent_repeats_wait_for_the_first_and_share_its_answer(service: Service) -> None:
    key = f"test-{uuid.uuid4()}"
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda _: service.client.post(
                    "/execute", json=RANDOM, headers={"Idempotency-Key": key}
                ),
                range(3),
            )
        )
    assert len({a.text for a in answers}) == 1
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true", "true"]


def test_a_submission_id_reused_for_another_request_is_409(service: Service) -> None:
    key = f"test-{uuid.uuid4()}"
    assert service.client.post("/execute", json={**HELLO, "submission_id": key}).status_code == 200
    error = error_of(
        service.client.post("/execute", json={**HELLO, "code": "print(2)", "submission_id": key}),
        409,
    )
    assert error["code"] == "idempotency_conflict"
    mismatch = service.client.post(
        "/execute", json={**HELLO, "submission_id": key}, headers={"Idempotency-Key": "other"}
    )
    assert error_of(mismatch, 422)["code"] == "invalid_submission"


def java_class(name: str, text: str, methods: int) -> str:
    """A Java program printing ``text``, made slow to compile by ``methods`` methods."""
    body = "\n".join(
        f"    static int m{i}(int x) {{ return x * {i} + m{i // 2}(x - 1); }}"
        for i in range(1, methods)
    )
    return (
        f"public class {name} {{\n    static int m0(int x) {{ return x; }}\n{body}\n"
        f'    public static void main(String[] a) {{ System.out.println("{text}"); }}\n}}\n'
    )


def cpu_ticks_of_uid(uid: int) -> int:
    """CPU time of the processes of ``uid``, in clock ticks."""
    total = 0
    for entry in processes_of_uids(uid, 1):
        pid = entry.split()[0]
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def test_a_compile_whose_client_left_does_not_answer_the_next_one(service: Service) -> None:
    """1. A client submits a Java program that takes the warm compiler a while, and closes its
    socket while it compiles. 2. Another Java program is submitted.
    Expected: the second prints its own text (the first's compile answer is read and dropped,
    never handed to the next submission); the warm compiler stays up."""
    pool = service.info()["isolation"]["uid_pool"]
    compiler_uid = pool["base"] + pool["size"]  # the warm compiler's uid follows the pool
    before = cpu_ticks_of_uid(compiler_uid)
    slow = {"language": "java", "code": java_class("Slow", "first", 3000)}
    sock = open_request(service, slow)
    wait_for(
        lambda: cpu_ticks_of_uid(compiler_uid) > before + 20,
        timeout_s=30,
        what="the warm compiler to be compiling",
        interval_s=0.005,
    )
    sock.close()
    second = service.execute({"language": "java", "code": java_class("Quick", "second", 2)})
    assert (second["status"], second["stdout"]) == ("ok", "second\n"), second
    assert service.warm_compilers_ready()


def samples(service: Service) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    text = service.client.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_counted(found: dict[tuple[str, tuple], float], route: str, status: int) -> float:
    labels = (("method", "POST"), ("route", route), ("status", str(status)))
    return found.get(("executor_http_requests_total", labels), 0.0)


def disconnects_counted(found: dict[tuple[str, tuple], float], stage: str) -> float:
    return found.get(("executor_client_disconnects_total", (("stage", stage),)), 0.0)


@pytest.mark.parametrize(
    ("target", "route"),
    [
        ("/execute", "/execute"),
        ("/api/v2/execute", "/api/v2/execute"),
        ("/submissions?wait=true", "/submissions"),
    ],
)
def test_a_client_that_leaves_while_sending_its_body_is_a_disconnect_not_a_500(
    service: Service, target: str, route: str
) -> None:
    """1. A raw connection sends POST ``target`` declaring a 100-byte JSON body, sends 12
    bytes of it and closes. Expected: no traceback or error in the log; the request logged
    once, at INFO, as 499 with ``disconnected=body``; /metrics counts it as a 499 and a
    disconnect (stage ``body``), never as a 500."""
    before = samples(service)
    start = len(service.log())
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(
            f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
            + b"Content-Length: 100\r\n\r\n"
            + b'{"language":'
        )
        time.sleep(0.1)  # the service is reading the body by then
    line = re.compile(rf"^\S+ \S+ (\w+) executor\.request: POST {re.escape(route)} (\d+) ", re.M)
    wait_for(lambda: line.search(service.log()[start:]), timeout_s=5, what="the request line")
    # Whatever the service logs about the request comes before the next request's line.
    service.client.get("/healthz")
    wait_for(
        lambda: "GET /healthz 200" in service.log()[start:],
        timeout_s=5,
        what="the next request's line",
    )
    logged = service.log()[start:]
    lines = [m.groups() for m in line.finditer(logged)]
    assert lines == [("INFO", "499")], logged
    assert f"POST {route} 499" in logged and "disconnected=body" in logged, logged
    assert "Traceback" not in logged and "ClientDisconnect" not in logged, logged
    assert " ERROR " not in logged, logged
    after = samples(service)
    assert requests_counted(after, route, 500) == requests_counted(before, route, 500)
    assert requests_counted(after, route, 499) == requests_counted(before, route, 499) + 1
    assert disconnects_counted(after, "body") == disconnects_counted(before, "body") + 1
