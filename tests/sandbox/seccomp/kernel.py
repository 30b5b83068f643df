"""Kernel constants the seccomp tests check against, written out from the kernel's own tables
(not imported from executor/), so that a typo there cannot hide itself."""

import platform

RET_ALLOW = 0x7FFF0000
RET_EPERM = 0x00050000 | 1
RET_ENOSYS = 0x00050000 | 38
RET_KILL_PROCESS = 0x80000000
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
AUDIT_ARCH_I386 = 0x40000003
SYSCALL_NUMBERS = {
    "x86_64": {"socket": 41, "socketpair": 53, "clone": 56, "getpid": 39, "ptrace": 101,
               "io_uring_setup": 425, "clone3": 435},
    "aarch64": {"socket": 198, "socketpair": 199, "clone": 220, "getpid": 172, "ptrace": 117,
                "io_uring_setup": 425, "clone3": 435},
}  # fmt: skip
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
SIGCHLD = 17
HOST_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine(), platform.machine())
