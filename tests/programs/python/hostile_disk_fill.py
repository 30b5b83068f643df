# Writes past the file-size limit in every writable place, then leaves many files at the limit.
import errno
import os
import signal
import tempfile

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # Python ignores it already; make it explicit
places = {
    "workspace": os.getcwd(),
    "HOME": os.environ["HOME"],
    "TMPDIR": tempfile.gettempdir(),
    "/tmp": "/tmp",
    "/var/tmp": "/var/tmp",
    "/dev/shm": "/dev/shm",
    "/run/lock": "/run/lock",
}
chunk = b"\0" * 65536
for name, place in places.items():
    path = os.path.join(place, f"hostile-fill-{os.getpid()}")
    written = 0
    try:
        with open(path, "wb", buffering=0) as f:
            while written < 1 << 30:
                written += f.write(chunk)
        print(f"{name}: no limit")
    except OSError as exc:
        print(f"{name}: {errno.errorcode[exc.errno]} at {written // 1024} KB")
    for i in range(8):
        try:
            with open(f"{path}-{i}", "wb", buffering=0) as f:
                while True:
                    f.write(chunk)
        except OSError:
            pass
