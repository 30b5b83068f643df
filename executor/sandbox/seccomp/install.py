"""Hands a seccomp program to the spawn helper, which installs it in each child before exec."""

import fcntl
import os

from executor.sandbox.seccomp.policy import SeccompFilter


def program_fd(seccomp: SeccompFilter) -> int:
    """A sealed, close-on-exec memfd holding the program, for the helper's ``-s FD``.

    One descriptor serves every spawn for the service's lifetime (the helper reads it with
    pread from offset 0); the seals keep anything that inherits it from changing the program.
    """
    fd = os.memfd_create("seccomp-filter", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, seccomp.program)
    seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd
