"""A tiny classic-BPF assembler: instructions name their jump targets, ``assemble`` packs them."""

import struct
from collections.abc import Iterable
from dataclasses import dataclass

# Classic BPF opcodes (linux/bpf_common.h); only the few the filter needs.
LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: A = 32-bit word at offset k of seccomp_data
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K (unsigned)
JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K: true if A & k != 0
RET_K = 0x06  # BPF_RET | BPF_K
MAX_INSTRUCTIONS = 4096  # the kernel refuses longer programs
MAX_JUMP = 255  # jt/jf are u8 offsets counted from the next instruction
# struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}. Little-endian on purpose: both supported
# targets are little-endian, and big-endian aarch64 has another AUDIT_ARCH value, so a filter
# built on one host is byte-for-byte right for the other.
SOCK_FILTER = struct.Struct("<HBBI")


@dataclass(frozen=True)
class Op:
    """One BPF instruction whose jumps name labels, resolved by ``assemble``."""

    code: int
    k: int
    true: str | None = None  # label to jump to when the test holds; None: next instruction
    false: str | None = None


def op(code: int, k: int, *, true: str | None = None, false: str | None = None) -> Op:
    """Any instruction."""
    return Op(code=code, k=k, true=true, false=false)


def load(offset: int) -> Op:
    """A = the 32-bit word at ``offset`` of struct seccomp_data."""
    return op(LD_W_ABS, offset)


def jeq(value: int, *, true: str | None = None, false: str | None = None) -> Op:
    """Jump to ``true`` if A == value, else to ``false`` (None: the next instruction)."""
    return op(JEQ_K, value, true=true, false=false)


def ret(action: int) -> Op:
    """Return ``action`` (a SECCOMP_RET_* value) to the kernel."""
    return op(RET_K, action)


def assemble(items: Iterable[Op | str]) -> bytes:
    """Pack instructions, turning label names into forward offsets; a string marks a label.

    Returns the packed struct sock_filter array. Raises ValueError for a duplicate or unknown
    label, a backward jump, a jump longer than 255 instructions (classic BPF offsets are one
    byte), or a program longer than the kernel accepts.
    """
    ops: list[Op] = []
    labels: dict[str, int] = {}
    for item in items:
        if isinstance(item, str):
            if item in labels:
                raise ValueError(f"label {item!r} defined twice")
            labels[item] = len(ops)
        else:
            ops.append(item)
    if not 0 < len(ops) <= MAX_INSTRUCTIONS:
        raise ValueError(f"a program has 1 to {MAX_INSTRUCTIONS} instructions, not {len(ops)}")

    def offset(index: int, label: str | None) -> int:
        if label is None:
            return 0
        if label not in labels:
            raise ValueError(f"jump to unknown label {label!r}")
        distance = labels[label] - index - 1
        if not 0 <= distance <= MAX_JUMP:
            raise ValueError(f"jump from {index} to {label!r} spans {distance} instructions")
        return distance

    return b"".join(
        SOCK_FILTER.pack(o.code, offset(i, o.true), offset(i, o.false), o.k)
        for i, o in enumerate(ops)
    )
