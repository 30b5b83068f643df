"""The warm javac server (CompileServer.java): its source, and its wire format, encode/decode."""

import codecs
import struct
from importlib import resources

from executor.languages.plan import CompileAnswer, CompileBudget

SERVER_FILE = "CompileServer.java"
SERVER_CLASS = "CompileServer"
# The answer's flags (CompileServer.java).
DIAGNOSTICS_CUT = 1
OVER_BUDGET = 2
FAILED = 4
_INT = struct.Struct(">i")
_BUDGET = struct.Struct(">iiii")
# Java's int: a budget past it is no budget at all.
_INT_MAX = 2**31 - 1


class ProtocolError(ValueError):
    """The server's answer is not a well-formed response."""


def server_files() -> dict[str, bytes]:
    """The server's Java source, shipped inside this package, by the file name it runs as."""
    source = (resources.files("executor.languages.java") / SERVER_FILE).read_bytes()
    return {SERVER_FILE: source}


def encode_request(sources: dict[str, bytes], budget: CompileBudget) -> bytes:
    """One request frame's payload: the budget of the answer, then the sources to compile, by
    file name (UTF-8)."""
    limits = (
        budget.diagnostics_bytes,
        budget.artifact_bytes,
        budget.artifact_files,
        budget.artifact_file_bytes,
    )
    parts = [_BUDGET.pack(*(min(max(0, value), _INT_MAX) for value in limits))]
    parts.append(_INT.pack(len(sources)))
    for name, content in sources.items():
        raw = name.encode()
        parts += [_INT.pack(len(raw)), raw, _INT.pack(len(content)), content]
    return b"".join(parts)


def decode_response(payload: bytes) -> CompileAnswer:
    """Parse one response frame's payload: javac's exit code (0 ok, 1 errors), the flags, its
    diagnostics and the class files by relative path (``pkg/Name$Inner.class``). A character
    cut in half at the end of cut diagnostics is dropped. Raises ProtocolError if it is
    malformed."""
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
    flags = take_int()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    diagnostics = decoder.decode(take(take_int()), final=not flags & DIAGNOSTICS_CUT)
    classes = {}
    for _ in range(take_int()):
        try:
            path = take(take_int()).decode()
        except UnicodeDecodeError:
            raise ProtocolError("a class path that is not UTF-8") from None
        classes[path] = take(take_int())
    if offset != len(view):
        raise ProtocolError("trailing bytes after the compile server response")
    return CompileAnswer(
        exit_code=exit_code,
        diagnostics=diagnostics,
        artifacts=classes,
        diagnostics_cut=bool(flags & DIAGNOSTICS_CUT),
        over_budget=bool(flags & OVER_BUDGET),
        failed=bool(flags & FAILED),
    )
