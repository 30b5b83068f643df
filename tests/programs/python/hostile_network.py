# Tries to reach the network, and the service's own port on 127.0.0.1 first of all.
import errno
import socket
import sys

port = int(sys.argv[1])


def attempt(name, action):
    try:
        action()
        print(f"{name}: allowed")
    except OSError as exc:
        print(f"{name}: {errno.errorcode.get(exc.errno, exc)}")


def connect(family, address):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(address)
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        print(s.recv(100))


attempt("tcp 127.0.0.1", lambda: connect(socket.AF_INET, ("127.0.0.1", port)))
attempt("tcp ::1", lambda: connect(socket.AF_INET6, ("::1", port)))
attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
attempt("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1).close())
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())
attempt("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close())
attempt("unix pair", lambda: [s.close() for s in socket.socketpair(socket.AF_UNIX)])
attempt("docker.sock", lambda: socket.socket(socket.AF_UNIX).connect("/var/run/docker.sock"))
