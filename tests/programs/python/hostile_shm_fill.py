# Fills memory through files in /dev/shm (tmpfs), each as large as the file-size limit allows,
# where no process's resident memory shows it. Prints how much it wrote before it was refused.
import errno
import os
import sys

total_mb = int(sys.argv[1])
chunk = b"\xa5" * (1024 * 1024)
written_mb = 0
index = 0
while written_mb < total_mb:
    path = f"/dev/shm/hostile-shm-{os.getpid()}-{index}"
    index += 1
    try:
        with open(path, "wb") as f:
            while written_mb < total_mb:
                f.write(chunk)
                f.flush()
                written_mb += 1
    except OSError as exc:
        if exc.errno != errno.EFBIG:
            print(f"stopped at {written_mb} MB: {errno.errorcode[exc.errno]}")
            break
print(f"wrote {written_mb} MB")
