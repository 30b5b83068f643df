import sys

sys.stdout.buffer.write(b"ok \xff\xfe end\n")
