# Run B: hides 40 MB at the bottom of run A's chain of world-writable directories in /dev/shm
# (tmpfs: memory), seven levels down, beyond a shallow search, and holds it.
import errno
import os
import sys
import time

token = sys.argv[1]
path = os.path.join(f"/dev/shm/nest-{token}", *(f"w{level}" for level in range(6)))
try:
    with open(os.path.join(path, "hidden"), "wb") as f:
        for _ in range(40):
            f.write(b"\xa5" * (1 << 20))
    print("hid 40 MB")
except OSError as exc:
    print(f"hide: {errno.errorcode[exc.errno]}")
sys.stdout.flush()
time.sleep(1)
