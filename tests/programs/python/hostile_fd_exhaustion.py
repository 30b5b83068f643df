# Opens descriptors until the kernel refuses, then reports how many it got.
import errno
import os

held = []
while True:
    try:
        held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as exc:
        print(f"refused after {len(held)} descriptors: {errno.errorcode[exc.errno]}")
        break
    if len(held) > 1_000_000:
        print("never refused")
        break
