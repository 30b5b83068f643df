"""The compile step under attack: compiler output past the compile limits on every path (the
warm javac's too), file names that a tool would read as options, files in the way of the
compiler's output, and Java names and encodings taken as Java takes them (issue 9, items 13-16
and 18).

In every mode Java's submissions reach a service whose warm javac is up (the fixture waits for
Java's deferred self-test, which runs once the warm compiler has started), so a compile takes a
fresh javac only when the warm one cannot answer for it."""

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.hostile.support import QUICK, RUN_ROOT, Hostile, Target, assert_contained
from tests.support import PROGRAMS, program, wait_for

# EXECUTOR_COMPILE_OUTPUT_KB's default, which every mode runs with.
COMPILE_OUTPUT_KB = 64
# What the service adds to the compiler's kept messages when it stops a compile at a limit.
STOP_LINE_BYTES = 200
HELLO = "Hello, world!\n"
ARGUMENT_FILE = PROGRAMS / "java" / "hostile_argument_file"
EVIL_MARKER = "EVIL: user code ran inside javac"


def warm_starts(target: Target) -> int:
    """How many times the warm javac has been started; it must be up now."""
    state = target.service.info()["warm_compilers"]["java"]
    assert state["ready"], state
    starts: int = state["starts"]
    return starts


