# Plants links where the root service works: to a root-only file outside the workspace, in place
# of the entry file, of HOME and TMPDIR, of the workspace itself, and a FIFO; then tries the
# secret directly.
import errno
import os
import sys

secret = sys.argv[1]
box = os.getcwd()
root = os.path.dirname(box)


def attempt(name, action):
    try:
        result = action()
        print(f"{name}: allowed {result!r}")
    except OSError as exc:
        print(f"{name}: {errno.errorcode[exc.errno]}")


attempt("read secret", lambda: open(secret).read())
attempt("hard link", lambda: os.link(secret, "hard"))
os.symlink(secret, "link-to-secret")
attempt("read via link", lambda: open("link-to-secret").read())
os.symlink(secret, "main.py.tmp")
os.replace("main.py.tmp", "main.py")
os.mkfifo("fifo")
os.mkfifo("stdin")
for name in ("stdout", "stderr", "output.txt", "Main.class"):
    os.symlink(secret, name)
os.symlink(secret, os.path.join(os.environ["HOME"], ".bashrc"))
os.symlink(secret, os.path.join(os.environ["TMPDIR"], "tmpfile"))
# Where a shared /tmp is read-only (Landlock), these are refused: that is fine too.
attempt("link in /tmp", lambda: os.symlink(secret, f"/tmp/hostile-link-{os.getuid()}"))
attempt(
    "dirlink in /tmp",
    lambda: os.symlink(os.path.dirname(secret), f"/tmp/hostile-dirlink-{os.getuid()}"),
)
# Swap the run's own directories for links to the secret's directory, to /etc and to the
# secret. HOME may be TMPDIR (the service gives both the run's temporary directory): then the
# link to the secret goes beside them, in the run's own directory, as "home".
os.rename(box, box + ".orig")
os.symlink(os.path.dirname(secret), box)
os.rename(os.environ["TMPDIR"], os.environ["TMPDIR"] + ".orig")
os.symlink("/etc", os.environ["TMPDIR"])
home = os.environ["HOME"]
if home == os.environ["TMPDIR"]:
    home = os.path.join(root, "home")
if os.path.lexists(home):
    os.rename(home, home + ".orig")
os.symlink(secret, home)
print("planted")
