# Tries to change the service's code, its virtualenv and its interpreter.
import errno
import os
import sys

repo, mark = sys.argv[1], sys.argv[2]
targets = sys.argv[3:]


def attempt(name, action):
    try:
        action()
        print(f"{name}: allowed")
    except OSError as exc:
        print(f"{name}: {errno.errorcode[exc.errno]}")


def append(path):
    with open(path, "a") as f:
        f.write(f"\n# {mark}\n")


for path in targets:
    attempt(f"append {path}", lambda: append(path))
    attempt(f"chmod {path}", lambda: os.chmod(path, 0o777))
    attempt(f"rename {path}", lambda: os.rename(path, path + ".moved"))
attempt("create in executor/", lambda: append(os.path.join(repo, "executor", f"{mark}.py")))
attempt("create in repo", lambda: append(os.path.join(repo, f"{mark}.pth")))
attempt("create sitecustomize", lambda: append(os.path.join(os.path.dirname(os.__file__), "sitecustomize.py")))
attempt("write interpreter", lambda: append(sys.executable))
