# Run A of a pair trying to share: leaves its secret where another run could look (files with
# the default permissions in every shared place, an abstract AF_UNIX socket that answers with
# it), then waits (for the test's "release" file) while run B looks.
import errno
import os
import socket
import sys
import threading
import time

secret, token = sys.argv[1], sys.argv[2]
with open("a-secret.txt", "w") as f:
    f.write(secret)
for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    path = os.path.join(place, f"share-{token}")
    try:
        with open(path, "w") as f:  # default permissions: whatever the umask leaves
            f.write(secret)
        print(f"wrote {path}: {oct(os.stat(path).st_mode & 0o777)}")
    except OSError as exc:
        print(f"wrote {path}: {errno.errorcode[exc.errno]}")


def serve(server: socket.socket) -> None:
    while True:
        connection, _ = server.accept()
        connection.sendall(secret.encode())
        connection.close()


try:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(f"\0share-{token}")
    server.listen()
    threading.Thread(target=serve, args=(server,), daemon=True).start()
    print("abstract socket: listening")
except OSError as exc:
    print(f"abstract socket: {errno.errorcode[exc.errno]}")
sys.stdout.flush()
deadline = time.monotonic() + 15
while not os.path.exists("release") and time.monotonic() < deadline:
    time.sleep(0.01)
print(os.getcwd())
print(sorted(os.listdir(".")))
with open("a-secret.txt") as f:
    print(f.read())
