# Asks 1, 2, 3, ... : right, but far more than 30 questions for a large number. When the judge
# hangs up, it leaves quietly, so that the verdict is the judge's wrong answer, not a crash.
import os

n = int(input())
try:
    for guess in range(1, n + 1):
        print("?", guess, flush=True)
        if input() == "=":
            print("!", guess, flush=True)
            break
except (EOFError, BrokenPipeError):
    os._exit(0)
