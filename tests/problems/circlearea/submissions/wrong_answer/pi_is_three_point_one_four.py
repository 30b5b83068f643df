import sys

for line in sys.stdin:
    r = float(line)
    print(3.14 * r * r)
