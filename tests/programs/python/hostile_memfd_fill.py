# Fills memory through anonymous memory files (memfd_create) that are written, not mapped, so no
# process's resident memory shows them. Prints how much it wrote.
import errno
import os
import sys

total_mb = int(sys.argv[1])
chunk = b"\x5a" * (1024 * 1024)
written_mb = 0
held = []
while written_mb < total_mb:
    try:
        fd = os.memfd_create("hostile")
    except OSError as exc:
        print(f"memfd_create refused: {errno.errorcode[exc.errno]}")
        break
    held.append(fd)
    try:
        while written_mb < total_mb:
            os.write(fd, chunk)
            written_mb += 1
    except OSError as exc:
        if exc.errno != errno.EFBIG:
            print(f"stopped at {written_mb} MB: {errno.errorcode[exc.errno]}")
            break
print(f"wrote {written_mb} MB")
