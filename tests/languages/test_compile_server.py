"""The warm javac server: its wire format checked against frames built by hand, and the server
itself (a real JVM, fed frames on its stdin) keeping every answer within its request's budget
and answering any request."""

import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.languages.java.compile_server import (
    DIAGNOSTICS_CUT,
    FAILED,
    OVER_BUDGET,
    ProtocolError,
    decode_response,
    encode_request,
    server_files,
)
from executor.languages.java.toolchain import find_java
from executor.languages.plan import RESPONSE_OVERHEAD_BYTES, CompileAnswer, CompileBudget

BUDGET = CompileBudget(
    diagnostics_bytes=65536, artifact_bytes=1 << 20, artifact_files=64, artifact_file_bytes=1 << 20
)
HELLO = b'public class Main { public static void main(String[] a) { System.out.println("hi"); } }'


def response(
    exit_code: int, flags: int, diagnostics: bytes, classes: dict[str, bytes] | None = None
) -> bytes:
    parts = [struct.pack(">iii", exit_code, flags, len(diagnostics)), diagnostics]
    parts.append(struct.pack(">i", len(classes or {})))
    for path, content in (classes or {}).items():
        raw = path.encode()
        parts += [struct.pack(">i", len(raw)), raw, struct.pack(">i", len(content)), content]
    return b"".join(parts)


def test_a_request_carries_the_budget_then_each_source_by_name() -> None:
    frame = encode_request({"Main.java": b"class Main {}", "Ä.java": b""}, BUDGET)
    expected = (
        struct.pack(">iiii", 65536, 1 << 20, 64, 1 << 20) + struct.pack(">i", 2)
        + struct.pack(">i", 9) + b"Main.java" + struct.pack(">i", 13) + b"class Main {}"
        + struct.pack(">i", 7) + "Ä.java".encode() + struct.pack(">i", 0)
    )  # fmt: skip
    assert frame == expected


def test_a_budget_past_what_java_counts_is_sent_as_its_largest_int() -> None:
    huge = CompileBudget(
        diagnostics_bytes=2**40, artifact_bytes=-5, artifact_files=1, artifact_file_bytes=2**31
    )
    assert encode_request({}, huge)[:16] == struct.pack(">iiii", 2**31 - 1, 0, 1, 2**31 - 1)


def test_a_response_gives_exit_code_diagnostics_and_classes() -> None:
    frame = response(0, 0, b"Main.java:1: warning\n", {"pkg/Ärger.class": b"\xca\xfe\x00"})
    answer = decode_response(frame)
    assert answer == CompileAnswer(
        exit_code=0,
        diagnostics="Main.java:1: warning\n",
        artifacts={"pkg/Ärger.class": b"\xca\xfe\x00"},
    )


def test_cut_diagnostics_lose_a_character_cut_in_half_and_say_so() -> None:
    answer = decode_response(response(1, DIAGNOSTICS_CUT, "ab€".encode()[:-1]))
    assert (answer.diagnostics, answer.diagnostics_cut) == ("ab", True)
    assert decode_response(response(1, 0, "ab€".encode()[:-1])).diagnostics == "ab\ufffd"


def test_flags_say_when_an_answer_does_not_count() -> None:
    assert decode_response(response(1, OVER_BUDGET, b"")).over_budget
    assert decode_response(response(4, FAILED, b"trace")).failed


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        struct.pack(">i", 0),
        struct.pack(">iii", 1, 0, 99) + b"short",
        struct.pack(">iiii", 1, 0, 0, 1) + struct.pack(">i", -1),
        response(0, 0, b"") + b"extra",
        response(0, 0, b"", {"x": b""}).replace(b"x", b"\xff"),
    ],
)
def test_a_malformed_response_is_a_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_response(frame)


def test_the_server_source_ships_with_the_package() -> None:
    files = server_files()
    assert list(files) == ["CompileServer.java"]
    assert b"public final class CompileServer" in files["CompileServer.java"]


