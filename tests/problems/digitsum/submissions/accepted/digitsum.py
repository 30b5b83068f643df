import sys

for line in sys.stdin:
    print(sum(int(c) for c in line.strip()))
