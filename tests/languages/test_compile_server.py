"""The warm javac server's wire format, checked against frames built by hand."""

import struct

import pytest

from executor.languages.java.compile_server import (
    ProtocolError,
    decode_response,
    encode_request,
    server_files,
)


def test_a_request_carries_each_source_by_name() -> None:
    frame = encode_request({"Main.java": b"class Main {}", "Ä.java": b""})
    expected = (
        struct.pack(">i", 2)
        + struct.pack(">H", 9) + b"Main.java" + struct.pack(">i", 13) + b"class Main {}"
        + struct.pack(">H", 7) + "Ä.java".encode() + struct.pack(">i", 0)
    )  # fmt: skip
    assert frame == expected


def test_a_response_gives_exit_code_diagnostics_and_classes() -> None:
    diagnostics = b"Main.java:1: warning\n"
    frame = (
        struct.pack(">i", 0) + struct.pack(">i", len(diagnostics)) + diagnostics
        + struct.pack(">i", 1) + struct.pack(">H", 14) + b"pkg/Main.class"
        + struct.pack(">i", 3) + b"\xca\xfe\x00"
    )  # fmt: skip
    answer = decode_response(frame)
    assert answer.exit_code == 0
    assert answer.diagnostics == "Main.java:1: warning\n"
    assert answer.artifacts == {"pkg/Main.class": b"\xca\xfe\x00"}


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        struct.pack(">i", 0),
        struct.pack(">ii", 1, 99) + b"short",
        struct.pack(">iii", 1, -1, 0),
    ],
)
def test_a_truncated_response_is_a_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_response(frame)


def test_the_server_source_ships_with_the_package() -> None:
    files = server_files()
    assert list(files) == ["CompileServer.java"]
    assert b"public final class CompileServer" in files["CompileServer.java"]
