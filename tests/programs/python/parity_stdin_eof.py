# Reads stdin to its end, then once more past it (EOFError from input()).
import sys

data = sys.stdin.read()
print(repr(data), sys.stdin.read() == "")
input()
