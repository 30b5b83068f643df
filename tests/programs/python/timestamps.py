# Prints when it started and when it ended, a second of sleep apart (wall time, not CPU).
import time

started = time.time()
time.sleep(1)
print(started, time.time())
