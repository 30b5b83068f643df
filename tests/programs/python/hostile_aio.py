# Takes legacy AIO events: io_setup draws them from aio-max-nr, one budget for the whole host.
import ctypes
import errno
import platform

IO_SETUP = {"x86_64": 206, "aarch64": 0}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
taken = 0
for _ in range(64):
    context = ctypes.c_ulong(0)
    if libc.syscall(ctypes.c_long(IO_SETUP), ctypes.c_long(1024), ctypes.byref(context)) != 0:
        print(f"io_setup refused: {errno.errorcode[ctypes.get_errno()]}")
        break
    taken += 1024
print(f"took {taken} AIO events")
