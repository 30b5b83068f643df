# Forks many copies of itself that each keep a little memory of their own and share the rest
# with their parent (the interpreter's pages), then spin or sleep; the shape of DMOJ's and
# codejail's fork tests. argv: processes, private MB each, "spin" or "sleep".
import os
import sys
import time

processes, private_mb, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
children = []
for _ in range(processes - 1):
    pid = os.fork()
    if pid == 0:
        mine = bytearray(private_mb << 20)
        mine[::4096] = b"\x01" * len(mine[::4096])
        end = time.monotonic() + 3
        while time.monotonic() < end:
            if mode == "sleep":
                time.sleep(0.05)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print(f"{processes} processes done")
