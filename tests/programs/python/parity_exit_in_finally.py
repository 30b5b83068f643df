# sys.exit inside finally replaces the exception being raised; a message goes to stderr.
import sys

try:
    print("working", end="")
    raise RuntimeError("lost")
finally:
    sys.exit("exiting from finally")
