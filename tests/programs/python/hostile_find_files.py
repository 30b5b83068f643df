# Looks for what hostile_plant_files left behind.
import ctypes
import os
import sys

token, shared_dir = sys.argv[1], sys.argv[2]
found = []
for place in ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", shared_dir]:
    for name in (token, f".{token}", f"{token}-dir"):
        if os.path.lexists(os.path.join(place, name)):
            found.append(os.path.join(place, name))
libc = ctypes.CDLL(None, use_errno=True)
key = int(token[-6:], 16)
for kind, get in (("shm", lambda: libc.shmget(key, 0, 0)), ("msg", lambda: libc.msgget(key, 0)),
                  ("sem", lambda: libc.semget(key, 0, 0))):
    if get() >= 0:
        found.append(kind)
print("found:", found)
