# Each of 8 children holds 48 MB (under its own address-space limit); together they pass the
# run's memory limit. The parent waits on them forever.
import os
import signal

children = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        block = bytearray(48 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        while True:
            signal.pause()
    children.append(pid)
print("children started", flush=True)
for pid in children:
    os.waitpid(pid, 0)
