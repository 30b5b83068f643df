"""The seccomp program itself, on both architectures: well-formed, deciding like the policy,
numbered from the kernel's tables, whatever the host."""

import socket
import struct
from pathlib import Path

import pytest

from executor.sandbox.seccomp import SeccompFilter, SeccompUnavailable, build_filter, generate
from executor.sandbox.seccomp.policy import ARCHES, DENY_ENOSYS, DENY_EPERM
from executor.sandbox.seccomp.syscalls import NUMBERS
from tests.sandbox.seccomp.kernel import (
    AUDIT_ARCH,
    AUDIT_ARCH_I386,
    CLONE_NAMESPACE_FLAGS,
    HOST_ARCH,
    RET_ALLOW,
    RET_ENOSYS,
    RET_EPERM,
    RET_KILL_PROCESS,
    SIGCHLD,
    SYSCALL_NUMBERS,
)


def test_build_filter_names_an_unsupported_machine() -> None:
    with pytest.raises(SeccompUnavailable, match="riscv64"):
        build_filter(machine="riscv64")


@pytest.mark.parametrize(("machine", "arch"), [("amd64", "x86_64"), ("ARM64", "aarch64")])
def test_build_filter_accepts_other_spellings(machine: str, arch: str) -> None:
    assert build_filter(machine=machine).arch == arch


def test_build_filter_defaults_to_this_machine() -> None:
    assert build_filter().arch == HOST_ARCH


@pytest.mark.parametrize(
    ("arch", "program"),
    [("x86_64", b""), ("x86_64", b"\0" * 7), ("x86_64", b"\0" * 8 * 4097), ("mips", b"\0" * 8)],
)
def test_filter_rejects_a_malformed_program(arch: str, program: bytes) -> None:
    with pytest.raises(ValueError):
        SeccompFilter(arch=arch, program=program)


def test_filters_compare_by_arch_and_program() -> None:
    assert build_filter(machine="x86_64") == build_filter(machine="x86_64")
    assert build_filter(machine="x86_64") != build_filter(machine="aarch64")


def run_bpf(program: bytes, *, arch: int, nr: int, arg0: int = 0) -> int:
    """Interpret the filter for one seccomp_data, accepting only the opcodes it should use."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    instructions = list(struct.iter_unpack("<HBBI", program))
    pc = accumulator = 0
    while True:
        code, jt, jf, k = instructions[pc]
        if code == 0x20:  # ld [k]
            (accumulator,) = struct.unpack_from("<I", data, k)
            pc += 1
        elif code == 0x15:  # jeq #k
            pc += 1 + (jt if accumulator == k else jf)
        elif code == 0x35:  # jge #k
            pc += 1 + (jt if accumulator >= k else jf)
        elif code == 0x45:  # jset #k
            pc += 1 + (jt if accumulator & k else jf)
        elif code == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x} at {pc}")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_program_is_well_formed(arch: str) -> None:
    program = build_filter(machine=arch).program
    assert len(program) % 8 == 0
    instructions = list(struct.iter_unpack("<HBBI", program))
    assert 0 < len(instructions) <= 4096
    for index, (code, jt, jf, _) in enumerate(instructions):
        if code & 0x07 == 0x05:  # BPF_JMP: both targets inside the program
            assert index + 1 + max(jt, jf) < len(instructions)
        elif code != 0x06:
            assert (jt, jf) == (0, 0)
    assert instructions[-1][0] == 0x06  # nothing falls off the end


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_program_decides_like_the_policy(arch: str) -> None:
    """Run the program in an interpreter for each rule, so aarch64 is checked on any host."""
    program = build_filter(machine=arch).program
    audit = AUDIT_ARCH[arch]
    nr = SYSCALL_NUMBERS[arch]

    def verdict(name: str, arg0: int = 0) -> int:
        return run_bpf(program, arch=audit, nr=nr[name], arg0=arg0)

    assert verdict("getpid") == RET_ALLOW
    assert verdict("socket", socket.AF_UNIX) == RET_EPERM
    assert verdict("socket", socket.AF_INET) == RET_EPERM
    assert verdict("socket", socket.AF_INET6) == RET_EPERM
    assert verdict("socketpair", socket.AF_UNIX) == RET_ALLOW
    assert verdict("socketpair", socket.AF_INET) == RET_EPERM
    assert verdict("ptrace") == RET_EPERM
    assert verdict("io_uring_setup") == RET_ENOSYS
    assert verdict("clone3") == RET_ENOSYS
    assert verdict("clone", SIGCHLD) == RET_ALLOW
    # 0x80 is CLONE_NEWTIME elsewhere but part of the exit signal in clone(): not refused.
    assert verdict("clone", 0x80 | SIGCHLD) == RET_ALLOW
    for flag in CLONE_NAMESPACE_FLAGS.values():
        assert verdict("clone", flag | SIGCHLD) == RET_EPERM
    assert run_bpf(program, arch=AUDIT_ARCH_I386, nr=nr["getpid"]) == RET_KILL_PROCESS
    other = "aarch64" if arch == "x86_64" else "x86_64"
    assert run_bpf(program, arch=AUDIT_ARCH[other], nr=nr["getpid"]) == RET_KILL_PROCESS
    if arch == "x86_64":
        assert run_bpf(program, arch=audit, nr=0x40000000 | nr["getpid"]) == RET_KILL_PROCESS


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_every_listed_syscall_is_refused_by_the_program(arch: str) -> None:
    program = build_filter(machine=arch).program
    spec = ARCHES[arch]
    for name in (*DENY_EPERM, *spec.extra_eperm):
        verdict = run_bpf(program, arch=spec.audit_arch, nr=NUMBERS[arch][name])
        assert verdict == RET_EPERM, name
    for name in DENY_ENOSYS:
        verdict = run_bpf(program, arch=spec.audit_arch, nr=NUMBERS[arch][name])
        assert verdict == RET_ENOSYS, name


def test_the_generated_tables_are_current() -> None:
    """syscalls.py is what generate.py makes from this machine's kernel headers (linux-libc-dev,
    installed by .ci/setup): rerun ``python -m executor.sandbox.seccomp.generate`` after
    changing the policy."""
    assert generate.render() == Path(generate.__file__).with_name("syscalls.py").read_text()


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_generated_numbers_agree_with_the_hand_checked_ones(arch: str) -> None:
    for name, number in SYSCALL_NUMBERS[arch].items():
        if name in NUMBERS[arch]:
            assert NUMBERS[arch][name] == number, name


def test_header_parsing_resolves_aliases() -> None:
    text = "#define __NR3264_fcntl 25\n#define __NR_fcntl __NR3264_fcntl\n#define __NR_read 63\n"
    assert generate.header_numbers(text) == {"fcntl": 25, "read": 63}
