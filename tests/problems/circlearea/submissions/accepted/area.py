import math
import sys

for line in sys.stdin:
    r = float(line)
    print(math.pi * r * r)
