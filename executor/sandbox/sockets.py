"""Memory held in AF_UNIX socket buffers, by owner uid, from the kernel's sock_diag interface.

A run may not create sockets, but its socket pairs still queue data the kernel holds for it:
about 200 KB a pair by default, and a whole process tree's worth of descriptors holds
gigabytes that no resident size shows. The kernel reports each socket's memory and owner
(UNIX_DIAG_MEMINFO, UNIX_DIAG_UID: Linux 5.3) to anyone in the socket's network namespace.
"""

import os
import socket
import struct

from executor.sandbox.child import CLONE_NEWNET
from executor.sandbox.libc import setns

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
UDIAG_SHOW_MEMINFO = 0x20
UDIAG_SHOW_UID = 0x40
UNIX_DIAG_MEMINFO = 5
UNIX_DIAG_UID = 7
_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
_REQUEST = struct.Struct("=BBHIIIII")  # struct unix_diag_req
_MESSAGE_SIZE = 16  # struct unix_diag_msg
_ATTRIBUTE = struct.Struct("=HH")  # struct rtattr
_MEMINFO = struct.Struct("=4I")  # SK_MEMINFO_RMEM_ALLOC, RCVBUF, WMEM_ALLOC, SNDBUF (first four)


def unix_socket_kb_by_uid() -> dict[int, int]:
    """KB queued in the AF_UNIX sockets of the calling thread's network namespace, by the uid
    that owns each socket (received and sent, not yet read). Raises OSError."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as diag:
        request = _REQUEST.pack(
            socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, UDIAG_SHOW_MEMINFO | UDIAG_SHOW_UID, 0, 0
        )
        flags = NLM_F_REQUEST | NLM_F_DUMP
        diag.sendto(_HEADER.pack(_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, flags, 1, 0)
                    + request, (0, 0))  # fmt: skip
        held: dict[int, int] = {}
        while True:
            data = diag.recv(1 << 20)
            if not data:
                raise OSError("sock_diag: the dump ended without NLMSG_DONE")
            if _parse(data, held):
                return {uid: size // 1024 for uid, size in held.items()}


def unix_socket_kb_in(netns_fd: int) -> dict[int, int]:
    """unix_socket_kb_by_uid for the network namespace ``netns_fd`` (an open
    /proc/<pid>/ns/net), entered by the calling thread only and left again. Raises OSError."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(netns_fd, CLONE_NEWNET)
        try:
            return unix_socket_kb_by_uid()
        finally:
            try:
                setns(own, CLONE_NEWNET)
            except OSError as exc:
                # A thread stuck in a run's namespace would measure the wrong sockets for good.
                raise SystemExit(f"setns back to the service's network namespace: {exc}") from exc
    finally:
        os.close(own)


def _parse(data: bytes, held: dict[int, int]) -> bool:
    """Add each socket of one netlink batch to ``held``; True once the dump is done."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
        if kind == NLMSG_DONE:
            return True
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
            raise OSError(-code, f"sock_diag: {os.strerror(-code)}")
        end = offset + length
        attribute = offset + _HEADER.size + _MESSAGE_SIZE
        uid, size = None, 0
        while attribute + _ATTRIBUTE.size <= end:
            attribute_length, attribute_type = _ATTRIBUTE.unpack_from(data, attribute)
            if attribute_length < _ATTRIBUTE.size:
                break
            value = attribute + _ATTRIBUTE.size
            if attribute_type == UNIX_DIAG_UID:
                (uid,) = struct.unpack_from("=I", data, value)
            elif attribute_type == UNIX_DIAG_MEMINFO:
                received, _, sent, _ = _MEMINFO.unpack_from(data, value)
                size = received + sent
            attribute += (attribute_length + 3) & ~3
        if uid is not None:
            held[uid] = held.get(uid, 0) + size
        offset += (length + 3) & ~3
    return False
