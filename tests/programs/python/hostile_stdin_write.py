# Tries to grow its standard input (an in-memory file of the service's) into a memory store:
# write to it, extend it, and reopen it for writing.
import errno
import os


def attempt(name, action):
    try:
        action()
        print(f"{name}: allowed")
    except OSError as exc:
        print(f"{name}: {errno.errorcode[exc.errno]}")


def reopen_and_write():
    fd = os.open("/proc/self/fd/0", os.O_RDWR)
    try:
        os.write(fd, b"x" * 4096)
    finally:
        os.close(fd)


print("read:", len(os.read(0, 100)))
attempt("write", lambda: os.pwrite(0, b"x" * 4096, 0))
attempt("truncate", lambda: os.ftruncate(0, 65536))
attempt("reopen", reopen_and_write)