class Server:
    """CompileServer.java run by this machine's JDK (no sandbox: only trusted sources here)."""

    def __init__(self, directory: Path) -> None:
        java = find_java()
        assert java, "a JDK on PATH runs the compile server"
        (directory / "CompileServer.java").write_bytes(server_files()["CompileServer.java"])
        self.proc = subprocess.Popen(
            [java[0], "-XX:+UseSerialGC", "-Xmx256m", "CompileServer.java", "0"],
            cwd=directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.ready = self.read()

    def read(self) -> bytes:
        assert self.proc.stdout is not None
        (length,) = struct.unpack(">i", self.proc.stdout.read(4))
        frame = self.proc.stdout.read(length)
        assert len(frame) == length
        return frame

    def ask(self, payload: bytes) -> tuple[int, CompileAnswer]:
        """Send one request frame; the answer's length and the answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(struct.pack(">i", len(payload)) + payload)
        self.proc.stdin.flush()
        frame = self.read()
        return len(frame), decode_response(frame)

    def compile(self, sources: dict[str, bytes], budget: CompileBudget = BUDGET) -> CompileAnswer:
        return self.ask(encode_request(sources, budget))[1]

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("compile-server"))
    yield running
    running.close()


@pytest.mark.system
def test_the_server_compiles_and_answers_ready_first(server: Server) -> None:
    assert decode_response(server.ready).exit_code == 0
    answer = server.compile({"Main.java": HELLO})
    assert (answer.exit_code, answer.diagnostics, list(answer.artifacts)) == (0, "", ["Main.class"])


@pytest.mark.system
def test_messages_past_the_budget_stop_the_compile_and_are_cut_there(server: Server) -> None:
    """1. One line of 2,000 undefined names: javac would print it 100 times (4 MB).
    Expected: the first 4 KB of javac's messages, flagged as cut, no classes."""
    line = " ".join(f"int v{i} = u{i};" for i in range(2000))
    source = f"public class Main {{ void f() {{ {line} }} }}".encode()
    budget = CompileBudget(4096, 1 << 20, 64, 1 << 20)
    length, answer = server.ask(encode_request({"Main.java": source}, budget))
    assert answer.diagnostics_cut and not answer.artifacts
    assert answer.diagnostics.startswith("Main.java:1: error: cannot find symbol")
    assert len(answer.diagnostics.encode()) == 4096
    assert length <= budget.response_bytes


@pytest.mark.parametrize(
    ("budget", "why"),
    [
        (CompileBudget(65536, 150_000, 64, 1 << 20), "all classes together"),
        (CompileBudget(65536, 1 << 20, 2, 1 << 20), "the number of classes"),
        (CompileBudget(65536, 1 << 20, 64, 50_000), "one class"),
    ],
)
@pytest.mark.system
def test_classes_past_the_budget_are_not_sent(
    server: Server, budget: CompileBudget, why: str
) -> None:
    """1. Main and three classes holding a distinct 60 KB constant each (about 240 KB of
    classes). Expected: over the budget, by ``why``; no class sent; the answer within it."""
    constant = "x" * 60_000
    extra = "".join(
        f'class C{i} {{ static final String S = "{constant}{i}"; }}\n' for i in range(3)
    )
    length, answer = server.ask(
        encode_request({"Main.java": HELLO + b"\n" + extra.encode()}, budget)
    )
    assert answer.over_budget, why
    assert answer.artifacts == {}
    assert length <= budget.response_bytes
    assert server.compile({"Main.java": HELLO}).artifacts.keys() == {"Main.class"}


@pytest.mark.system
def test_any_file_name_is_compiled_under_its_own_name(server: Server) -> None:
    for name in ("{.java", "100%.java", "a#b?.java", "a b.java", "Über.java", "\U0001f600.java"):
        answer = server.compile({"Main.java": HELLO, name: b"class Extra {}"})
        assert (answer.exit_code, answer.failed) == (0, False), (name, answer)
        assert set(answer.artifacts) == {"Main.class", "Extra.class"}
    for name in ("Ärger", "\U0001d49c"):
        answer = server.compile({f"{name}.java": f"public class {name} {{}}".encode()})
        assert list(answer.artifacts) == [f"{name}.class"]
    wrong = server.compile({"{.java": b"public class Brace {}"})
    assert wrong.exit_code == 1
    assert wrong.diagnostics.startswith(
        "{.java:1: error: class Brace is public, should be declared"
    )


@pytest.mark.system
def test_a_malformed_request_gets_a_failed_answer_and_the_next_one_is_served(
    server: Server,
) -> None:
    bad = struct.pack(">iiiii", 1024, 1024, 1, 1024, 1) + struct.pack(">i", 2**30)
    length, answer = server.ask(bad)
    assert answer.failed and "malformed request" in answer.diagnostics
    assert length <= RESPONSE_OVERHEAD_BYTES + 16384
    assert server.compile({"Main.java": HELLO}).exit_code == 0
