import time

# A megabyte at a time, each followed by a millisecond's pause: the supervisor's samples (every
# 20 ms) see it past its memory limit and kill it long before it reaches its address-space
# limit (64 MB above), so that how it ends does not hang on a sample's phase. Without the
# pause it filled those 64 MB in a few ms on a fast machine and sometimes ended by itself with
# a MemoryError traceback (the same status, another stderr: parity's compare saw the race).
blocks = []
while True:
    blocks.append(bytearray(1024 * 1024))
    time.sleep(0.001)
