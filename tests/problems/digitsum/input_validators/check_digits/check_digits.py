# Input validator (not run by the judge: the issue says input validators are ignored).
import re
import sys

for line in sys.stdin.read().split("\n")[:-1]:
    if not re.fullmatch(r"0|[1-9][0-9]{0,1999}", line):
        sys.exit(43)
sys.exit(42)
