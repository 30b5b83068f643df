# An output validator that leaves a detached child behind and accepts.
import os
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
sys.exit(42)
