# Run B: given run A's workspace path, tries to list, read and write it, and to reach A through
# /proc.
import errno
import os
import sys

a_box = sys.argv[1]
a_root = os.path.dirname(a_box)
runs = os.path.dirname(a_root)


def attempt(name, action):
    try:
        result = action()
        print(f"{name}: allowed {result!r}")
    except OSError as exc:
        print(f"{name}: {errno.errorcode[exc.errno]}")


def write(path, mode):
    with open(path, mode) as f:
        f.write("B was here")


attempt("list runs", lambda: os.listdir(runs))
attempt("list A root", lambda: os.listdir(a_root))
attempt("list A box", lambda: os.listdir(a_box))
attempt("read A secret", lambda: open(os.path.join(a_box, "a-secret.txt")).read())
attempt("append A secret", lambda: write(os.path.join(a_box, "a-secret.txt"), "a"))
attempt("create in A box", lambda: write(os.path.join(a_box, "from-b.txt"), "w"))
attempt("create in A tmp", lambda: write(os.path.join(a_root, "tmp", "from-b.txt"), "w"))
attempt("rename A box", lambda: os.rename(a_box, a_box + "-moved"))
me = os.getuid()
for name in os.listdir("/proc"):
    if not name.isdigit():
        continue
    try:
        owner = os.stat(f"/proc/{name}").st_uid
    except OSError:
        continue
    if owner == me or owner == 0:
        continue
    attempt(f"pid {name} cwd", lambda: os.readlink(f"/proc/{name}/cwd"))
    attempt(f"pid {name} fd", lambda: os.listdir(f"/proc/{name}/fd"))
    attempt(f"pid {name} root", lambda: os.listdir(f"/proc/{name}/root"))
