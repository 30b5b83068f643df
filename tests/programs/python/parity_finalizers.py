# At exit: a non-daemon thread finishes after the main module, an object's __del__ prints as the
# main module's globals are released, and output never flushed by hand is flushed.
import sys
import threading
import time


class Goodbye:
    def __del__(self):
        print("__del__ at exit")


def late():
    time.sleep(0.05)
    print("the thread, after the main module")


keep = Goodbye()
threading.Thread(target=late).start()
sys.stdout.write("main module done, no newline")
