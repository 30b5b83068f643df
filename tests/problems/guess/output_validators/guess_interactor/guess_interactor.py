"""Interactor: thinks of the number in the input file and answers at most 30 questions."""

import sys

ACCEPTED, WRONG_ANSWER = 42, 43
MAX_QUESTIONS = 30


def judge(message: str, code: int) -> None:
    with open(sys.argv[3] + "/judgemessage.txt", "w") as feedback:
        feedback.write(message + "\n")
    sys.exit(code)


def send(line: str) -> None:
    try:
        print(line, flush=True)
    except BrokenPipeError:
        # The submission is gone; its answer (none) is judged below, not this error.
        sys.stdout = None  # type: ignore[assignment]
        judge("the submission stopped reading", WRONG_ANSWER)


n, secret = (int(v) for v in open(sys.argv[1]).read().split())
send(str(n))
questions = 0
for line in sys.stdin:
    words = line.split()
    if len(words) != 2 or words[0] not in ("?", "!") or not words[1].lstrip("-").isdigit():
        judge(f"cannot read {line.strip()[:40]!r}", WRONG_ANSWER)
    kind, value = words[0], int(words[1])
    if kind == "!":
        if value != secret:
            judge(f"answered {value}, the number was {secret}", WRONG_ANSWER)
        judge(f"found {secret} in {questions} questions", ACCEPTED)
    questions += 1
    if questions > MAX_QUESTIONS:
        judge(f"more than {MAX_QUESTIONS} questions", WRONG_ANSWER)
    send("<" if secret < value else ">" if secret > value else "=")
judge(f"the submission ended after {questions} questions without an answer", WRONG_ANSWER)
