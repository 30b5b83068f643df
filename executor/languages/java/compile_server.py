"""The warm javac server (CompileServer.java): its source, and its wire format, encode/decode."""

import struct
from importlib import resources

from executor.languages.plan import CompileAnswer

SERVER_FILE = "CompileServer.java"
SERVER_CLASS = "CompileServer"
_INT = struct.Struct(">i")
_SHORT = struct.Struct(">H")


class ProtocolError(ValueError):
    """The server's answer is not a well-formed response."""


def server_files() -> dict[str, bytes]:
    """The server's Java source, shipped inside this package, by the file name it runs as."""
    source = (resources.files("executor.languages.java") / SERVER_FILE).read_bytes()
    return {SERVER_FILE: source}


def encode_request(sources: dict[str, bytes]) -> bytes:
    """One request frame's payload: the sources to compile, by file name."""
    parts = [_INT.pack(len(sources))]
    for name, content in sources.items():
        raw = name.encode()
        parts += [_SHORT.pack(len(raw)), raw, _INT.pack(len(content)), content]
    return b"".join(parts)


def decode_response(payload: bytes) -> CompileAnswer:
    """Parse one response frame's payload: javac's exit code (0 ok, 1 errors), its diagnostics
    and the class files by relative path (``pkg/Name$Inner.class``). Raises ProtocolError if it
    is malformed."""
    view = memoryview(payload)
    offset = 0

    def take(size: int) -> bytes:
        nonlocal offset
        if size < 0 or offset + size > len(view):
            raise ProtocolError("truncated compile server response")
        chunk = bytes(view[offset : offset + size])
        offset += size
        return chunk

    def take_int() -> int:
        value: int = _INT.unpack(take(4))[0]
        return value

    exit_code = take_int()
    diagnostics = take(take_int()).decode(errors="replace")
    classes = {}
    for _ in range(take_int()):
        path = take(_SHORT.unpack(take(2))[0]).decode(errors="replace")
        classes[path] = take(take_int())
    return CompileAnswer(exit_code=exit_code, diagnostics=diagnostics, artifacts=classes)
