"""The compile step under attack: compiler output past the compile limits on every path (the
warm javac's too), file names that a tool would read as options, files in the way of the
compiler's output, and Java names and encodings taken as Java takes them (issue 9, items 13-16
and 18).

In every mode Java's submissions reach a service whose warm javac is up (the fixture waits for
Java's deferred self-test, which runs once the warm compiler has started), so a compile takes a
fresh javac only when the warm one cannot answer for it."""

import base64
from typing import Any

from tests.hostile.support import QUICK, Hostile, assert_contained
from tests.support import program

HELLO = "Hello, world!\n"


def java_files(*files: tuple[str, str]) -> dict[str, Any]:
    return {"language": "java", "files": [{"name": n, "content": c} for n, c in files]}


def test_java_names_follow_the_language_and_a_byte_order_mark_is_dropped(
    hostile: Hostile,
) -> None:
    """1. `public class Ärger` and `public class нет` sent as `code`. 2. Hello world preceded
    by a UTF-8 byte-order mark (as Windows editors save it), as `code`, as a file and as a
    base64 file. Expected: each compiles and runs, printing its own text."""
    target = hostile.target("java")
    for case, printed in (("unicode_latin_class", "Ärger\n"), ("unicode_cyrillic_class", "нет\n")):
        result = hostile.run("java", case, limits=QUICK)
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
        result = target.service.execute({**body, "limits": QUICK})
        assert (result["status"], result["stdout"]) == ("ok", HELLO), result
    assert_contained(hostile, language="java")
