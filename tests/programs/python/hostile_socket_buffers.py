# Pins memory in AF_UNIX socket pair buffers (as large as SO_SNDBUF lets them grow), spread over
# several processes, where no process's resident size shows it; holds it, then exits.
import os
import socket
import sys
import time

target_mb, processes = int(sys.argv[1]), int(sys.argv[2])


def fill(share_bytes: int) -> tuple[int, list]:
    held, pairs = 0, []
    while held < share_bytes:
        try:
            left, right = socket.socketpair()
        except OSError:
            break
        for end in (left, right):
            try:
                end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            except OSError:
                pass
        left.setblocking(False)
        try:
            while held < share_bytes:
                held += left.send(b"\xa5" * 65536)
        except BlockingIOError:
            pass
        pairs.append((left, right))
    return held, pairs


share = (target_mb << 20) // processes
children = []
for _ in range(processes - 1):
    pid = os.fork()
    if pid == 0:
        fill(share)
        time.sleep(3)
        os._exit(0)
    children.append(pid)
held, pairs = fill(share)
print(f"pinned {held >> 20} MB in {len(pairs)} pairs here, {processes} processes in all")
sys.stdout.flush()
time.sleep(3)
for pid in children:
    os.waitpid(pid, 0)
