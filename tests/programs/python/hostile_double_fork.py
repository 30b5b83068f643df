# The classic daemon: fork, setsid, fork again, then keep trying to leave marker files (every
# path given) and to print, for longer than the run's wall limit.
import os
import sys
import time

markers = sys.argv[1:]
if os.fork() > 0:
    print("parent done", flush=True)
    os._exit(0)
os.setsid()
if os.fork() > 0:
    os._exit(0)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    for marker in markers:
        try:
            with open(marker, "a") as f:
                f.write("daemon alive\n")
        except OSError:
            pass
    try:
        print("daemon alive", flush=True)
    except OSError:
        pass
    time.sleep(0.05)
