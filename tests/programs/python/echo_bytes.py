# Writes its stdin back byte for byte (no newline translation): the output a checker sees.
import sys

sys.stdout.buffer.write(sys.stdin.buffer.read())
