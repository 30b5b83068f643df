# Fine on short numbers, never ends on a long one.
import sys

for line in sys.stdin:
    digits = line.strip()
    while len(digits) > 100:
        pass
    print(sum(int(c) for c in digits))
