import sys

print(sum(int(c) for c in sys.stdin.read().split()[0])
