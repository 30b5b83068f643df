# Leaves what a crashed service must clean: files in the shared places it can write, a child
# that left its session, and itself asleep. Prints "planted" once everything is in place.
import os
import sys
import time

token = sys.argv[1]
for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    try:
        with open(os.path.join(place, f"crash-{token}-{os.getpid()}"), "w") as f:
            f.write("left behind\n")
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    time.sleep(300)
    os._exit(0)
print("planted", flush=True)
time.sleep(300)
