# Fills the disk: argv "big N" writes N files of 1 MB (each under the file-size limit), "empty N"
# makes N empty files, in the workspace or in the place given as the third argument.
import errno
import os
import sys

kind, count = sys.argv[1], int(sys.argv[2])
place = sys.argv[3] if len(sys.argv) > 3 else "."
chunk = b"\x5a" * (1 << 20) if kind == "big" else b""
made = 0
try:
    for i in range(count):
        with open(os.path.join(place, f"fill-{os.getpid()}-{i}"), "wb") as f:
            f.write(chunk)
        made += 1
except OSError as exc:
    print(f"stopped: {errno.errorcode[exc.errno]}")
print(f"made {made} files")
