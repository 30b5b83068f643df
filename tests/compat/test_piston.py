"""The npm package piston-client, unchanged, against this service (the host service and each
language image): its runtimes, a run in each language, stdin, arguments, a compile error, a
timeout; and, by HTTP, Piston's quirks that clients rely on (a trailing slash, text/plain
bodies, unnamed files, -1 limits, semver ranges, error bodies, the memory limit's shape)."""

from typing import Any

import httpx

from tests.compat.conftest import Target, only, piston_client

HELLO = {
    "python": "print('hello from python')",
    "node": "console.log('hello from node')",
    "java": "class Main { public static void main(String[] a) {"
    ' System.out.println("hello from java"); } }',
}
ECHO_STDIN_AND_ARGS = {
    "python": "import sys\nprint(sys.stdin.read().strip(), sys.argv[1:])",
    "node": "const s = require('fs').readFileSync(0, 'utf8').trim();\n"
    "console.log(s, JSON.stringify(process.argv.slice(2)))",
    "java": "import java.util.*;\npublic class Echo { public static void main(String[] a) {\n"
    '  System.out.println(new Scanner(System.in).nextLine() + " " + Arrays.toString(a)); } }',
}
ECHOED = {
    "python": "two words ['x', 'y z']",
    "node": 'two words ["x","y z"]',
    "java": "two words [x, y z]",
}
SPIN = {
    "python": "while True: pass",
    "node": "for (;;) {}",
    "java": "public class Spin { public static void main(String[] a) { for (;;) {} } }",
}
GROW = "x = []\nwhile True:\n    x.append(bytearray(1 << 20))"
# piston-client sends the language as given, with the newest version of that exact name.
PISTON_LANGUAGE = {"python": "python", "node": "javascript", "java": "java"}
# A Java compile at 0.5 CPU (in a container) takes seconds: wall limits leave room for it.
SLOW_START_MS = 20000


def test_runtimes_lists_each_language_under_pistons_names(
    node: str, compat_service: Target
) -> None:
    runtimes = piston_client(node, compat_service.url, "runtimes")
    by_name = {r["language"]: r for r in runtimes}
    assert set(by_name) == {PISTON_LANGUAGE[lang] for lang in compat_service.languages}
    if "node" in compat_service.languages:
        assert by_name["javascript"]["runtime"] == "node"
        assert {"node", "js"} <= set(by_name["javascript"]["aliases"])
    if "python" in compat_service.languages:
        assert {"py", "python3"} <= set(by_name["python"]["aliases"])


def test_each_language_runs_through_the_client(
    node: str, compat_service: Target, language: str
) -> None:
    result = piston_client(
        node, compat_service.url, "execute", PISTON_LANGUAGE[language], HELLO[language]
    )
    run = result["run"]
    assert run["stdout"] == f"hello from {language}\n", result
    assert (run["code"], run["signal"], run["status"], run["message"]) == (0, None, None, None)
    assert run["output"] == run["stdout"]
    assert run["memory"] > 0 and run["wall_time"] > 0
    assert result["language"] == PISTON_LANGUAGE[language]
    assert ("compile" in result) == (language == "java")


def test_stdin_and_args_reach_the_program(node: str, compat_service: Target, language: str) -> None:
    result = piston_client(
        node,
        compat_service.url,
        "execute",
        PISTON_LANGUAGE[language],
        ECHO_STDIN_AND_ARGS[language],
        {"stdin": "two words", "args": ["x", "y z"], "runTimeout": SLOW_START_MS},
    )
    assert result["run"]["stdout"] == ECHOED[language] + "\n", result


@only("node")
def test_an_alias_without_a_version_gets_the_clients_default_arguments(
    node: str, compat_service: Target, language: str
) -> None:
    """piston-client sends args ["1", "2", "3"] unless told otherwise, and no version at all
    for an alias (it looks versions up by the exact language name)."""
    result = piston_client(
        node, compat_service.url, "execute", "js", "console.log(process.argv.slice(2).join(','))"
    )
    assert result["run"]["stdout"] == "1,2,3\n", result
    assert result["language"] == "javascript"


