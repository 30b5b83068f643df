"""What an interactor still writes to a submission that has ended: taken and discarded.

The interactor writes into a pipe whose read end the submission holds. Once the submission
has exited, a write gets EPIPE (Python, which ignores SIGPIPE, raises BrokenPipeError and exits
1 or 120; a C program dies of SIGPIPE), so the interactor's judgement depended on whether its
last reply went out before or after the submission's exit: a race, seen as `accepted` or a judge
error for the same submission. The service keeps a read end of its own and, once the
submission has ended, reads and discards what arrives, so the interactor ends as it decides.
"""

import asyncio
import os

# How much the interactor may still write once the submission has ended; past it the pipe is
# closed and its next write fails as it would have (one that keeps writing would otherwise cost
# the service a read per 64 KB for as long as its limits allow).
DRAIN_LIMIT_BYTES = 1 << 20
_CHUNK = 1 << 16


class PipeDrain:
    """Holds ``fd`` (a duplicate of a pipe's read end, taken before the other side starts) and,
    from ``start``, reads and discards what arrives until end-of-file or DRAIN_LIMIT_BYTES.
    ``close`` ends it and closes ``fd``; call it in every case (it may be called twice)."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        self.taken = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if self.fd is None:
            return
        os.set_blocking(self.fd, False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._read)

    def close(self) -> None:
        if self.fd is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = None

    def _read(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self.taken += len(data)
        if not data or self.taken > DRAIN_LIMIT_BYTES:
            self.close()
