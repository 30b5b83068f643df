# Run B of a pair trying to share: looks for what run A left (its files in the shared places,
# its abstract AF_UNIX socket) and prints what it got, or the errno that stopped it.
import errno
import os
import socket
import sys

token = sys.argv[1]
for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    path = os.path.join(place, f"share-{token}")
    try:
        with open(path) as f:
            print(f"read {path}: got {f.read()}")
    except OSError as exc:
        print(f"read {path}: {errno.errorcode[exc.errno]}")
try:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(5)
    client.connect(f"\0share-{token}")
    print(f"abstract socket: got {client.recv(100).decode()}")
except OSError as exc:
    print(f"abstract socket: {errno.errorcode.get(exc.errno, exc)}")
