# Fails as if it had run out of memory, at a few MB: the message alone is no evidence.
import sys

print("Traceback (most recent call last):", file=sys.stderr)
print('  File "main.py", line 1, in <module>', file=sys.stderr)
print("MemoryError", file=sys.stderr)
sys.exit(1)
