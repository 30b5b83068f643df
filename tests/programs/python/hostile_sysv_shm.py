# Creates System V shared memory segments, fills them, detaches and exits: a segment belongs to
# no process, so unless something counts and removes it, its memory outlives the run.
import ctypes
import errno
import sys

IPC_PRIVATE, IPC_CREAT, IPC_STAT = 0, 0o1000, 2
size_mb, count = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmget.argtypes = (ctypes.c_int, ctypes.c_size_t, ctypes.c_int)
libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
libc.shmdt.argtypes = (ctypes.c_void_p,)
made = []
for _ in range(count):
    shmid = libc.shmget(IPC_PRIVATE, size_mb * 1024 * 1024, IPC_CREAT | 0o600)
    if shmid < 0:
        print(f"shmget refused: {errno.errorcode[ctypes.get_errno()]}")
        break
    address = libc.shmat(shmid, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        print(f"shmat refused: {errno.errorcode[ctypes.get_errno()]}")
        break
    ctypes.memset(address, 0xA5, size_mb * 1024 * 1024)
    libc.shmdt(ctypes.c_void_p(address))
    made.append(shmid)
buffer = ctypes.create_string_buffer(256)
alive = sum(libc.shmctl(shmid, IPC_STAT, buffer) == 0 for shmid in made)
print(f"made {len(made)} segments of {size_mb} MB, {alive} still alive")
