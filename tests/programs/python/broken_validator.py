# An output validator with a bug: it crashes instead of exiting 42 or 43.
import sys

print("validator bug: cannot parse the answer file", file=sys.stderr)
sys.exit(3)
