# Tries to attach to the service (its parent) with ptrace and to read its memory.
import ctypes
import errno
import os

PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE = 0, 16, 0x4206
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
ppid = os.getppid()


def report(name, result):
    print(f"{name}: {'allowed' if result == 0 else errno.errorcode[ctypes.get_errno()]}")


report("PTRACE_ATTACH parent", libc.ptrace(PTRACE_ATTACH, ppid, None, None))
report("PTRACE_SEIZE parent", libc.ptrace(PTRACE_SEIZE, ppid, None, None))
report("PTRACE_ATTACH pid 1", libc.ptrace(PTRACE_ATTACH, 1, None, None))
report("PTRACE_TRACEME", libc.ptrace(PTRACE_TRACEME, 0, None, None))


class IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("len", ctypes.c_size_t))


buf = ctypes.create_string_buffer(16)
local = IoVec(ctypes.cast(buf, ctypes.c_void_p), 16)
remote = IoVec(ctypes.c_void_p(0x400000), 16)
got = libc.process_vm_readv(ppid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
print(f"process_vm_readv parent: {'allowed' if got >= 0 else errno.errorcode[ctypes.get_errno()]}")
try:
    with open(f"/proc/{ppid}/mem", "rb") as f:
        print("parent mem: allowed")
except OSError as exc:
    print(f"parent mem: {errno.errorcode[exc.errno]}")
