# Run A: makes a chain of six world-writable directories in /dev/shm for another run to hide
# files at the bottom of (deeper than a shallow search of others' directories goes), keeps its
# secret in its workspace (so the test can find it) and waits for the test's "release".
import errno
import os
import sys
import time

secret, token = sys.argv[1], sys.argv[2]
with open("a-secret.txt", "w") as f:
    f.write(secret)
try:
    path = f"/dev/shm/nest-{token}"
    for level in range(7):
        os.mkdir(path)
        os.chmod(path, 0o777)
        path = os.path.join(path, f"w{level}")
    print("mkdir: made")
except OSError as exc:
    print(f"mkdir: {errno.errorcode[exc.errno]}")
sys.stdout.flush()
deadline = time.monotonic() + 15
while not os.path.exists("release") and time.monotonic() < deadline:
    time.sleep(0.01)
print(os.getcwd())
print(sorted(os.listdir(".")))
with open("a-secret.txt") as f:
    print(f.read())