@only("java")
def test_a_compile_error_is_the_compile_stage_and_the_run_repeats_it(
    node: str, compat_service: Target, language: str
) -> None:
    result = piston_client(
        node, compat_service.url, "execute", "java", "public class Bad { void f() { int x = } }"
    )
    compile_stage = result["compile"]
    assert compile_stage["code"] == 1 and compile_stage["status"] == "RE", result
    assert "error" in compile_stage["stderr"] and compile_stage["output"]
    assert result["run"] == compile_stage


def test_a_timeout_kills_the_run_with_sigkill(
    node: str, compat_service: Target, language: str
) -> None:
    result = piston_client(
        node,
        compat_service.url,
        "execute",
        PISTON_LANGUAGE[language],
        SPIN[language],
        {"runTimeout": 1500},
    )
    run = result["run"]
    assert (run["status"], run["signal"], run["code"]) == ("TO", "SIGKILL", None), result
    assert "1500 ms" in run["message"], run


def test_a_limit_over_the_configured_one_is_pistons_400(node: str, compat_service: Target) -> None:
    language = compat_service.languages[0]
    result = piston_client(
        node,
        compat_service.url,
        "execute",
        PISTON_LANGUAGE[language],
        HELLO[language],
        {"runTimeout": 10**9},
    )
    assert result == {"message": "run_timeout cannot exceed the configured limit of 60000"}


def _execute(target: Target, body: dict[str, Any], *, path: str = "/api/v2/execute") -> Any:
    answer = httpx.post(target.url + path, json=body, timeout=120)
    return answer.status_code, answer.json()


def test_a_trailing_slash_a_text_plain_body_and_unnamed_files_are_taken(
    compat_service: Target, language: str
) -> None:
    body = {
        "language": PISTON_LANGUAGE[language],
        "version": "*",
        "files": [{"content": HELLO[language]}, {"content": "data, not code"}],
    }
    content = httpx.Request("POST", "/", json=body).content
    for path in ("/api/v2/execute", "/api/v2/execute/"):
        answer = httpx.post(
            compat_service.url + path,
            content=content,
            headers={"content-type": "text/plain;charset=UTF-8"},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["run"]["stdout"] == f"hello from {language}\n"
    assert httpx.get(compat_service.url + "/api/v2/runtimes/").status_code == 200


def test_versions_match_as_semver_ranges(compat_service: Target, language: str) -> None:
    runtimes = httpx.get(compat_service.url + "/api/v2/runtimes").json()
    name = PISTON_LANGUAGE[language]
    version = next(r["version"] for r in runtimes if r["language"] == name)
    major = int(version.split(".")[0])
    files = [{"content": HELLO[language]}]
    for wanted in ("*", version, f"{major}.x", f"^{major}", f">={major} <{major + 1}"):
        status, answer = _execute(
            compat_service, {"language": name, "version": wanted, "files": files}
        )
        assert status == 200, (wanted, answer)
        assert answer["version"] == version
    status, answer = _execute(
        compat_service, {"language": name, "version": f"{major + 1}.x", "files": files}
    )
    assert (status, answer) == (400, {"message": f"{name}-{major + 1}.x runtime is unknown"})


@only("python")
def test_the_memory_limit_is_a_sigkill_that_names_the_limit(
    compat_service: Target, language: str
) -> None:
    """1. A Python program filling 200 MB under run_memory_limit 64 MB (in bytes).
    Expected: the shape of Piston's kernel kill (status SG, SIGKILL, no exit code), the limit
    named in message."""
    status, answer = _execute(
        compat_service,
        {
            "language": "python",
            "version": "*",
            "files": [{"name": "hog.py", "content": GROW}],
            "run_memory_limit": 64 * 1024 * 1024,
        },
    )
    run = answer["run"]
    assert (status, run["status"], run["signal"], run["code"]) == (200, "SG", "SIGKILL", None)
    assert "memory" in run["message"], run


def test_minus_one_is_the_largest_limit_this_replica_allows(
    compat_service: Target, language: str
) -> None:
    limits = ("run_memory_limit", "run_timeout", "run_cpu_time", "compile_memory_limit")
    status, answer = _execute(
        compat_service,
        {
            "language": PISTON_LANGUAGE[language],
            "version": "*",
            "files": [{"content": HELLO[language]}],
            **dict.fromkeys(limits, -1),
        },
    )
    assert status == 200, answer
    assert answer["run"]["stdout"] == f"hello from {language}\n"
