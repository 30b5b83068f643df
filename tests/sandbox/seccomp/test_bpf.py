"""The BPF assembler: labels resolved to forward offsets, bad programs refused."""

import struct

import pytest

from executor.sandbox.seccomp.bpf import assemble, jeq, ret

RET_ALLOW = 0x7FFF0000


def test_assembler_resolves_labels_and_refuses_long_jumps() -> None:
    program = assemble([jeq(1, true="out"), ret(0), "out", ret(RET_ALLOW)])
    assert struct.unpack_from("<HBBI", program) == (0x15, 1, 0, 1)
    with pytest.raises(ValueError, match="spans 256"):
        assemble([jeq(1, true="out"), *[ret(0)] * 256, "out", ret(RET_ALLOW)])
    with pytest.raises(ValueError, match="unknown label"):
        assemble([jeq(1, true="nowhere"), ret(0)])
    with pytest.raises(ValueError, match="spans -2"):
        assemble(["back", ret(0), jeq(1, true="back"), ret(0)])


def test_assembler_refuses_a_label_twice_and_an_empty_program() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        assemble(["a", ret(0), "a", ret(0)])
    with pytest.raises(ValueError, match="1 to 4096"):
        assemble([])
