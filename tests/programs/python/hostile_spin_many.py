# Spins in as many processes as asked (argv[1]), ignoring SIGXCPU: only a limit on the whole
# tree stops it.
import os
import signal
import sys

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
for _ in range(int(sys.argv[1]) - 1):
    if os.fork() == 0:
        break
while True:
    pass
