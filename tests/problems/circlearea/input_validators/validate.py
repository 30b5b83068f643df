import sys

for line in sys.stdin.read().splitlines():
    if not 0 < float(line) <= 1e4:
        sys.exit(43)
sys.exit(42)
