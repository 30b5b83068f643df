"""The seccomp layer: policy (what is refused), syscalls (numbers), bpf (assembler), install."""

from executor.sandbox.seccomp.install import program_fd
from executor.sandbox.seccomp.policy import SeccompFilter, SeccompUnavailable, build_filter

__all__ = ["SeccompFilter", "SeccompUnavailable", "build_filter", "program_fd"]
