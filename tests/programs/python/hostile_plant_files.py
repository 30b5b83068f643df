# Leaves files everywhere it can write, for a later run (maybe under the same uid) to find.
import ctypes
import errno
import os
import sys

token, shared_dir = sys.argv[1], sys.argv[2]
places = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", shared_dir, os.environ["HOME"]]
for place in places:
    for name in (token, f".{token}"):
        try:
            with open(os.path.join(place, name), "w") as f:
                f.write(token)
            print(f"planted {place}/{name}")
        except OSError as exc:
            print(f"{place}/{name}: {errno.errorcode[exc.errno]}")
try:
    os.makedirs(f"/tmp/{token}-dir/deeper")
    with open(f"/tmp/{token}-dir/deeper/{token}", "w") as f:
        f.write(token)
    os.chmod(f"/tmp/{token}-dir", 0o1777)
    print("planted a world-writable directory")
except OSError as exc:
    print(f"directory: {errno.errorcode[exc.errno]}")
# A System V shared memory segment and a message queue, keyed so the next run can look them up.
libc = ctypes.CDLL(None, use_errno=True)
key = int(token[-6:], 16)
print("shm", libc.shmget(key, 4096, 0o1000 | 0o666) >= 0)
print("msg", libc.msgget(key, 0o1000 | 0o666) >= 0)
print("sem", libc.semget(key, 1, 0o1000 | 0o666) >= 0)
