# Exit codes: an int from sys.exit, after output that was never flushed by hand.
import sys

sys.stdout.write("unflushed output, no newline")
sys.exit(42)
