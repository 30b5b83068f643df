# An output validator that leaves judgemessage.txt as a FIFO nobody writes to.
import os
import sys

os.mkfifo(os.path.join(sys.argv[3], "judgemessage.txt"))
sys.exit(43)
