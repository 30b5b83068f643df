# Deep recursion ends in RecursionError near the default limit.
import sys


def down(n):
    return down(n + 1)


try:
    down(0)
except RecursionError:
    print("RecursionError at limit", sys.getrecursionlimit())