def post(target: Target, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = target.service.client.post("/execute", json=body)
    return response.status_code, response.json()


def java_files(*files: tuple[str, str]) -> dict[str, Any]:
    return {"language": "java", "files": [{"name": n, "content": c} for n, c in files]}


def diagnostics_flood(size_bytes: int) -> str:
    """About ``size_bytes`` of Java on one line, each statement naming an undefined variable:
    javac reports 100 of them, printing the whole line with each (``size_bytes`` x 100)."""
    statements = " ".join(f"int v{i} = u{i};" for i in range(size_bytes // 20))
    return f"public class Main {{ public static void main(String[] a) {{ {statements} }} }}\n"


def class_file_bomb(classes: int) -> str:
    """A small source that makes javac write ``classes`` class files of about 60 KB each: every
    class holds its own copy of a distinct 60 KB string constant."""
    constant = "x" * 60_000
    declarations = "".join(
        f"class C{i} {{ static final String S = Main.S + {i}; }}\n" for i in range(classes)
    )
    return (
        "public class Main {\n"
        f'    static final String S = "{constant}";\n'
        '    public static void main(String[] args) { System.out.println("ran"); }\n'
        "}\n" + declarations
    )


def compiled_processor(tmp_path: Path) -> bytes:
    """Evil.class, an annotation processor that prints EVIL_MARKER when javac loads it, built
    by this host's javac for Java 17 (the oldest JDK of any mode)."""
    java = shutil.which("java")
    assert java is not None, "a JDK on PATH builds the test's annotation processor"
    javac = os.path.join(os.path.dirname(os.path.realpath(java)), "javac")
    subprocess.run(
        [javac, "--release", "17", "-d", str(tmp_path), str(ARGUMENT_FILE / "Evil.java")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (tmp_path / "Evil.class").read_bytes()


def directories_of_root(target: Target) -> set[str]:
    """Run directories still owned by root: one is handed to its run's uid as soon as it is
    filled, so one that stays root's was left by a box that failed to be made."""
    return set(target.probe("files_of_uids", 0, 1, [RUN_ROOT], []))


def assert_no_run_directory_left(target: Target, before: set[str]) -> None:
    """No root-owned run directory appeared since ``before`` (on this host the runs directory
    is shared with other services, whose new directories are root's for an instant)."""
    interval_s = 0.5 if target.container is not None else 0.05
    wait_for(
        lambda: not directories_of_root(target) - before,
        timeout_s=10,
        what="no run directory left behind",
        interval_s=interval_s,
    )


def test_compiler_messages_stop_at_the_compile_output_limit(hostile: Hostile) -> None:
    """1. A 253 KB Java source on one line naming 13,000 undefined variables: javac prints the
    whole line with each of its first 100 errors (25 MB of messages). Expected:
    compilation_error with at most the compile output limit (64 KB) of javac's messages and a
    line saying the compiler was stopped; the warm javac answered (not restarted); nothing left
    behind."""
    target = hostile.target("java")
    starts = warm_starts(target)
    result = target.service.execute(
        {"language": "java", "code": diagnostics_flood(256 * 1024), "limits": QUICK}
    )
    assert result["status"] == "compilation_error", result["status"]
    compiled = result["compile"]
    assert compiled["status"] == "compilation_error"
    stderr = compiled["stderr"].encode()
    assert len(stderr) <= COMPILE_OUTPUT_KB * 1024 + STOP_LINE_BYTES, len(stderr)
    assert stderr.startswith(b"Main.java:1: error: cannot find symbol"), stderr[:200]
    assert b"error: the compiler wrote more than 64 KB" in stderr[-STOP_LINE_BYTES:], stderr[-300:]
    assert warm_starts(target) == starts
    assert_contained(hostile, language="java")


def test_a_file_name_is_never_read_as_an_option(hostile: Hostile, tmp_path: Path) -> None:
    """1. A Python entry file named `-c` and a Node one named `-e`, the code to run given as
    the first argument. 2. A Java submission with a file named `@opts.java` (javac reads
    `opts.java` as an argument file), whose options load a submitted annotation processor that
    prints a marker from inside javac, and one named `{.java` (it used to crash the warm javac,
    so that a fresh javac compiled the submission). Expected: a 422 naming each such file;
    nothing ran; nothing left behind."""
    for language, name, code in (
        ("python", "-c", "print('owned')"),
        ("node", "-e", "console.log('owned')"),
    ):
        status, answer = post(
            hostile.target(language),
            {"language": language, "files": [{"name": name, "content": ""}], "args": [code]},
        )
        assert status == 422, (status, answer)
        assert repr(name) in answer["error"]["message"], answer
        assert_contained(hostile, language=language)
    evil = base64.b64encode(compiled_processor(tmp_path)).decode()
    body = java_files(
        ("Main.java", (ARGUMENT_FILE / "Main.java").read_text()),
        ("{.java", "class Brace {}\n"),
        ("@opts.java", "class At {}\n"),
        ("opts.java", (ARGUMENT_FILE / "opts.java").read_text()),
    )
    body["files"].append({"name": "Evil.class", "content": evil, "encoding": "base64"})
    target = hostile.target("java")
    status, answer = post(target, body)
    assert EVIL_MARKER not in str(answer), answer
    assert status == 422, (status, answer)
    assert "'@opts.java'" in answer["error"]["message"], answer
    assert_contained(hostile, language="java")


def test_the_warm_compiler_survives_any_file_name(hostile: Hostile) -> None:
    """1. Hello world beside a file whose name a URI cannot hold (`{`, `%`, `#`, `?`, a space),
    a non-ASCII one and one outside Unicode's basic plane (4 bytes of UTF-8). Expected: each
    compiles and runs; the warm javac answered every time (never restarted)."""
    target = hostile.target("java")
    starts = warm_starts(target)
    hello = program("java", "hello")["code"]
    for index, name in enumerate(
        ["{.java", "100%.java", "a#b?.java", "a b.java", "Über.java", "\U0001f600.java"]
    ):
        result = target.service.execute(
            java_files(("Hello.java", hello), (name, f"class Extra{index} {{}}\n"))
        )
        assert (result["status"], result["stdout"]) == ("ok", HELLO), (name, result)
        assert warm_starts(target) == starts, name
    assert_contained(hostile, language="java")


def test_compiler_output_is_held_to_the_run_disk_limit(hostile: Hostile) -> None:
    """1. A 97 KB source whose 700 classes each hold a distinct 60 KB string constant: 42 MB
    of class files, under `disk_mb` 16 and `file_size_kb` 0. 2. 100 such classes (6 MB) under
    the default limits. 3. The 700 classes under the default `disk_mb` (256). Expected: 1 is a
    compilation_error saying the compiler held too much on disk, and the program never ran;
    2 and 3 compile and run (3 past what the warm javac may hand over, so by a fresh javac
    writing as the run's uid); nothing left behind."""
    target = hostile.target("java")
    bomb = class_file_bomb(700)
    limited = {**QUICK, "disk_mb": 16, "file_size_kb": 0}
    result = target.service.execute({"language": "java", "code": bomb, "limits": limited})
    assert result["compile"]["status"] == "compilation_error", result["compile"]
    assert result["status"] == "compilation_error", result["status"]
    assert "more than 16 MB" in result["compile"]["stderr"], result["compile"]["stderr"][-500:]
    assert result["stdout"] == ""
    assert_contained(hostile, language="java")
    for classes in (100, 700):
        result = target.service.execute({"language": "java", "code": class_file_bomb(classes)})
        assert (result["status"], result["stdout"]) == ("ok", "ran\n"), (classes, result)
    assert_contained(hostile, language="java")


def test_a_file_in_the_way_of_the_compiler_output_is_a_compile_error(hostile: Hostile) -> None:
    """1. `package pkg;` in Main.java, beside a submitted file named `pkg`: the class file
    `pkg/Main.class` has nowhere to go. Expected: a 200 with compilation_error and javac's
    message (it cannot write the class), not a 500; nothing left behind."""
    target = hostile.target("java")
    result = target.service.execute({"language": "java", **program("java", "hostile_package_file")})
    assert result["status"] == "compilation_error", result
    assert "error while writing Main" in result["compile"]["stderr"], result["compile"]
    assert_contained(hostile, language="java")


def test_a_class_name_too_long_for_a_file_name_is_a_compile_error(hostile: Hostile) -> None:
    """1. A public class named with 300 letters, sent as `code`: its file would be named past
    the file system's 255 bytes. 2. Main beside a non-public class of 300 letters: its class
    file would. Expected: a 200 with compilation_error each time, not a 500; no run directory
    left behind."""
    target = hostile.target("java")
    long_name = "A" * 300
    before = directories_of_root(target)
    main = "public static void main(String[] args) { System.out.println(1); }"
    for code in (
        f"public class {long_name} {{ {main} }}\n",
        f"public class Main {{ {main} }}\nclass {long_name} {{}}\n",
    ):
        status, answer = post(target, {"language": "java", "code": code, "limits": QUICK})
        assert status == 200, (status, answer)
        assert answer["status"] == "compilation_error", answer
    assert_no_run_directory_left(target, before)
    assert_contained(hostile, language="java")


def test_java_names_follow_the_language_and_a_byte_order_mark_is_dropped(
    hostile: Hostile,
) -> None:
    """1. `public class Ärger` and `public class нет` sent as `code`. 2. Hello world preceded
    by a UTF-8 byte-order mark (as Windows editors save it), as `code`, as a file and as a
    base64 file. Expected: each compiles and runs, printing its own text."""
    target = hostile.target("java")
    for case, printed in (("unicode_latin_class", "Ärger\n"), ("unicode_cyrillic_class", "нет\n")):
        result = hostile.run("java", case)
        assert (result["status"], result["stdout"]) == ("ok", printed), result
    hello = "\ufeff" + program("java", "hello")["code"]
    encoded = base64.b64encode(hello.encode()).decode()
    for body in (
        {"language": "java", "code": hello},
        java_files(("Hello.java", hello)),
        {
            "language": "java",
            "files": [{"name": "Hello.java", "content": encoded, "encoding": "base64"}],
        },
    ):
        result = target.service.execute(body)
        assert (result["status"], result["stdout"]) == ("ok", HELLO), result
    assert_contained(hostile, language="java")
