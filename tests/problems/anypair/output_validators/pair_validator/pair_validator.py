"""Output validator: accepts any two different positive integers that add up to n."""

import sys

ACCEPTED, WRONG_ANSWER = 42, 43


def judge(message: str, code: int) -> None:
    with open(sys.argv[3] + "/judgemessage.txt", "w") as feedback:
        feedback.write(message + "\n")
    sys.exit(code)


n = int(open(sys.argv[1]).read())
tokens = sys.stdin.read().split()
if len(tokens) != 2:
    judge(f"expected two numbers, got {len(tokens)} tokens", WRONG_ANSWER)
try:
    a, b = (int(t) for t in tokens)
except ValueError:
    judge("the answer must be two integers", WRONG_ANSWER)
if a <= 0 or b <= 0:
    judge(f"{a} and {b} must both be positive", WRONG_ANSWER)
if a == b:
    judge(f"the two numbers must differ, got {a} twice", WRONG_ANSWER)
if a + b != n:
    judge(f"{a} + {b} = {a + b}, not {n}", WRONG_ANSWER)
judge("ok", ACCEPTED)
