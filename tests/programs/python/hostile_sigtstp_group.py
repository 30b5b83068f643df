# Sends SIGTSTP to its whole process group (a child included), then waits forever.
import os
import signal

child = os.fork()
if child == 0:
    signal.pause()
    os._exit(0)
print("stopping the group", flush=True)
os.killpg(0, signal.SIGTSTP)
print("not stopped (orphaned group)", flush=True)
signal.pause()
