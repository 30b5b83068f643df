# Stops itself: it can never reach its exit, and it uses no CPU while stopped.
import os
import signal

print("stopping", flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
print("resumed", flush=True)
