# Writes 1 MB of NUL bytes to stdout: each becomes six bytes ("\u0000") in the JSON answer.
import os

data = bytes(1 << 20)
while data:
    data = data[os.write(1, data) :]
