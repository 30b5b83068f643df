# sys.exit with a message: it goes to stderr and the exit code is 1.
import sys

print("before")
sys.exit("leaving with a message")
